with activity as (
    select * from {{ ref('stg_mailchimp__email_activity') }}
),

campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
),

people as (
    select identifier as email, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type = 'email' and is_person
),

final as (
    select
        md5(concat_ws('|', activity.campaign_id, activity.email, activity.action,
                      activity.action_at, activity.url)) as email_event_id,
        people.customer_key,
        activity.email,
        activity.campaign_id,
        campaigns.campaign_title,
        campaigns.subject_line,
        campaigns.variant,
        campaigns.sent_at,
        activity.action,
        activity.action_at,
        activity.url
    from activity
    left join campaigns using (campaign_id)
    left join people using (email)
)

select * from final
