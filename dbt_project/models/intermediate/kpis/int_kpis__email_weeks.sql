{#
    The email channel's KPIs per ISO week of the campaigns' send time (UTC): one row per week
    with a campaign sent. Rates are over emails delivered (sent less bounced) and count people,
    not events: a reader who opens twice opened once. Opens include Apple Mail Privacy
    Protection's automatic ones (the export cannot tell them apart), so clicks are the firmer
    signal; kpis.yml says so beside the rate.
#}
with campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
    where sent_at is not null
),

events as (
    select * from {{ ref('fct_email_events') }}
),

people_per_campaign as (
    select
        campaign_id,
        count(distinct email) filter (where action = 'open') as openers,
        count(distinct email) filter (where action = 'click') as clickers,
        count(distinct email) filter (where action = 'bounce') as bounced,
        count(distinct email) filter (where action = 'unsubscribe') as unsubscribers
    from events
    group by campaign_id
),

weekly as (
    select
        cast(date_trunc('week', campaigns.sent_at at time zone 'UTC') as date) as week_start,
        sum(campaigns.emails_sent) as sends,
        sum(campaigns.emails_sent - coalesce(people.bounced, 0)) as delivered,
        sum(coalesce(people.openers, 0)) as openers,
        sum(coalesce(people.clickers, 0)) as clickers,
        sum(coalesce(people.unsubscribers, 0)) as unsubscribers
    from campaigns
    left join people_per_campaign as people using (campaign_id)
    group by 1
),

final as (
    select
        week_start,
        cast(sends as double) as email_sends,
        openers / nullif(delivered, 0) as email_open_rate,
        clickers / nullif(delivered, 0) as email_click_rate,
        unsubscribers / nullif(delivered, 0) as email_unsubscribe_rate
    from weekly
)

select * from final
