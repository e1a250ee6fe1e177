{# Lifetime value per scored customer: the LTV model's expected spend over the next year. #}
with scores as (
    select * from {{ source('ml', 'scores') }}
),

final as (
    select
        customer_key,
        cast(score as double) as ltv_next_year
    from scores
    where model = 'ltv'
)

select * from final
