{#
    What happened after each logged ad recommendation, once 14 days have passed: the KPI it
    aimed at over the 14 days after the day it was made against the 14 days up to it, for its
    subject (the ad set of a budget move, the ad of a creative refresh; for an audience, which is
    not an ad yet, the account). `is_final` once the click window of the last day after has
    closed too (conversions are credited to the click day, and come up to click_days later).
    For a budget move, whether it was applied: the ad set's spend moved at least half way, the
    same way.
#}
with log as (
    select
        *,
        case when subject_level = 'account' then 'account' else subject_id end as series_id
    from {{ ref('rpt_ad_recommendations') }}
    where recommended_on <= date '{{ as_of_date() }}' - interval 14 day
),

conversions as (
    select * from {{ ref('fct_ad_conversions') }}
),

daily as (
    select
        'adset' as subject_level, adset_id as series_id, date_day, spend, impressions, clicks,
        reconciled_purchases + reconciled_leads as conversions
    from conversions
    union all
    select
        'ad', ad_id, date_day, spend, impressions, clicks,
        reconciled_purchases + reconciled_leads
    from conversions
    union all
    select
        'account', 'account', date_day, spend, impressions, clicks,
        reconciled_purchases + reconciled_leads
    from conversions
),

windows as (
    select
        log.recommended_on,
        log.source,
        log.subject_id,
        sum(daily.conversions) filter (where daily.date_day <= log.recommended_on)
            as conversions_before,
        sum(daily.conversions) filter (where daily.date_day > log.recommended_on)
            as conversions_after,
        sum(daily.spend) filter (where daily.date_day <= log.recommended_on) as spend_before,
        sum(daily.spend) filter (where daily.date_day > log.recommended_on) as spend_after,
        sum(daily.clicks) filter (where daily.date_day <= log.recommended_on) as clicks_before,
        sum(daily.clicks) filter (where daily.date_day > log.recommended_on) as clicks_after,
        sum(daily.impressions) filter (where daily.date_day <= log.recommended_on)
            as impressions_before,
        sum(daily.impressions) filter (where daily.date_day > log.recommended_on)
            as impressions_after
    from log
    left join daily
        on daily.subject_level = log.subject_level
        and daily.series_id = log.series_id
        and daily.date_day between log.recommended_on - interval 13 day
        and log.recommended_on + interval 14 day
    group by log.recommended_on, log.source, log.subject_id
),

measured as (
    select
        log.*,
        -- Conversions per week (two weeks each side); CTR as clicks per impression.
        case log.kpi
            when 'conversions' then coalesce(windows.conversions_before, 0) / 2.0
            when 'ctr' then cast(windows.clicks_before as double)
                / nullif(windows.impressions_before, 0)
        end as kpi_before,
        case log.kpi
            when 'conversions' then coalesce(windows.conversions_after, 0) / 2.0
            when 'ctr' then cast(windows.clicks_after as double)
                / nullif(windows.impressions_after, 0)
        end as kpi_after,
        cast((coalesce(windows.spend_after, 0) - coalesce(windows.spend_before, 0)) / 14.0
            as double) as spend_change_per_day
    from log
    inner join windows using (recommended_on, source, subject_id)
),

final as (
    select
        recommended_on,
        source,
        subject_level,
        subject_id,
        subject_name,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        kpi_before,
        kpi_after,
        kpi_after - kpi_before as observed_change,
        observed_change between expected_low and expected_high as within_interval,
        sign(observed_change) = sign(expected_change) as moved_as_expected,
        budget_change_per_day,
        spend_change_per_day,
        case when source = 'budget' then
            sign(spend_change_per_day) = sign(budget_change_per_day)
            and abs(spend_change_per_day) >= 0.5 * abs(budget_change_per_day)
        end as was_applied,
        recommended_on + interval 14 day
            + interval {{ var('attribution_click_days') }} day
            <= date '{{ as_of_date() }}' as is_final
    from measured
)

select
    recommended_on,
    source,
    subject_level,
    subject_id,
    subject_name,
    recommendation,
    kpi,
    cast(expected_change as double) as expected_change,
    cast(expected_low as double) as expected_low,
    cast(expected_high as double) as expected_high,
    cast(kpi_before as double) as kpi_before,
    cast(kpi_after as double) as kpi_after,
    cast(observed_change as double) as observed_change,
    cast(within_interval as boolean) as within_interval,
    cast(moved_as_expected as boolean) as moved_as_expected,
    cast(budget_change_per_day as double) as budget_change_per_day,
    cast(spend_change_per_day as double) as spend_change_per_day,
    cast(was_applied as boolean) as was_applied,
    cast(is_final as boolean) as is_final
from final
