{#
    Order lines from every shop source in one shape, each marked a purchase or a return.

    A return line (a refund, a cancellation, a bad-debt or stock adjustment) is one with a
    negative quantity or a negative amount: generic exports write returns that way (Online
    Retail's `C` credit notes: negative quantities; its `A` adjustments: a negative price).
    Shopify's export lists only what was sold; its refunds are an order field.
#}
with shopify as (
    select * from {{ ref('stg_shop__orders') }}
),

generic as (
    select * from {{ ref('stg_orders__orders') }}
),

lines as (
    select
        'shop' as order_source,
        order_name as order_id,
        line_number,
        sku,
        line_name as product_name,
        cast(null as varchar) as category,
        quantity,
        cast(line_price * quantity as decimal(18, 2)) as line_amount
    from shopify
    union all
    select
        'orders' as order_source,
        order_id,
        row_number() over (partition by order_id order by source_file, source_row) as line_number,
        product_id as sku,
        product_name,
        category,
        quantity,
        line_amount
    from generic
),

final as (
    select
        * replace (
            -- What a return line gives back is negative, whichever sign the export wrote.
            case when quantity < 0 or line_amount < 0 then -abs(line_amount) else line_amount end
                as line_amount
        ),
        quantity < 0 or line_amount < 0 as is_return
    from lines
)

select * from final
