with source as (
    select * from {{ source('shop', 'orders') }}
),

filled as (
    select
        trim("Name") as order_name,
        {{ order_field('"Id"') }} as order_id,
        {{ order_field('"Customer ID"') }} as shop_customer_id,
        {{ normalize_email(order_field('"Email"')) }} as email,
        lower({{ order_field('"Financial Status"') }}) as financial_status,
        {{ order_field('"Paid at"') }} as paid_at_text,
        {{ order_field('"Created at"') }} as created_at_text,
        {{ order_field('"Cancelled at"') }} as cancelled_at_text,
        upper({{ order_field('"Currency"') }}) as currency,
        {{ order_field('"Subtotal"') }} as subtotal_text,
        {{ order_field('"Shipping"') }} as shipping_text,
        {{ order_field('"Taxes"') }} as taxes_text,
        {{ order_field('"Total"') }} as total_text,
        {{ order_field('"Discount Code"') }} as discount_code,
        {{ order_field('"Discount Amount"') }} as discount_amount_text,
        {{ order_field('"Refunded Amount"') }} as refunded_amount_text,
        {{ order_field('"Tags"') }} as tags,
        {{ order_field('"Source"') }} as order_source,
        {{ order_field('"Billing Zip"') }} as billing_zip_text,
        {{ order_field('"Billing Country"') }} as billing_country,
        {{ order_field('"Phone"') }} as phone_text,
        {{ order_field('"Accepts Marketing"') }} as accepts_marketing_text,
        row_number() over (partition by _file, "Name" order by _row) as line_number,
        cast(trim("Lineitem quantity") as integer) as quantity,
        cast(trim("Lineitem price") as decimal(18, 2)) as line_price,
        {{ clean_text('"Lineitem sku"') }} as sku,
        {{ clean_text('"Lineitem name"') }} as line_name,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row
    from source
),

renamed as (
    select
        order_name,
        order_id,
        shop_customer_id,
        email,
        financial_status,
        strptime(created_at_text, '%Y-%m-%d %H:%M:%S %z') as ordered_at,
        strptime(paid_at_text, '%Y-%m-%d %H:%M:%S %z') as paid_at,
        strptime(cancelled_at_text, '%Y-%m-%d %H:%M:%S %z') as cancelled_at,
        cancelled_at_text is not null as is_cancelled,
        coalesce(currency, '{{ var("default_currency") }}') as currency,
        cast(subtotal_text as decimal(18, 2)) as subtotal,
        cast(shipping_text as decimal(18, 2)) as shipping,
        cast(taxes_text as decimal(18, 2)) as taxes,
        cast(total_text as decimal(18, 2)) as total,
        discount_code,
        coalesce(cast(discount_amount_text as decimal(18, 2)), 0) as discount_amount,
        coalesce(cast(refunded_amount_text as decimal(18, 2)), 0) as refunded_amount,
        tags,
        coalesce(list_contains(string_split(lower(coalesce(tags, '')), ', '), 'test'), false)
            or email like '%@example.test' as is_test,
        order_source,
        ltrim(billing_zip_text, '''') as billing_zip,
        billing_country,
        ltrim(phone_text, '''') as phone_raw,
        {{ phone_e164('phone_text', 'billing_country') }} as phone_e164,
        lower(accepts_marketing_text) = 'yes' as accepts_marketing,
        line_number,
        quantity,
        line_price,
        sku,
        line_name,
        export_date,
        source_file,
        source_row
    from filled
),

latest_export as (
    -- The same order in a later export (overlapping date ranges) replaces the earlier one.
    -- An export dated after the run's date is not yet known to it: its undated changes (a
    -- refunded amount, an edited total) would reach a rerun of an older day.
    select *
    from renamed
    where not is_test and coalesce(export_date <= date '{{ as_of_date() }}', true)
    qualify dense_rank() over (
        partition by order_name order by export_date desc nulls last, source_file desc
    ) = 1
)

select * from latest_export
