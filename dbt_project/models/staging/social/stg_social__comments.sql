{#
    Comments on the Page's and the account's posts, one row each (a comment delivered by two
    exports is one). Facebook and Instagram name the same things differently: the text is
    `message` or `text`, the time `created_time` or `timestamp`, the post `post_id` or
    `media.id`, the author a name or a username.
#}
with source as (
    select * from {{ source('social', 'comments') }}
),

renamed as (
    select
        lower(trim(platform)) as platform,
        {{ clean_text('id') }} as comment_id,
        {{ clean_text('coalesce(post_id, media.id)') }} as post_id,
        parent.id as parent_comment_id,
        {{ clean_text('coalesce(message, text)') }} as comment_text,
        strptime(coalesce(created_time, "timestamp"), '%Y-%m-%dT%H:%M:%S%z') as commented_at,
        {{ clean_text('"from".id') }} as social_user_id,
        {{ clean_text('"from".name') }} as author_name,
        {{ clean_text('coalesce("from".username, username)') }} as author_username,
        like_count,
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
        partition by platform, comment_id order by source_file desc, source_row
    ) = 1
)

select * from deduplicated
