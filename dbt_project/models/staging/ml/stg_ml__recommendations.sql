with recommendations as (
    select * from {{ source('ml', 'recommendations') }}
),

final as (
    select
        customer_key,
        cast(as_of_date as date) as as_of_date,
        cast(rank as integer) as rank,
        product_id,
        cast(score as double) as score,
        source,
        reason
    from recommendations
)

select * from final
