{#
    What people did on the Page and the account, one row each: a Facebook reaction, a comment
    (either platform) or a message a person sent (the Page's replies are left out). A person
    is their platform's user id; `customer_email` and `customer_hubspot_record_id` are the
    shop inbox's link of that person to a customer, where it made one.
#}
with reactions as (
    select * from {{ ref('stg_social__reactions') }}
),

comments as (
    select * from {{ ref('stg_social__comments') }}
),

messages as (
    select * from {{ ref('stg_social__messages') }}
),

accounts as (
    select distinct account_id from {{ ref('stg_social__facebook_posts') }}
    union
    select distinct account_id from {{ ref('stg_social__instagram_posts') }}
),

engagements as (
    select
        'reaction:' || post_id || ':' || social_user_id as engagement_id,
        'facebook' as platform,
        'reaction' as engagement_type,
        post_id,
        social_user_id,
        author_name,
        cast(null as varchar) as author_username,
        reacted_at as engaged_at,
        reaction_type,
        cast(null as varchar) as engagement_text,
        cast(null as varchar) as customer_email,
        cast(null as varchar) as customer_hubspot_record_id
    from reactions
    where social_user_id is not null
    union all
    select
        'comment:' || platform || ':' || comment_id, platform, 'comment', post_id,
        social_user_id, author_name, author_username, commented_at, null, comment_text,
        customer_email, customer_hubspot_record_id
    from comments
    where social_user_id is not null
    union all
    select
        'message:' || platform || ':' || message_id, platform, 'message', null,
        social_user_id, author_name, author_username, sent_at, null, message_text,
        customer_email, customer_hubspot_record_id
    from messages
    where social_user_id is not null
),

final as (
    -- The Page's own replies and comments are not a person's engagement.
    select * from engagements
    where social_user_id not in (select account_id from accounts where account_id is not null)
)

select * from final
