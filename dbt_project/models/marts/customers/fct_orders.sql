{#
    One row per order. Revenue is amount less refunded_amount of the orders not cancelled; an
    order counts as an order (a purchase) only when is_purchase. Guest checkouts have no
    customer_key: they count for revenue, never for a person.
    Each money column has a twin in the reporting currency (`<column>_reporting`, at the
    order's rate from int_orders__rates); null when the order's currency has no rate in force
    on its date. Customer-level money reads the twins, so currencies are never added raw.
#}
with orders as (
    select * from {{ ref('int_orders__unioned') }}
),

rates as (
    select * from {{ ref('int_orders__rates') }}
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

final as (
    select
        orders.order_id,
        people.customer_key,
        orders.is_guest,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date,
        cast(orders.amount as decimal(18, 2)) as amount,
        cast(orders.refunded_amount as decimal(18, 2)) as refunded_amount,
        orders.refunded_at,
        cast(orders.discount_amount as decimal(18, 2)) as discount_amount,
        orders.discount_code,
        orders.cancelled_at,
        orders.is_cancelled,
        orders.has_purchase_lines,
        -- The one rule for what counts as a purchase (labels and reports take it; decided in
        -- int_orders__unioned): an order with at least one purchase line, not cancelled by
        -- the end of the run's date. Credit notes (only return lines) are no purchase.
        -- customer_features applies the same rule at each of its cutoffs, with cancelled_at.
        orders.is_purchase,
        orders.order_source,
        orders.currency,
        rates.reporting_currency,
        rates.fx_rate,
        {%- for money in ['amount', 'refunded_amount', 'discount_amount'] %}
        cast(orders.{{ money }} * rates.fx_rate as decimal(18, 2)) as {{ money }}_reporting,
        {%- endfor %}
        orders.billing_country,
        cast(orders.line_count as integer) as line_count,
        cast(orders.units as integer) as units
    from orders
    inner join rates using (order_source, order_id)
    -- Every order that names somebody is a record of identity resolution: its id names the
    -- person who placed it. A guest order's id is in no cluster, so it joins nobody.
    left join identifiers as people
        on people.identifier_type = 'order_id'
        and people.identifier = orders.platform_order_id
        and not orders.is_guest
)

select * from final
