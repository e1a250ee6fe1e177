{#
    The one place the report models read churn risk from. When churn scores move to the long
    table ml.scores (customer_key, model, version, score, decile, reasons), this becomes
    `select customer_key, score as churn_risk from {{ source('ml', 'scores') }}
    where model = 'churn'` and nothing downstream changes.
#}
with scores as (
    select * from {{ source('ml', 'churn_scores') }}
),

final as (
    select
        customer_key,
        cast(churn_probability as double) as churn_risk
    from scores
)

select * from final
