{#
    The one place the report models read churn risk from: the churn model's rows of the long
    scores table ml.scores (it replaced ml.churn_scores; the switch was the `from` and `where`
    lines here).
#}
with scores as (
    select * from {{ source('ml', 'scores') }}
),

final as (
    select
        customer_key,
        cast(score as double) as churn_risk
    from scores
    where model = 'churn'
)

select * from final
