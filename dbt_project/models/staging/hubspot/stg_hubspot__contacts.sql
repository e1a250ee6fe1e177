with source as (
    select * from {{ source('hubspot', 'contacts') }}
),

renamed as (
    select
        {{ clean_text('"Record ID"') }} as hubspot_record_id,
        {{ normalize_email('"Email"') }} as email,
        {{ clean_text('"First Name"') }} as first_name,
        {{ clean_text('"Last Name"') }} as last_name,
        -- HubSpot keeps a contact's other addresses apart, separated by semicolons.
        lower({{ clean_text('"Additional email addresses"') }}) as additional_emails,
        {{ clean_text('"Phone Number"') }} as phone_raw,
        {{ phone_e164('"Phone Number"') }} as phone_e164,
        {{ phone_e164('"Mobile Phone Number"') }} as mobile_phone_e164,
        lower({{ clean_text('"Lifecycle Stage"') }}) as lifecycle_stage,
        upper({{ clean_text('"Lead Status"') }}) as lead_status,
        upper({{ clean_text('"Original Source"') }}) as original_source,
        -- HubSpot writes times without an offset, in the account's time zone (a setting).
        {{ utc_from_naive('"Create Date"', '%Y-%m-%d %H:%M', var('hubspot_timezone')) }} as created_at,
        {{ utc_from_naive('"Became a Customer Date"', '%Y-%m-%d %H:%M', var('hubspot_timezone')) }} as became_customer_at,
        {{ clean_text('"Associated Deal"') }} as associated_deal_ids,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

latest_export as (
    select *
    from renamed
    where hubspot_record_id is not null
    qualify row_number() over (
        partition by hubspot_record_id
        order by export_date desc nulls last, loaded_at desc, source_file desc, source_row desc
    ) = 1
)

select * from latest_export
