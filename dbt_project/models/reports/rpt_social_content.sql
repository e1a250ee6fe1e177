{#
    What works on each platform, over every post up to the run's date: one row per platform,
    aspect (`theme`, `format`, or `hour`: the local hour it went out, var `social_timezone`)
    and item, with the posts, the people they reached and their engagements. `engagement_rate`
    is engagements per person reached over the item's posts together (a post that reached
    many weighs more), `rate_index` that rate against the platform's, and `rank` orders the
    items of an aspect by rate among those with at least `social_min_posts` posts (fewer say
    too little; ranked last).
#}
with posts as (
    select * from {{ ref('fct_social_posts') }}
    where published_at < {{ end_of_as_of_date() }} and reach > 0
),

items as (
    select platform, 'theme' as aspect, theme as item, reach, engagements from posts
    union all
    select platform, 'format', post_format, reach, engagements from posts
    where post_format is not null
    union all
    select platform, 'hour', lpad(cast(published_hour_local as varchar), 2, '0'), reach,
        engagements
    from posts
),

totals as (
    select
        platform, aspect, item,
        count(*) as posts,
        sum(reach) as reach,
        sum(engagements) as engagements
    from items
    group by all
),

final as (
    select
        platform,
        aspect,
        item,
        cast(posts as integer) as posts,
        cast(reach as bigint) as reach,
        cast(engagements as bigint) as engagements,
        round(engagements / reach, 4) as engagement_rate,
        round((engagements / reach)
            / (sum(engagements) over by_aspect / sum(reach) over by_aspect), 3) as rate_index,
        cast(row_number() over (
            partition by platform, aspect
            order by posts >= {{ var('social_min_posts') }} desc, engagements / reach desc, item
        ) as integer) as rank
    from totals
    window by_aspect as (partition by platform, aspect)
)

select * from final
