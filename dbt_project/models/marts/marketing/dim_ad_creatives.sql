{#
    One row per Meta ad: its names, ad set and campaign, the creative behind it (headline,
    primary text, call to action) and when it delivered. An ad the Insights show but the ads
    listing does not still has a row, with its creative unknown.
#}
with ads as (
    select * from {{ ref('stg_meta_ads__ads') }}
),

insights as (
    select * from {{ ref('stg_meta_ads__insights') }}
),

delivery as (
    select
        ad_id,
        arg_max(ad_name, date_day) as ad_name,
        arg_max(adset_id, date_day) as adset_id,
        arg_max(adset_name, date_day) as adset_name,
        arg_max(campaign_id, date_day) as campaign_id,
        arg_max(campaign_name, date_day) as campaign_name,
        arg_max(objective, date_day) as objective,
        min(date_day) filter (where impressions > 0) as first_delivery_date,
        max(date_day) filter (where impressions > 0) as last_delivery_date
    from insights
    group by ad_id
),

final as (
    select
        coalesce(ads.ad_id, delivery.ad_id) as ad_id,
        coalesce(delivery.ad_name, ads.ad_name) as ad_name,
        coalesce(delivery.adset_id, ads.adset_id) as adset_id,
        delivery.adset_name,
        coalesce(delivery.campaign_id, ads.campaign_id) as campaign_id,
        delivery.campaign_name,
        delivery.objective,
        ads.creative_id,
        ads.creative_name,
        ads.headline,
        ads.primary_text,
        ads.call_to_action_type,
        ads.object_type,
        ads.link_url,
        ads.status,
        ads.effective_status,
        ads.created_at,
        delivery.first_delivery_date,
        delivery.last_delivery_date
    from ads
    full outer join delivery on ads.ad_id = delivery.ad_id
)

select * from final
