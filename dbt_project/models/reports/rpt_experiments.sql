{# reports.rpt_experiments: the typed, documented face of int_experiments__readouts (a Python model). #}
with computed as (
    select * from {{ ref('int_experiments__readouts') }}
),

final as (
    select
        cast(experiment_id as varchar) as experiment_id,
        cast(experiment as varchar) as experiment,
        cast(audience as varchar) as audience,
        cast(outcome as varchar) as outcome,
        cast(started_on as date) as started_on,
        cast(as_of_date as date) as as_of_date,
        cast(outcome_days as integer) as outcome_days,
        cast(treated_n as bigint) as treated_n,
        cast(holdout_n as bigint) as holdout_n,
        cast(left_n as bigint) as left_n,
        cast(treated_mean as double) as treated_mean,
        cast(holdout_mean as double) as holdout_mean,
        cast(lift_abs as double) as lift_abs,
        cast(lift_rel as double) as lift_rel,
        cast(lift_low as double) as lift_low,
        cast(lift_high as double) as lift_high,
        cast(prob_treatment_better as double) as prob_treatment_better,
        cast(cuped_variance_reduction as double) as cuped_variance_reduction,
        cast(srm_p_value as double) as srm_p_value,
        cast(srm_flag as boolean) as srm_flag,
        cast(mde_abs as double) as mde_abs,
        cast(days_needed as integer) as days_needed,
        cast(verdict as varchar) as verdict,
        cast(summary as varchar) as summary
    from computed
)

select * from final
