{#
    Ads (creatives) ranked by reconciled cost per conversion over the last
    `ad_rank_window_days`, shrunk towards the account's pooled cost of that kind of
    conversion (gamma_cpa, as for placements: one prior for both rankings), with the
    fatigue check of the run's date (int_ad_creatives__fatigue_checks). A fatigued ad gets a
    refresh recommendation: a new creative is expected to bring its CTR back to where the
    fitted line started the window; the 80% interval comes from the slope's standard error.
#}
with ads as (
    select * from {{ ref('int_ad_creatives__reconciled') }}
),

creatives as (
    select * from {{ ref('dim_ad_creatives') }}
),

fatigue as (
    select * from {{ ref('int_ad_creatives__fatigue_checks') }}
    where check_date = date '{{ as_of_date() }}'
),

pooled as (
    select
        ads.*,
        creatives.campaign_id,
        -- Summed as decimals so the rate does not depend on the order rows arrive in.
        cast(sum(cast(ads.reconciled_conversions as decimal(18, 6)))
                 over (partition by ads.conversion_kind) as double)
            / nullif(cast(sum(ads.spend) over (partition by ads.conversion_kind) as double), 0)
            as pooled_rate
    from ads
    left join creatives on ads.ad_id = creatives.ad_id
),

scored as (
    select
        *,
        -- Costs in the account currency, to the cent.
        round(spend / nullif(reconciled_conversions, 0), 2) as reconciled_cpa_raw,
        round({{ gamma_cpa('reconciled_conversions', 'spend', 'pooled_rate',
                           var('ad_rank_prior_conversions')) }}, 2) as reconciled_cpa,
        round({{ gamma_cpa_bound('reconciled_conversions', 'spend', 'pooled_rate',
                                 var('ad_rank_prior_conversions'), 1.2816) }}, 2)
            as reconciled_cpa_low,
        round({{ gamma_cpa_bound('reconciled_conversions', 'spend', 'pooled_rate',
                                 var('ad_rank_prior_conversions'), -1.2816) }}, 2)
            as reconciled_cpa_high
    from pooled
),

final as (
    select
        date '{{ as_of_date() }}' as as_of_date,
        scored.ad_id,
        creatives.ad_name,
        creatives.adset_id,
        creatives.adset_name,
        scored.campaign_id,
        creatives.campaign_name,
        creatives.creative_id,
        creatives.headline,
        creatives.primary_text,
        creatives.call_to_action_type,
        scored.conversion_kind,
        scored.spend,
        scored.impressions,
        scored.link_clicks,
        scored.platform_conversions,
        scored.reconciled_conversions,
        scored.reconciled_cpa_raw,
        scored.reconciled_cpa,
        scored.reconciled_cpa_low,
        scored.reconciled_cpa_high,
        rank() over (
            partition by scored.conversion_kind order by scored.reconciled_cpa asc nulls last
        ) as cpa_rank,
        fatigue.mean_ctr as recent_ctr,
        fatigue.fitted_ctr_start,
        fatigue.fitted_ctr_end,
        fatigue.ctr_change,
        fatigue.ctr_slope_t,
        coalesce(fatigue.is_fatigued, false) as is_fatigued,
        case when fatigue.is_fatigued then
            'Refresh the creative of "' || coalesce(creatives.ad_name, scored.ad_id)
            || '": its CTR fell from ' || printf('%.2f', 100 * fatigue.fitted_ctr_start)
            || '% to ' || printf('%.2f', 100 * fatigue.fitted_ctr_end)
            || '% over the last ' || {{ var('ad_fatigue_window_days') }}
            || ' days as the same people saw it again.'
        end as recommendation,
        case when fatigue.is_fatigued then 'ctr' end as kpi,
        -- CTR as clicks per impression, to six decimals (0.0001%).
        case when fatigue.is_fatigued
            then round(fatigue.fitted_ctr_start - fatigue.fitted_ctr_end, 6)
        end as expected_change,
        case when fatigue.is_fatigued
            then round(greatest(fatigue.fitted_ctr_start - fatigue.fitted_ctr_end
                                - 1.2816 * fatigue.ctr_slope_std_error
                                  * fatigue.window_thousand_impressions, 0), 6)
        end as expected_low,
        case when fatigue.is_fatigued
            then round(fatigue.fitted_ctr_start - fatigue.fitted_ctr_end
                       + 1.2816 * fatigue.ctr_slope_std_error
                         * fatigue.window_thousand_impressions, 6)
        end as expected_high
    from scored
    left join creatives on scored.ad_id = creatives.ad_id
    left join fatigue on scored.ad_id = fatigue.ad_id
)

select * from final
