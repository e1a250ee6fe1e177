with source as (
    select * from {{ source('typeform', 'responses') }}
),

renamed as (
    select
        {{ clean_text('"#"') }} as response_id,
        {{ normalize_email('"email"') }} as email,
        try_cast(trim("{{ var('typeform_nps_question') }}") as integer) as nps_score,
        {{ clean_text('"' ~ var('typeform_reason_question') ~ '"') }} as comment,
        {{ utc_from_naive('"Start Date (UTC)"', '%Y-%m-%d %H:%M:%S') }} as started_at,
        {{ utc_from_naive('"Submit Date (UTC)"', '%Y-%m-%d %H:%M:%S') }} as submitted_at,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row
    from source
),

latest_export as (
    select *
    from renamed
    where response_id is not null
    qualify row_number() over (
        partition by response_id order by export_date desc nulls last, source_file desc, source_row
    ) = 1
)

select * from latest_export
