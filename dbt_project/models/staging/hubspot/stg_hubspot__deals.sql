with source as (
    select * from {{ source('hubspot', 'deals') }}
),

renamed as (
    select
        {{ clean_text('"Record ID"') }} as deal_id,
        {{ clean_text('"Deal Name"') }} as deal_name,
        lower({{ clean_text('"Deal Stage"') }}) as deal_stage,
        cast(nullif(trim("Amount"), '') as decimal(18, 2)) as amount,
        {{ utc_from_naive('"Create Date"', '%Y-%m-%d %H:%M', var('hubspot_timezone')) }} as created_at,
        {{ utc_from_naive('"Close Date"', '%Y-%m-%d %H:%M', var('hubspot_timezone')) }} as closed_at,
        {{ clean_text('"Associated Contact IDs"') }} as associated_contact_ids,
        {{ export_date_from_path('_file') }} as export_date,
        _loaded_at as loaded_at,
        _file as source_file,
        _row as source_row
    from source
),

latest_export as (
    select *
    from renamed
    where deal_id is not null
    qualify row_number() over (
        partition by deal_id
        order by export_date desc nulls last, loaded_at desc, source_file desc, source_row desc
    ) = 1
)

select * from latest_export
