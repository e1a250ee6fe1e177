{#
    Creative fatigue, checked for every ad once a week back from the run's date: over the last
    `ad_fatigue_window_days` of the ad's current run, daily CTR (clicks / impressions) is
    regressed on the run's cumulative impressions before the day (a frequency proxy: the
    audience does not change within a run), weighted by impressions. The slope's standard
    error comes from the residuals, so day-to-day swings beyond binomial noise widen it. A
    single bad day moves one point of 14 or more; only a steady fall gives a steep, tight
    slope. Fatigued: t below -`ad_fatigue_t_critical` and the fitted CTR down by at least
    `ad_fatigue_min_decline` over the window.
#}
with insights as (
    select date_day, ad_id, impressions, clicks
    from {{ ref('stg_meta_ads__insights') }}
    where impressions > 0 and date_day <= date '{{ as_of_date() }}'
),

gaps as (
    select
        *,
        date_diff('day', lag(date_day) over (partition by ad_id order by date_day), date_day)
            as days_since_delivery
    from insights
),

runs as (
    -- A run is delivery without a pause longer than `ad_fatigue_run_gap_days`.
    select
        *,
        sum(case when days_since_delivery is null
                   or days_since_delivery > {{ var('ad_fatigue_run_gap_days') }} then 1 else 0 end)
            over (partition by ad_id order by date_day rows unbounded preceding) as run_number
    from gaps
),

cumulative as (
    select
        *,
        coalesce(sum(impressions) over (
            partition by ad_id, run_number order by date_day
            rows between unbounded preceding and 1 preceding), 0) / 1000.0
            as run_thousand_impressions
    from runs
),

check_dates as (
    select cast(date '{{ as_of_date() }}' - cast(7 * k as integer) as date) as check_date
    from range(0, (select coalesce(date_diff('day', min(date_day),
                                             date '{{ as_of_date() }}') // 7 + 1, 0)
                   from insights)) as weeks (k)
),

current_run as (
    -- The run an ad is in on a check date: that of its last delivery day up to then.
    select
        check_dates.check_date,
        cumulative.ad_id,
        arg_max(cumulative.run_number, cumulative.date_day) as run_number,
        max(cumulative.date_day) as last_delivery_date
    from check_dates
    inner join cumulative on cumulative.date_day <= check_dates.check_date
    group by all
),

windowed as (
    select
        current_run.check_date,
        cumulative.*,
        cast(cumulative.clicks as double) / cumulative.impressions as ctr
    from current_run
    inner join cumulative
        on cumulative.ad_id = current_run.ad_id
        and cumulative.run_number = current_run.run_number
        and cumulative.date_day <= current_run.check_date
        and cumulative.date_day
            > current_run.check_date - {{ var('ad_fatigue_window_days') }}
    where current_run.last_delivery_date > current_run.check_date - 7
),

sums as (
    select
        check_date,
        ad_id,
        count(*) as delivery_days,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        -- The regression's sums as decimals, each term rounded alike: a sum of doubles
        -- depends on the order rows arrive in, and two runs of a day must publish the same
        -- figures. impressions x ctr is the day's clicks, exactly.
        cast(sum(cast(impressions * run_thousand_impressions as decimal(38, 6))) as double)
            as sum_wx,
        cast(sum(cast(impressions * run_thousand_impressions * run_thousand_impressions
                      as decimal(38, 9))) as double) as sum_wxx,
        cast(sum(cast(clicks * run_thousand_impressions as decimal(38, 6))) as double)
            as sum_wxy,
        cast(sum(cast(impressions * ctr * ctr as decimal(38, 12))) as double) as sum_wyy,
        min(run_thousand_impressions) as x_first,
        max(run_thousand_impressions) as x_last
    from windowed
    group by all
    having count(*) >= {{ var('ad_fatigue_min_days') }}
),

centred as (
    select
        *,
        cast(clicks as double) / impressions as mean_ctr,
        sum_wx / impressions as mean_x,
        sum_wxx - sum_wx * sum_wx / impressions as sxx,
        sum_wxy - sum_wx * clicks / impressions as sxy,
        sum_wyy - cast(clicks as double) * clicks / impressions as syy
    from sums
),

fitted as (
    select
        *,
        case when sxx > 0 then sxy / sxx end as ctr_slope_per_thousand
    from centred
),

tested as (
    select
        *,
        sqrt(greatest(syy - ctr_slope_per_thousand * sxy, 0) / (delivery_days - 2) / sxx)
            as ctr_slope_std_error,
        mean_ctr + ctr_slope_per_thousand * (x_first - mean_x) as fitted_ctr_start,
        mean_ctr + ctr_slope_per_thousand * (x_last - mean_x) as fitted_ctr_end
    from fitted
    where ctr_slope_per_thousand is not null
),

final as (
    select
        check_date,
        ad_id,
        delivery_days,
        impressions,
        clicks,
        mean_ctr,
        x_last - x_first as window_thousand_impressions,
        ctr_slope_per_thousand,
        ctr_slope_std_error,
        ctr_slope_per_thousand / nullif(ctr_slope_std_error, 0) as ctr_slope_t,
        fitted_ctr_start,
        fitted_ctr_end,
        fitted_ctr_end / nullif(fitted_ctr_start, 0) - 1 as ctr_change,
        coalesce(
            ctr_slope_per_thousand / nullif(ctr_slope_std_error, 0)
                < -{{ var('ad_fatigue_t_critical') }}
            and fitted_ctr_end / nullif(fitted_ctr_start, 0) - 1
                <= -{{ var('ad_fatigue_min_decline') }},
            false) as is_fatigued
    from tested
)

select * from final
