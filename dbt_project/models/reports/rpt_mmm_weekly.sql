{#
    A weekly table fit for media-mix modelling (PyMC-Marketing's MMM, Meridian): one row per
    week and channel. Paid: Meta Ads spend, impressions, clicks and its reconciled conversions
    and value (fct_ad_conversions). Owned: email sends, opens as impressions, clicks; email
    has no spend and no credited conversions (what it brings is for the model to find). Every
    row carries the week's shop orders and revenue (the model's outcome) and the controls:
    a trend (weeks since the first) and the season (the week's position in the year as sine
    and cosine).
#}
with ad_days as (
    select * from {{ ref('fct_ad_conversions') }}
),

campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

paid as (
    select
        cast(date_trunc('week', date_day) as date) as week_start,
        'meta_ads' as channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        cast(0 as bigint) as sends,
        sum(reconciled_purchases + reconciled_leads) as conversions,
        sum(reconciled_value) as revenue
    from ad_days
    group by 1
),

sends as (
    select
        cast(date_trunc('week', sent_at) as date) as week_start,
        sum(emails_sent) as sends
    from campaigns
    where sent_at is not null
    group by 1
),

email_actions as (
    select
        cast(date_trunc('week', sent_at) as date) as week_start,
        count(*) filter (where action = 'open') as opens,
        count(*) filter (where action = 'click') as clicks
    from email_events
    where sent_at is not null
    group by 1
),

email as (
    select
        sends.week_start,
        'email' as channel,
        cast(0 as decimal(18, 2)) as spend,
        coalesce(email_actions.opens, 0) as impressions,
        coalesce(email_actions.clicks, 0) as clicks,
        cast(sends.sends as bigint) as sends,
        cast(null as double) as conversions,
        cast(null as decimal(18, 2)) as revenue
    from sends
    left join email_actions using (week_start)
),

shop as (
    select
        cast(date_trunc('week', order_date) as date) as week_start,
        count(*) filter (where is_purchase and not is_cancelled) as shop_orders,
        sum(amount - refunded_amount) filter (where not is_cancelled) as shop_revenue
    from orders
    group by 1
),

channels as (
    select * from paid
    union all
    select * from email
),

weeks as (
    select week_start from shop
    union
    select week_start from channels
),

first_week as (
    select min(week_start) as first_week_start from weeks
),

final as (
    select
        channels.week_start,
        channels.channel,
        cast(channels.spend as decimal(18, 2)) as spend,
        cast(channels.impressions as bigint) as impressions,
        cast(channels.clicks as bigint) as clicks,
        cast(channels.sends as bigint) as sends,
        cast(channels.conversions as double) as conversions,
        cast(channels.revenue as decimal(18, 2)) as revenue,
        cast(coalesce(shop.shop_orders, 0) as bigint) as shop_orders,
        cast(coalesce(shop.shop_revenue, 0) as decimal(18, 2)) as shop_revenue,
        cast(date_diff('day', first_week.first_week_start, channels.week_start) / 7 as integer)
            as trend,
        sin(2 * pi() * dayofyear(channels.week_start) / 365.25) as season_sin,
        cos(2 * pi() * dayofyear(channels.week_start) / 365.25) as season_cos
    from channels
    cross join first_week
    left join shop using (week_start)
)

select * from final
