{#
    Placements ranked by reconciled cost per conversion over the last `ad_rank_window_days`,
    per conversion kind (purchase, lead). The shop and CRM know which ad brought an order,
    not where it was shown; Meta knows the placement. So each placement gets its ad's
    reconciled conversions in proportion to the conversions Meta credits to it (by link
    clicks when Meta credits none): Meta's over- or under-counting for an ad is taken to be
    the same in all its placements. The cost per conversion is shrunk towards the account's
    pooled one (gamma_cpa: a Gamma prior worth `ad_rank_prior_conversions` conversions), so
    a small placement with a lucky conversion or two does not top the list.
#}
with placements as (
    select * from {{ ref('fct_ad_placements') }}
),

ads as (
    select * from {{ ref('int_ad_creatives__reconciled') }}
),

recent as (
    select
        ad_id,
        publisher_platform,
        platform_position,
        placement,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(link_clicks) as link_clicks,
        sum(platform_purchases) as platform_purchases,
        sum(platform_leads) as platform_leads
    from placements
    where date_day <= date '{{ as_of_date() }}'
        and date_day > date '{{ as_of_date() }}' - {{ var('ad_rank_window_days') }}
    group by all
),

ad_totals as (
    select
        ad_id,
        sum(platform_purchases) as ad_platform_purchases,
        sum(platform_leads) as ad_platform_leads,
        sum(link_clicks) as ad_link_clicks
    from recent
    group by ad_id
),

credited as (
    select
        recent.*,
        ads.conversion_kind,
        case when ads.conversion_kind = 'lead' then recent.platform_leads
             else recent.platform_purchases end as platform_conversions,
        ads.reconciled_conversions * case
            when ads.conversion_kind = 'lead' and ad_totals.ad_platform_leads > 0
                then recent.platform_leads / ad_totals.ad_platform_leads
            when ads.conversion_kind = 'purchase' and ad_totals.ad_platform_purchases > 0
                then recent.platform_purchases / ad_totals.ad_platform_purchases
            else cast(recent.link_clicks as double) / nullif(ad_totals.ad_link_clicks, 0)
        end as reconciled_conversions
    from recent
    inner join ads on recent.ad_id = ads.ad_id
    inner join ad_totals on recent.ad_id = ad_totals.ad_id
),

by_placement as (
    select
        conversion_kind,
        publisher_platform,
        platform_position,
        placement,
        count(distinct ad_id) as ads,
        cast(sum(spend) as decimal(18, 2)) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(platform_conversions) as double) as platform_conversions,
        -- Summed as decimals: a sum of doubles depends on the order DuckDB's threads add
        -- them in, and a rerun must publish the same bits.
        cast(coalesce(sum(cast(reconciled_conversions as decimal(18, 6))), 0) as double)
            as reconciled_conversions
    from credited
    group by all
),

pooled as (
    select
        *,
        cast(sum(cast(reconciled_conversions as decimal(18, 6)))
            over (partition by conversion_kind) as double)
            / nullif(cast(sum(spend) over (partition by conversion_kind) as double), 0)
            as pooled_rate
    from by_placement
),

final as (
    select
        conversion_kind,
        publisher_platform,
        platform_position,
        placement,
        ads,
        spend,
        impressions,
        clicks,
        cast(clicks as double) / nullif(impressions, 0) as ctr,
        spend / nullif(impressions, 0) * 1000 as cpm,
        platform_conversions,
        reconciled_conversions,
        -- Costs in the account currency, to the cent.
        round(spend / nullif(reconciled_conversions, 0), 2) as reconciled_cpa_raw,
        round({{ gamma_cpa('reconciled_conversions', 'spend', 'pooled_rate',
                           var('ad_rank_prior_conversions')) }}, 2) as reconciled_cpa,
        round({{ gamma_cpa_bound('reconciled_conversions', 'spend', 'pooled_rate',
                                 var('ad_rank_prior_conversions'), 1.2816) }}, 2)
            as reconciled_cpa_low,
        round({{ gamma_cpa_bound('reconciled_conversions', 'spend', 'pooled_rate',
                                 var('ad_rank_prior_conversions'), -1.2816) }}, 2)
            as reconciled_cpa_high,
        1 / nullif(pooled_rate, 0) as pooled_cpa
    from pooled
),

ranked as (
    select
        *,
        rank() over (
            partition by conversion_kind order by reconciled_cpa asc nulls last
        ) as cpa_rank
    from final
)

select * from ranked
