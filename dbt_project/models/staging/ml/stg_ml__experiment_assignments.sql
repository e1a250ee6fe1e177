with assignments as (
    select * from {{ source('ml', 'experiment_assignments') }}
),

final as (
    select
        experiment_id,
        experiment,
        audience,
        customer_key,
        arm,
        cast(holdout_share as double) as holdout_share,
        cast(outcome_days as integer) as outcome_days,
        cast(entered_on as date) as entered_on,
        cast(left_on as date) as left_on,
        left_reason,
        run_id
    from assignments
)

select * from final
