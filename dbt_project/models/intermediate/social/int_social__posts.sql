{#
    Facebook and Instagram posts in one shape: one format vocabulary, Instagram's likes as
    reactions, and the post's theme (var `social_themes`: the content pillar whose words its
    caption and hashtags use most, `other` when none; ties go to the first listed).
    `engagements` counts the interactions both platforms report (reactions, comments,
    shares, saves); clicks stay apart, since Instagram reports none.
#}
with facebook as (
    select * from {{ ref('stg_social__facebook_posts') }}
),

instagram as (
    select * from {{ ref('stg_social__instagram_posts') }}
),

posts as (
    select
        'facebook' as platform, post_id, account_id, published_at, caption,
        case post_type
            when 'Photos' then 'photo' when 'Videos' then 'video' when 'Reels' then 'reel'
            when 'Links' then 'link' when 'Text' then 'text' else lower(post_type)
        end as post_format,
        views, reach, reactions, comments, shares, cast(null as bigint) as saves, clicks,
        link_clicks, permalink
    from facebook
    union all
    select
        'instagram', post_id, account_id, published_at, caption,
        case post_type
            when 'IG image' then 'photo' when 'IG carousel' then 'carousel'
            when 'IG reel' then 'reel' when 'IG video' then 'video'
            else lower(regexp_replace(post_type, '^IG ', ''))
        end,
        views, reach, likes, comments, shares, saves, null, null, permalink
    from instagram
),

themes as (
    select theme, word, ordinal
    from (
        select * from (values
        {%- for theme, words in var('social_themes').items() %}
            ('{{ theme }}', {{ loop.index }}, [{% for w in words %}'{{ w | lower }}'{{ ", " if not loop.last }}{% endfor %}]){{ "," if not loop.last }}
        {%- endfor %}
        ) as t(theme, ordinal, words)
    ), unnest(words) as w(word)
),

words as (
    -- A hashtag is the shop's own label of the post, so it outweighs any plain word: `#howto`
    -- is the word `howto`, tagged.
    select platform, post_id, ltrim(token, '#') as word, starts_with(token, '#') as is_tag
    from (
        select platform, post_id,
            unnest(regexp_extract_all(lower(caption), '#?[\p{L}\p{N}]+')) as token
        from posts
    )
),

hits as (
    select
        words.platform, words.post_id, themes.theme, themes.ordinal,
        count(*) filter (where words.is_tag) as tag_hits,
        count(*) as hits
    from words
    inner join themes using (word)
    group by words.platform, words.post_id, themes.theme, themes.ordinal
),

scored as (
    select platform, post_id, theme
    from hits
    qualify row_number() over (
        partition by platform, post_id order by tag_hits desc, hits desc, ordinal
    ) = 1
),

final as (
    select
        posts.platform,
        posts.post_id,
        posts.account_id,
        posts.published_at,
        posts.post_format,
        coalesce(scored.theme, 'other') as theme,
        regexp_extract_all(lower(posts.caption), '#([\p{L}\p{N}_]+)', 1) as hashtags,
        posts.caption,
        posts.views,
        posts.reach,
        posts.reactions,
        posts.comments,
        posts.shares,
        posts.saves,
        posts.clicks,
        posts.link_clicks,
        coalesce(posts.reactions, 0) + coalesce(posts.comments, 0) + coalesce(posts.shares, 0)
            + coalesce(posts.saves, 0) as engagements,
        posts.permalink
    from posts
    left join scored using (platform, post_id)
)

select * from final
