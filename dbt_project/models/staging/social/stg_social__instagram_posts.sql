{#
    Instagram posts, one row each, with the lifetime totals of the newest export that holds
    them. `post_id` is the media id, as the Graph API's comments name it.
#}
with source as (
    select * from {{ source('social', 'instagram_posts') }}
),

renamed as (
    select
        {{ clean_text('"Post ID"') }} as post_id,
        {{ clean_text('"Account ID"') }} as account_id,
        {{ clean_text('"Account username"') }} as account_name,
        {{ clean_text('"Description"') }} as caption,
        try_cast(trim("Duration (sec)") as integer) as duration_seconds,
        {{ utc_from_naive('"Publish time"', '%m/%d/%Y %H:%M', var('social_timezone')) }}
            as published_at,
        {{ clean_text('"Permalink"') }} as permalink,
        {{ clean_text('"Post type"') }} as post_type,
        try_cast(trim("Views") as bigint) as views,
        try_cast(trim("Reach") as bigint) as reach,
        try_cast(trim("Likes") as bigint) as likes,
        try_cast(trim("Comments") as bigint) as comments,
        try_cast(trim("Shares") as bigint) as shares,
        try_cast(trim("Saves") as bigint) as saves,
        try_cast(trim("Follows") as bigint) as follows,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row
    from source
),

latest_export as (
    select *
    from renamed
    qualify row_number() over (
        partition by post_id order by export_date desc nulls last, source_file desc, source_row
    ) = 1
)

select * from latest_export
