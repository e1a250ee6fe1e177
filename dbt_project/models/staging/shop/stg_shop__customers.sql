with source as (
    select * from {{ source('shop', 'customers') }}
),

renamed as (
    select
        {{ clean_text('"Customer ID"') }} as shop_customer_id,
        {{ normalize_email('"Email"') }} as email,
        {{ clean_text('"First Name"') }} as first_name,
        {{ clean_text('"Last Name"') }} as last_name,
        lower(trim("Accepts Email Marketing")) = 'yes' as accepts_email_marketing,
        {{ clean_text('"Default Address Address1"') }} as address_line,
        {{ clean_text('"Default Address City"') }} as city,
        {{ clean_text('"Default Address Province Code"') }} as region_code,
        upper({{ clean_text('"Default Address Country Code"') }}) as country_code,
        {{ strip_apostrophe('"Default Address Zip"') }} as zip,
        coalesce(
            {{ strip_apostrophe('"Phone"') }}, {{ strip_apostrophe('"Default Address Phone"') }}
        ) as phone_raw,
        {{ phone_e164(
            'coalesce(nullif(trim("Phone"), \'\'), "Default Address Phone")',
            '"Default Address Country Code"',
        ) }} as phone_e164,
        -- The address's phone apart: often a home's landline, where "Phone" is the mobile.
        {{ phone_e164('"Default Address Phone"', '"Default Address Country Code"') }}
            as address_phone_e164,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

latest_export as (
    -- Each export is a full snapshot: the newest one describes the customer now.
    select *
    from renamed
    qualify row_number() over (
        partition by shop_customer_id
        order by export_date desc nulls last, loaded_at desc, source_file desc, source_row desc
    ) = 1
)

select * from latest_export
