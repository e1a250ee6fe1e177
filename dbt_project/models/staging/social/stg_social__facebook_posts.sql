{#
    Facebook posts, one row each, with the lifetime totals of the newest export that holds
    them (an export restates the posts of its last days). The Graph API names a post
    `<page id>_<post id>`, as comments and reactions do.
#}
with source as (
    select * from {{ source('social', 'facebook_posts') }}
),

renamed as (
    select
        {{ clean_text('"Page ID"') }} || '_' || {{ clean_text('"Post ID"') }} as post_id,
        {{ clean_text('"Page ID"') }} as account_id,
        {{ clean_text('"Page name"') }} as account_name,
        {{ clean_text('"Title"') }} as title,
        {{ clean_text('"Description"') }} as caption,
        try_cast(trim("Duration (sec)") as integer) as duration_seconds,
        {{ utc_from_naive('"Publish time"', '%m/%d/%Y %H:%M', var('social_timezone')) }}
            as published_at,
        {{ clean_text('"Permalink"') }} as permalink,
        {{ clean_text('"Post type"') }} as post_type,
        try_cast(trim("Views") as bigint) as views,
        try_cast(trim("Reach") as bigint) as reach,
        try_cast(trim("Reactions") as bigint) as reactions,
        try_cast(trim("Comments") as bigint) as comments,
        try_cast(trim("Shares") as bigint) as shares,
        try_cast(trim("Total clicks") as bigint) as clicks,
        try_cast(trim("Link clicks") as bigint) as link_clicks,
        try_cast(trim("3-second video views") as bigint) as video_views,
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
