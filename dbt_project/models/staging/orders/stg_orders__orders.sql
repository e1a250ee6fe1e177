with source as (
    select * from {{ source('orders', 'orders') }}
),

renamed as (
    select
        trim(order_id) as order_id,
        {{ clean_text('customer_id') }} as shop_customer_id,
        {{ normalize_email('email') }} as email,
        -- ISO 8601 with Z or an offset; text without one is UTC (the session time zone).
        cast(trim(order_date) as timestamptz) as ordered_at,
        cast(trim(amount) as decimal(18, 2)) as line_amount,
        upper(coalesce({{ clean_text('currency') }}, '{{ var("default_currency") }}')) as currency,
        {{ clean_text('product_id') }} as product_id,
        coalesce(cast(nullif(trim(quantity), '') as integer), 1) as quantity,
        _file as source_file,
        _row as source_row
    from source
),

deduplicated as (
    -- The same line exported twice (overlapping exports) is one line.
    select *
    from renamed
    qualify row_number() over (
        partition by order_id, product_id, quantity, line_amount, ordered_at
        order by source_file, source_row
    ) = 1
)

select * from deduplicated
