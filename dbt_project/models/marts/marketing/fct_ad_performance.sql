{#
    Daily spend and results per Meta ad (with its ad set and campaign), beside what the site
    saw: GA4 sessions that landed from the ad (utm_content carries the ad id) with their
    purchases and revenue, and Conversions API purchases whose click id (fbc) matches such a
    session's fbclid.
#}
with insights as (
    select * from {{ ref('stg_meta_ads__insights') }}
),

sessions as (
    select * from {{ ref('int_ga4__sessions') }}
    where channel = 'paid_social' and utm_content is not null
),

capi_purchases as (
    select
        split_part(fbc, '.', 4) as fbclid,
        event_date,
        event_value
    from {{ ref('stg_meta_capi__events') }}
    where event_name = 'Purchase' and fbc is not null
),

ga4_by_ad as (
    select
        utm_content as ad_id,
        session_date as date_day,
        count(*) as sessions,
        sum(purchases) as purchases,
        sum(purchase_revenue) as revenue
    from sessions
    group by all
),

capi_by_ad as (
    select
        sessions.utm_content as ad_id,
        capi_purchases.event_date as date_day,
        count(*) as purchases,
        sum(capi_purchases.event_value) as purchase_value
    from capi_purchases
    inner join sessions using (fbclid)
    group by all
),

final as (
    select
        insights.date_day,
        insights.account_id,
        insights.campaign_id,
        insights.campaign_name,
        insights.adset_id,
        insights.adset_name,
        insights.ad_id,
        insights.ad_name,
        insights.objective,
        insights.currency,
        insights.attribution_setting,
        insights.impressions,
        insights.reach,
        insights.clicks,
        insights.link_clicks,
        insights.spend,
        insights.purchases as meta_purchases,
        insights.purchase_value as meta_purchase_value,
        insights.leads as meta_leads,
        cast(coalesce(ga4_by_ad.sessions, 0) as integer) as ga4_sessions,
        cast(coalesce(ga4_by_ad.purchases, 0) as integer) as ga4_purchases,
        cast(coalesce(ga4_by_ad.revenue, 0) as decimal(18, 2)) as ga4_revenue,
        cast(coalesce(capi_by_ad.purchases, 0) as integer) as capi_purchases,
        cast(coalesce(capi_by_ad.purchase_value, 0) as decimal(18, 2)) as capi_purchase_value
    from insights
    left join ga4_by_ad using (ad_id, date_day)
    left join capi_by_ad using (ad_id, date_day)
)

select * from final
