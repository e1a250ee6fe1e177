{#
    One row per reaction, comment or message a person left on the Page or the account, with
    the customer behind them where identity resolution found one: through the shop inbox's
    link to an email or CRM contact, or another record that shows the same social user. An
    author nothing links to a customer keeps a null customer_key: never guessed.
#}
with engagements as (
    select * from {{ ref('int_social__engagements') }}
),

posts as (
    select platform, post_id, theme, post_format from {{ ref('int_social__posts') }}
),

people as (
    select identifier_type, identifier, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type in ('facebook_user_id', 'instagram_user_id') and is_person
),

final as (
    select
        engagements.engagement_id,
        engagements.platform,
        engagements.engagement_type,
        engagements.post_id,
        posts.theme as post_theme,
        posts.post_format,
        engagements.social_user_id,
        people.customer_key,
        engagements.engaged_at,
        engagements.reaction_type,
        engagements.engagement_text,
        {{ sentiment('engagements.engagement_text') }} as sentiment
    from engagements
    left join posts using (platform, post_id)
    left join people
        on people.identifier_type = engagements.platform || '_user_id'
        and people.identifier = engagements.social_user_id
)

select * from final
