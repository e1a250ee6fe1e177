with orders as (
    select * from {{ ref('int_orders__unioned') }}
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

final as (
    select
        orders.order_id,
        coalesce(by_shop_id.customer_key, by_email.customer_key) as customer_key,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date,
        cast(orders.amount as decimal(18, 2)) as amount,
        cast(orders.refunded_amount as decimal(18, 2)) as refunded_amount,
        orders.is_cancelled,
        orders.order_source,
        orders.currency,
        cast(orders.line_count as integer) as line_count,
        cast(orders.units as integer) as units
    from orders
    left join identifiers as by_shop_id
        on by_shop_id.identifier_type = 'shop_customer_id'
        and by_shop_id.identifier = orders.shop_customer_id
    left join identifiers as by_email
        on by_email.identifier_type = 'email'
        and by_email.identifier = orders.email
)

select * from final
