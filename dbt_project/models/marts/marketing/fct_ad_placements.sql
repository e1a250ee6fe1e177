{#
    Daily delivery and Meta's own results per ad and placement (publisher_platform x
    platform_position), with the ad's ad set and campaign.
#}
with placements as (
    select * from {{ ref('stg_meta_ads__placement_insights') }}
),

final as (
    select
        date_day,
        account_id,
        currency,
        campaign_id,
        adset_id,
        ad_id,
        publisher_platform,
        platform_position,
        publisher_platform || ' ' || platform_position as placement,
        spend,
        impressions,
        reach,
        clicks,
        link_clicks,
        purchases as platform_purchases,
        purchase_value as platform_purchase_value,
        leads as platform_leads
    from placements
)

select * from final
