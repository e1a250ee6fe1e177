{#
    Sales per day and currency, for every order, guest checkouts included: what the shop sold,
    what it gave back and what it kept, and how much of it came from guests (orders that name
    no customer, so no per-customer table holds them). Revenue is one rule everywhere: amount
    less refunded_amount of the orders not cancelled, on the order's date; a credit note
    (only return lines) is no order and lowers the revenue of the day it was issued.
    The `_reporting` twins are the same sums in the reporting currency, null for a day and
    currency with an order that has no exchange rate (a partial sum would pass for a whole).
#}
with orders as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
),

final as (
    select
        order_date,
        currency,
        cast(count(*) filter (where is_purchase) as integer) as orders,
        cast(count(*) filter (where is_purchase and is_guest) as integer) as guest_orders,
        cast(count(*) filter (where not is_purchase) as integer) as credit_notes,
        cast(coalesce(sum(units) filter (where is_purchase), 0) as integer) as units_sold,
        cast(sum(amount) as decimal(18, 2)) as gross_revenue,
        cast(sum(refunded_amount) as decimal(18, 2)) as refunds,
        cast(sum(amount - refunded_amount) as decimal(18, 2)) as revenue,
        cast(coalesce(sum(amount - refunded_amount) filter (where is_guest), 0)
            as decimal(18, 2)) as guest_revenue,
        min(reporting_currency) as reporting_currency,
        cast(case when bool_and(fx_rate is not null)
            then sum(amount_reporting - refunded_amount_reporting) end
            as decimal(18, 2)) as revenue_reporting,
        cast(case when bool_and(fx_rate is not null)
            then coalesce(sum(amount_reporting - refunded_amount_reporting)
                filter (where is_guest), 0) end
            as decimal(18, 2)) as guest_revenue_reporting
    from orders
    group by order_date, currency
)

select * from final
