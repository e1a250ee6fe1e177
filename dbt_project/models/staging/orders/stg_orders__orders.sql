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
        upper(coalesce({{ clean_text('currency') }}, '{{ var("default_currency") }}')) as currency,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_text('category') }} as category,
        {{ clean_text('country') }} as country,
        lower({{ clean_text('status') }}) as status,
        coalesce(cast(nullif(trim(quantity), '') as integer), 1) as quantity,
        cast(nullif(trim(unit_price), '') as decimal(18, 6)) as unit_price,
        cast(nullif(trim(amount), '') as decimal(18, 2)) as amount_given,
        _file as source_file,
        _row as source_row
    from source
),

priced as (
    select
        * exclude (amount_given),
        -- The line's total as exported; an invoice-line export gives the unit price instead.
        coalesce(amount_given, cast(round(unit_price * quantity, 2) as decimal(18, 2)))
            as line_amount
    from renamed
),

deduplicated as (
    -- The same line in two exports (overlapping date ranges) is one line. Within one file,
    -- identical lines are separate lines (an invoice may list a product twice), so the k-th
    -- copy in a file is matched only with the k-th copy in another.
    select * exclude (copy_in_file)
    from (
        select
            *,
            row_number() over (
                partition by source_file, order_id, product_id, quantity, line_amount, ordered_at
                order by source_row
            ) as copy_in_file
        from priced
    )
    qualify row_number() over (
        partition by order_id, product_id, quantity, line_amount, ordered_at, copy_in_file
        order by source_file, source_row
    ) = 1
)

select * from deduplicated
