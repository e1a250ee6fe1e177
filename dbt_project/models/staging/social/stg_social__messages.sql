{#
    Messenger and Instagram Direct messages, one row each, both directions: `is_from_page`
    marks the Page's (or account's) own replies.
#}
with source as (
    select * from {{ source('social', 'messages') }}
),

renamed as (
    select
        lower(trim(platform)) as platform,
        {{ clean_text('id') }} as message_id,
        {{ clean_text('conversation_id') }} as conversation_id,
        {{ clean_text('message') }} as message_text,
        strptime(created_time, '%Y-%m-%dT%H:%M:%S%z') as sent_at,
        {{ clean_text('"from".id') }} as social_user_id,
        {{ clean_text('"from".name') }} as author_name,
        {{ clean_text('"from".username') }} as author_username,
        {{ normalize_email('customer.email') }} as customer_email,
        {{ clean_text('customer.hubspot_record_id') }} as customer_hubspot_record_id,
        _file as source_file,
        _row as source_row
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by platform, message_id order by source_file desc, source_row
    ) = 1
)

select * from deduplicated
