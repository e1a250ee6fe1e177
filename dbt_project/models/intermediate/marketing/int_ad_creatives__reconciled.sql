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
    -- Fractional conversions sum as decimals: a sum of doubles depends on the order rows
    -- arrive in, and two runs of a day must publish the same figures.
    select
        recent.ad_id,
        case when upper(coalesce(ads.objective, '')) like '%LEAD%' then 'lead'
             else 'purchase' end as conversion_kind,
        cast(sum(recent.spend) as decimal(18, 2)) as spend,
        cast(sum(recent.impressions) as bigint) as impressions,
        cast(sum(recent.link_clicks) as bigint) as link_clicks,
        cast(sum(cast(recent.platform_purchases as decimal(18, 6))) as double) as platform_purchases,
        cast(sum(cast(recent.platform_leads as decimal(18, 6))) as double) as platform_leads,
        cast(sum(cast(recent.reconciled_purchases as decimal(18, 6))) as double) as reconciled_purchases,
        cast(sum(cast(recent.reconciled_leads as decimal(18, 6))) as double) as reconciled_leads
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
