{#
    One row per order line, with the product's category from the site's catalogue as GA4's
    ecommerce items describe it (the shop's exports carry no category).
#}
with orders as (
    select * from {{ ref('fct_orders') }}
),

shopify_lines as (
    select order_name as order_id, line_number, sku, line_name as product_name, quantity,
        line_price * quantity as line_amount
    from {{ ref('stg_shop__orders') }}
),

generic_lines as (
    select order_id, row_number() over (partition by order_id order by source_row) as line_number,
        product_id as sku, cast(null as varchar) as product_name, quantity, line_amount
    from {{ ref('stg_orders__orders') }}
),

lines as (
    select 'shop' as order_source, * from shopify_lines
    union all
    select 'orders' as order_source, * from generic_lines
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
        orders.ordered_at,
        orders.order_date,
        lines.sku,
        coalesce(lines.product_name, catalogue.item_name) as product_name,
        catalogue.category,
        cast(lines.quantity as integer) as quantity,
        cast(lines.line_amount as decimal(18, 2)) as line_amount,
        orders.is_cancelled
    from lines
    inner join orders using (order_source, order_id)
    left join catalogue using (sku)
)

select * from final
