{#
    One row per Facebook or Instagram post: when it went out (UTC, and the hour in the Page's
    time zone, for posting hours), its format and theme, and its lifetime totals as of the
    newest export. `engagement_rate` is engagements per person reached.
#}
with posts as (
    select * from {{ ref('int_social__posts') }}
),

final as (
    select
        platform,
        post_id,
        account_id,
        published_at,
        cast(extract(hour from published_at at time zone '{{ var("social_timezone") }}')
             as integer) as published_hour_local,
        post_format,
        theme,
        hashtags,
        caption,
        views,
        reach,
        reactions,
        comments,
        shares,
        saves,
        clicks,
        link_clicks,
        engagements,
        engagements / nullif(reach, 0) as engagement_rate,
        permalink
    from posts
)

select * from final
