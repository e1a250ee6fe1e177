with orders as (
    select * from {{ ref('int_orders__unioned') }}
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

final as (
    select
        orders.order_id,
        people.customer_key,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date,
        cast(orders.amount as decimal(18, 2)) as amount,
        cast(orders.refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(orders.discount_amount as decimal(18, 2)) as discount_amount,
        orders.discount_code,
        orders.is_cancelled,
        -- The one rule for what counts as a purchase (features, labels and the buy-till-you-die
        -- summaries all take it): an order that stood and took money. Cancelled orders,
        -- returns and credit notes (nothing or less than nothing paid) are no purchase.
        not orders.is_cancelled and orders.amount > 0 as is_purchase,
        orders.order_source,
        orders.currency,
        orders.billing_country,
        cast(orders.line_count as integer) as line_count,
        cast(orders.units as integer) as units
    from orders
    -- Every order is a record of identity resolution: its id names the person who placed it.
    left join identifiers as people
        on people.identifier_type = 'order_id'
        and people.identifier = orders.platform_order_id
)

select * from final
