{#
    Per ad over the last `ad_rank_window_days` up to the run's date: spend, clicks, and the
    conversions it is judged by (leads for a lead campaign, purchases otherwise) as Meta
    reports them and as the shop and CRM recorded them (marts.fct_ad_conversions).
#}
with conversions as (
    select * from {{ ref('fct_ad_conversions') }}
),

ads as (
    select * from {{ ref('dim_ad_creatives') }}
),

recent as (
    select *
    from conversions
    where date_day <= date '{{ as_of_date() }}'
        and date_day > date '{{ as_of_date() }}' - {{ var('ad_rank_window_days') }}
),

by_ad as (
    select
        recent.ad_id,
        case when upper(coalesce(ads.objective, '')) like '%LEAD%' then 'lead'
             else 'purchase' end as conversion_kind,
        cast(sum(recent.spend) as decimal(18, 2)) as spend,
        cast(sum(recent.impressions) as bigint) as impressions,
        cast(sum(recent.link_clicks) as bigint) as link_clicks,
        cast(sum(recent.platform_purchases) as double) as platform_purchases,
        cast(sum(recent.platform_leads) as double) as platform_leads,
        cast(sum(recent.reconciled_purchases) as double) as reconciled_purchases,
        cast(sum(recent.reconciled_leads) as double) as reconciled_leads
    from recent
    left join ads on recent.ad_id = ads.ad_id
    group by all
),

final as (
    select
        ad_id,
        conversion_kind,
        spend,
        impressions,
        link_clicks,
        case when conversion_kind = 'lead' then platform_leads else platform_purchases end
            as platform_conversions,
        case when conversion_kind = 'lead' then reconciled_leads else reconciled_purchases end
            as reconciled_conversions
    from by_ad
)

select * from final
