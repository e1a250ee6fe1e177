{#
    Orders from every shop source at order grain, in one shape: Shopify's export and the
    generic orders file. A business normally has one of them; both are read when present.
#}
with generic_lines as (
    select * from {{ ref('stg_orders__orders') }}
),

shopify_lines as (
    select * from {{ ref('stg_shop__orders') }}
),

generic as (
    select
        'orders' as order_source,
        order_id,
        order_id as platform_order_id,
        min(shop_customer_id) as shop_customer_id,
        min(email) as email,
        cast(null as varchar) as phone_e164,
        cast(null as varchar) as billing_country,
        min(ordered_at) as ordered_at,
        min(currency) as currency,
        sum(line_amount) as amount,
        cast(0 as decimal(18, 2)) as refunded_amount,
        cast(0 as decimal(18, 2)) as discount_amount,
        false as is_cancelled,
        count(*) as line_count,
        sum(quantity) as units
    from generic_lines
    group by order_id
),

shopify as (
    select
        'shop' as order_source,
        order_name as order_id,
        -- Shopify's numeric order id: what GA4's transaction_id and the Pixel's order_id carry.
        min(stg.order_id) as platform_order_id,
        min(shop_customer_id) as shop_customer_id,
        min(email) as email,
        min(phone_e164) as phone_e164,
        upper(min(billing_country)) as billing_country,
        min(ordered_at) as ordered_at,
        min(currency) as currency,
        -- The order total includes shipping and taxes; without one, the lines add up.
        coalesce(min(total), sum(line_price * quantity)) as amount,
        max(refunded_amount) as refunded_amount,
        max(discount_amount) as discount_amount,
        bool_or(is_cancelled) as is_cancelled,
        count(*) as line_count,
        sum(quantity) as units
    from shopify_lines as stg
    group by order_name
),

final as (
    select * from generic
    union all
    select * from shopify
)

select * from final
