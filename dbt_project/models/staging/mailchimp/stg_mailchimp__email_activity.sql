with source as (
    select * from {{ source('mailchimp', 'email_activity') }}
),

renamed as (
    select
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ normalize_email('"Email Address"') }} as email,
        lower(trim(action)) as action,
        {{ utc_from_naive('timestamp', '%Y-%m-%d %H:%M:%S') }} as action_at,
        {{ clean_text('url') }} as url,
        _file as source_file,
        _row as source_row
    from source
),

deduplicated as (
    -- Activity exports overlap and repeat rows: an action at the same second counts once.
    select *
    from renamed
    where email is not null and action is not null
    qualify row_number() over (
        partition by campaign_id, email, action, action_at, url order by source_file, source_row
    ) = 1
)

select * from deduplicated
