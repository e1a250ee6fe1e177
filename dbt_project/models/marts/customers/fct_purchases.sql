{#
    Purchases, as the models count them: a customer's purchases of one calendar day (UTC) are
    one purchase, as buy-till-you-die models (BG/NBD) define a transaction; a second order an
    hour after the first (a forgotten item, a split basket) is not a second visit to the shop.
    Only orders that are purchases (`fct_orders.is_purchase`) and belong to a customer count.
    `amount_reporting` and `value_reporting` are in the reporting currency: null on a day with
    an order whose currency has no rate on its date (never part converted, part raw).
#}
with orders as (
    select * from {{ ref('fct_orders') }}
),

purchases as (
    select
        customer_key,
        order_date as purchase_date,
        count(*) as orders,
        sum(amount) as amount,
        sum(amount - refunded_amount) as value,
        min(ordered_at) as first_ordered_at,
        case when count(amount_reporting) = count(*) then sum(amount_reporting) end
            as amount_reporting,
        case when count(amount_reporting) = count(*)
            then sum(amount_reporting - refunded_amount_reporting) end as value_reporting
    from orders
    where is_purchase and customer_key is not null
    group by customer_key, order_date
),

final as (
    select
        customer_key,
        purchase_date,
        cast(orders as integer) as orders,
        cast(amount as decimal(18, 2)) as amount,
        cast(value as decimal(18, 2)) as value,
        cast(amount_reporting as decimal(18, 2)) as amount_reporting,
        cast(value_reporting as decimal(18, 2)) as value_reporting,
        first_ordered_at
    from purchases
)

select * from final
