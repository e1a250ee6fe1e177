with source as (
    select * from {{ source('mailchimp', 'campaigns') }}
),

renamed as (
    select
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('campaign_title') }} as campaign_title,
        {{ clean_text('subject_line') }} as subject_line,
        {{ clean_text('variant') }} as variant,
        {{ utc_from_naive('send_time', '%Y-%m-%d %H:%M:%S') }} as sent_at,
        cast(emails_sent as integer) as emails_sent,
        {{ clean_text('list_id') }} as list_id,
        {{ export_date_from_path('_file') }} as export_date,
        _loaded_at as loaded_at
    from source
),

latest_export as (
    select *
    from renamed
    where campaign_id is not null
    qualify row_number() over (
        partition by campaign_id order by export_date desc nulls last, loaded_at desc
    ) = 1
)

select * from latest_export
