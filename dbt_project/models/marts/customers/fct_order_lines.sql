{#
    One row per order line, with the product's category: the export's own (a generic orders
    file may carry one), else the site's catalogue as GA4's ecommerce items describe it.
    A return line's amount is negative, so the lines of an order not cancelled add up to what
    it brought in (Shopify's refunds are an order field, not lines).
#}
with orders as (
    select * from {{ ref('fct_orders') }}
),

lines as (
    select * from {{ ref('int_orders__lines') }}
),

catalogue as (
    select item.item_id as sku, max(item.item_category) as category, max(item.item_name) as item_name
    from {{ ref('stg_ga4__events') }}, unnest(items) as t(item)
    -- Purchases name every product sold; the other ecommerce events add nothing to that.
    where event_name = 'purchase' and item.item_id is not null
    group by all
),

final as (
    select
        orders.order_id,
        cast(lines.line_number as integer) as line_number,
        orders.customer_key,
        orders.is_guest,
        orders.ordered_at,
        orders.order_date,
        lines.sku,
        coalesce(lines.product_name, catalogue.item_name) as product_name,
        coalesce(lines.category, catalogue.category) as category,
        cast(lines.quantity as integer) as quantity,
        cast(lines.line_amount as decimal(18, 2)) as line_amount,
        -- In the reporting currency at the order's rate; null when it has none.
        cast(lines.line_amount * orders.fx_rate as decimal(18, 2)) as line_amount_reporting,
        lines.is_return,
        orders.is_cancelled,
        orders.cancelled_at
    from lines
    inner join orders using (order_source, order_id)
    left join catalogue using (sku)
)

select * from final
