{#
    Which post themes and formats each persona responds to, one row per persona, aspect
    (`theme` or `format`) and item. A customer who has engaged on a platform is counted from
    the first post they engaged with there: each later post of the item on that platform,
    until the run's date, is an opportunity, and each such post they reacted to or commented
    on is an engagement (several comments on one post are one). The first post itself is
    left out, since it is engaged by definition: counted, it would favour whatever theme
    brought people in. `rate` is engagements per
    opportunity, `index` that rate against the persona's rate over all its items (above 1:
    they respond to it more than to their usual post), and `rank` orders the persona's items
    by rate. Customers the social accounts cannot be linked to are in no persona's figures.
#}
with personas as (
    select * from {{ ref('stg_ml__personas') }}
),

posts as (
    select * from {{ ref('fct_social_posts') }}
    where published_at < {{ end_of_as_of_date() }}
),

engagements as (
    select * from {{ ref('fct_social_engagements') }}
    where customer_key is not null and post_id is not null
        and engaged_at < {{ end_of_as_of_date() }}
),

engaged as (
    -- One row per customer and post they engaged with.
    select distinct customer_key, platform, post_id from engagements
),

engagers as (
    select personas.persona_id, engaged.customer_key, engaged.platform,
        min(posts.published_at) as since
    from engaged
    inner join personas using (customer_key)
    inner join posts using (platform, post_id)
    group by all
),

items as (
    select platform, post_id, published_at, 'theme' as aspect, theme as item from posts
    union all
    select platform, post_id, published_at, 'format', post_format from posts
    where post_format is not null
),

opportunities as (
    select
        engagers.persona_id,
        items.aspect,
        items.item,
        count(*) as opportunities,
        count(engaged.post_id) as engagements,
        count(distinct engagers.customer_key) as engagers
    from engagers
    inner join items
        on items.platform = engagers.platform
        and items.published_at > engagers.since
    left join engaged
        on engaged.customer_key = engagers.customer_key
        and engaged.platform = items.platform
        and engaged.post_id = items.post_id
    group by all
),

rated as (
    select
        *,
        engagements / opportunities as rate,
        (engagements / opportunities)
            / nullif(sum(engagements) over by_aspect / sum(opportunities) over by_aspect, 0)
            as rate_index
    from opportunities
    window by_aspect as (partition by persona_id, aspect)
),

final as (
    select
        cast(persona_id as integer) as persona_id,
        aspect,
        item,
        cast(engagers as integer) as engagers,
        cast(opportunities as integer) as opportunities,
        cast(engagements as integer) as engagements,
        round(rate, 4) as rate,
        round(rate_index, 3) as rate_index,
        cast(row_number() over (
            partition by persona_id, aspect order by rate desc, engagements desc, item
        ) as integer) as rank
    from rated
)

select * from final
