{#
    Email by the local time a campaign reached its readers: one row per campaign (each A/B
    variant is its own campaign) and local weekday and hour of the send in the recipient's time
    zone. A campaign sent at 14:00 UTC lands at 09:00 in New York and 15:00 in Paris, so one
    send spreads over several local hours.
    The export says how many a campaign was sent to (emails_sent), not who: its sends are
    split over local hours in proportion to the audience members who had opted in by the send
    and had not left (unsubscribed or cleaned) before it. Opens and clicks count people, as
    the email KPIs do (a reader who opens twice opened once), each at the send's local hour in
    the reader's own time zone. Members whose time zone is unknown (or not an IANA name), and
    readers missing from the audience export, fall in the row with no weekday and hour, so a
    campaign's rows add up to its sends, openers and clickers.
#}
with campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
    where sent_at is not null
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

events as (
    select * from {{ ref('fct_email_events') }}
    where action in ('open', 'click')
),

known_zones as (
    select name as timezone from pg_timezone_names()
),

member_zones as (
    select
        members.email,
        members.status,
        members.opted_in_at,
        coalesce(members.unsubscribed_at, members.cleaned_at) as left_at,
        known_zones.timezone
    from members
    left join known_zones on known_zones.timezone = members.timezone
),

audience as (
    -- Who could have received each campaign: opted in by the send and not gone before it.
    select
        campaigns.campaign_id,
        isodow(campaigns.sent_at at time zone member_zones.timezone) as local_send_weekday,
        hour(campaigns.sent_at at time zone member_zones.timezone) as local_send_hour,
        count(*) as members
    from campaigns
    inner join member_zones
        on member_zones.opted_in_at <= campaigns.sent_at
        and (member_zones.left_at is null or member_zones.left_at > campaigns.sent_at)
        and member_zones.status <> 'nonsubscribed'
    group by 1, 2, 3
),

sends as (
    select
        campaigns.campaign_id,
        audience.local_send_weekday,
        audience.local_send_hour,
        -- A campaign with no audience in the export keeps all its sends, at no known hour.
        campaigns.emails_sent * coalesce(
            audience.members / sum(audience.members) over (partition by campaigns.campaign_id),
            1.0
        ) as sends
    from campaigns
    left join audience using (campaign_id)
),

readers as (
    select
        campaign_id,
        email,
        bool_or(action = 'open') as opened,
        bool_or(action = 'click') as clicked
    from events
    group by 1, 2
),

reads as (
    select
        readers.campaign_id,
        isodow(campaigns.sent_at at time zone member_zones.timezone) as local_send_weekday,
        hour(campaigns.sent_at at time zone member_zones.timezone) as local_send_hour,
        count(*) filter (where readers.opened) as opens,
        count(*) filter (where readers.clicked) as clicks
    from readers
    inner join campaigns using (campaign_id)
    left join member_zones using (email)
    group by 1, 2, 3
),

hours as (
    select
        coalesce(sends.campaign_id, reads.campaign_id) as campaign_id,
        coalesce(sends.local_send_weekday, reads.local_send_weekday) as local_send_weekday,
        coalesce(sends.local_send_hour, reads.local_send_hour) as local_send_hour,
        coalesce(sends.sends, 0) as sends,
        coalesce(reads.opens, 0) as opens,
        coalesce(reads.clicks, 0) as clicks
    from sends
    full outer join reads
        on reads.campaign_id = sends.campaign_id
        and reads.local_send_weekday is not distinct from sends.local_send_weekday
        and reads.local_send_hour is not distinct from sends.local_send_hour
),

final as (
    select
        hours.campaign_id,
        campaigns.campaign_title,
        campaigns.variant,
        campaigns.sent_at,
        cast(hours.local_send_weekday as integer) as local_send_weekday,
        cast(hours.local_send_hour as integer) as local_send_hour,
        cast(hours.sends as double) as sends,
        cast(hours.opens as integer) as opens,
        cast(hours.clicks as integer) as clicks
    from hours
    inner join campaigns using (campaign_id)
)

select * from final
