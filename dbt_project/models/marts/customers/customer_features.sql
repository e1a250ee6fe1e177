{#
    Point-in-time features: for each cutoff date, only what was known by the end of that day.
    The scoring run uses the newest cutoff; training uses older ones whose outcome is known.
    Every row is dated and placed against the cutoff: orders by when they were placed, and
    cancelled only from when they were cancelled (an order cancelled after a cutoff was a
    purchase at it), refunds, email events, sessions and answers by their own time.
    What is not dated is not used (Shopify's refunds; the CRM's current lifecycle stage).
    Social reactions, comments and messages count by when they were left.
    Identity resolution is the one exception, by design: see the YAML description.
#}
with purchases as (
    -- Orders with something bought, each with when (if ever) it was cancelled; which of them
    -- were purchases is decided per cutoff below, as fct_orders.is_purchase decides it for
    -- the run's date. Money is in the reporting currency (fct_orders' `_reporting` twins): an
    -- order whose currency has no rate on its date has none, and is left out of every sum.
    select
        customer_key,
        ordered_at,
        order_date,
        cancelled_at,
        amount_reporting as amount,
        discount_amount > 0 as is_discounted
    from {{ ref('fct_orders') }}
    where has_purchase_lines and not is_guest
),

refunds as (
    -- A refund counts from the day it happened, as revenue given back. Only refunds the
    -- export dates (a generic file's return lines and credit notes) can be placed before or
    -- after a cutoff; Shopify's export does not date them, so they are left out: one could be
    -- news after the cutoff.
    select customer_key, refunded_at, refunded_amount_reporting as refunded_amount, cancelled_at
    from {{ ref('fct_orders') }}
    where not is_guest and refunded_at is not null
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

email_events as (
    select customer_key, action, action_at from {{ ref('fct_email_events') }}
    where customer_key is not null
),

sessions as (
    select customer_key, session_started_at, channel from {{ ref('fct_sessions') }}
    where customer_key is not null
),

responses as (
    select customer_key, response_id, submitted_at, nps_score
    from {{ ref('fct_survey_responses') }}
    where customer_key is not null and nps_score is not null
),

social as (
    -- Reactions, comments and messages of people identity linked to a customer; an author
    -- nothing links keeps no customer and counts for nobody.
    select customer_key, engagement_type, engaged_at, sentiment
    from {{ ref('fct_social_engagements') }}
    where customer_key is not null
),

lines as (
    select customer_key, ordered_at, cancelled_at, category from {{ ref('fct_order_lines') }}
    where not is_return and not is_guest
),

cutoffs as (
    select
        cast(date '{{ as_of_date() }}' - cast(k * {{ var("feature_step_days") }} as integer)
            as date) as as_of_date
    from range(0, {{ var("feature_cutoffs") }}) as t(k)
),

cutoff_times as (
    select as_of_date, (cast(as_of_date + 1 as timestamp) at time zone 'UTC') as cutoff_at
    from cutoffs
),

known_orders as (
    select cutoff_times.as_of_date, cutoff_times.cutoff_at, purchases.*
    from cutoff_times
    inner join purchases
        on purchases.ordered_at < cutoff_times.cutoff_at
        and coalesce(purchases.cancelled_at >= cutoff_times.cutoff_at, true)
),

known_refunds as (
    select
        cutoff_times.as_of_date,
        refunds.customer_key,
        sum(refunded_amount) as refunded,
        sum(refunded_amount) filter (where refunded_at >= cutoff_at - interval 90 day)
            as refunded_90d,
        sum(refunded_amount) filter (where refunded_at >= cutoff_at - interval 365 day)
            as refunded_365d
    from cutoff_times
    inner join refunds
        on refunds.refunded_at < cutoff_times.cutoff_at
        and coalesce(refunds.cancelled_at >= cutoff_times.cutoff_at, true)
    group by cutoff_times.as_of_date, refunds.customer_key
),

known_purchase_days as (
    -- Purchases, as buy-till-you-die models count them: a customer's orders of one (UTC) day
    -- are one purchase, as fct_purchases has them for the run's date: no amount when one of
    -- the day's orders has none (never part of a day).
    select
        as_of_date, customer_key, order_date,
        case when count(amount) = count(*) then sum(amount) end as amount
    from known_orders
    group by all
),

purchase_day_features as (
    -- Repeat purchases are all but the first: what Gamma-Gamma averages; only when every
    -- purchase has an amount in the reporting currency.
    select
        as_of_date,
        customer_key,
        count(*) as purchase_days,
        case when count(*) > 1 and count(amount) = count(*)
            then (sum(amount) - arg_min(amount, order_date)) / (count(*) - 1)
        end as repeat_order_value
    from known_purchase_days
    group by all
),

order_features as (
    -- Revenue is what the purchases brought in less the refunds known by the cutoff.
    select
        known.as_of_date,
        known.customer_key,
        count(*) as orders_count,
        count(amount) as priced_orders,
        sum(amount) - coalesce(any_value(refunded), 0) as revenue,
        date_diff('day', cast(max(ordered_at) as date), known.as_of_date) as days_since_last_order,
        date_diff('day', cast(min(ordered_at) as date), known.as_of_date) as tenure_days,
        count(*) filter (where ordered_at >= cutoff_at - interval 30 day) as orders_30d,
        count(*) filter (where ordered_at >= cutoff_at - interval 90 day) as orders_90d,
        count(*) filter (where ordered_at >= cutoff_at - interval 365 day) as orders_365d,
        coalesce(sum(amount) filter (where ordered_at >= cutoff_at - interval 90 day), 0)
            - coalesce(any_value(refunded_90d), 0) as revenue_90d,
        coalesce(sum(amount) filter (where ordered_at >= cutoff_at - interval 365 day), 0)
            - coalesce(any_value(refunded_365d), 0) as revenue_365d,
        case when count(*) > 1
            then date_diff('day', min(ordered_at), max(ordered_at)) / (count(*) - 1)
        end as avg_days_between_orders,
        avg(is_discounted::integer) as discounted_order_share
    from known_orders as known
    left join known_refunds using (as_of_date, customer_key)
    group by known.as_of_date, known.customer_key
),

email_status as (
    -- Subscribed at the cutoff: opted in before it and not unsubscribed or cleaned by then.
    select
        cutoff_times.as_of_date,
        identifiers.customer_key,
        bool_or(
            members.status <> 'nonsubscribed'
            and members.opted_in_at < cutoff_times.cutoff_at
            and coalesce(members.unsubscribed_at >= cutoff_times.cutoff_at, true)
            and coalesce(members.cleaned_at >= cutoff_times.cutoff_at, true)
        ) as is_email_subscribed
    from members
    inner join identifiers
        on identifiers.identifier_type = 'email' and identifiers.identifier = members.email
    cross join cutoff_times
    group by cutoff_times.as_of_date, identifiers.customer_key
),

email_features as (
    select
        cutoff_times.as_of_date,
        email_events.customer_key,
        count(*) filter (where action = 'open' and action_at >= cutoff_at - interval 90 day)
            as email_opens_90d,
        count(*) filter (where action = 'click' and action_at >= cutoff_at - interval 90 day)
            as email_clicks_90d,
        bool_or(action = 'unsubscribe') as has_unsubscribed
    from cutoff_times
    inner join email_events on email_events.action_at < cutoff_times.cutoff_at
    group by cutoff_times.as_of_date, cutoff_times.cutoff_at, email_events.customer_key
),

web_features as (
    select
        cutoff_times.as_of_date,
        sessions.customer_key,
        count(*) filter (where session_started_at >= cutoff_at - interval 30 day) as sessions_30d,
        count(*) filter (where session_started_at >= cutoff_at - interval 90 day) as sessions_90d,
        count(*) filter (where session_started_at >= cutoff_at - interval 90 day
            and channel in ('paid_social', 'paid_search')) as ad_sessions_90d,
        date_diff('day', cast(max(session_started_at) as date), cutoff_times.as_of_date)
            as days_since_last_session
    from cutoff_times
    inner join sessions on sessions.session_started_at < cutoff_times.cutoff_at
    group by cutoff_times.as_of_date, cutoff_times.cutoff_at, sessions.customer_key
),

survey_features as (
    select
        cutoff_times.as_of_date,
        responses.customer_key,
        arg_max(responses.nps_score, (responses.submitted_at, responses.response_id)) as nps_score
    from cutoff_times
    inner join responses on responses.submitted_at < cutoff_times.cutoff_at
    group by all
),

social_features as (
    -- A text is negative as pipelines.text labels it (VADER's own threshold); reactions have
    -- no text and count in no share.
    select
        cutoff_times.as_of_date,
        social.customer_key,
        count(*) filter (where engagement_type in ('reaction', 'comment')
            and engaged_at >= cutoff_at - interval 90 day) as social_engagements_90d,
        count(*) filter (where engagement_type = 'message'
            and engaged_at >= cutoff_at - interval 90 day) as social_messages_90d,
        date_diff('day', cast(max(engaged_at) as date), cutoff_times.as_of_date)
            as days_since_last_social,
        count(*) filter (where {{ sentiment_label('sentiment') }} = 'negative'
            and engaged_at >= cutoff_at - interval 180 day)
            / nullif(count(sentiment) filter (where engaged_at >= cutoff_at - interval 180 day), 0)
            as social_negative_share_180d
    from cutoff_times
    inner join social on social.engaged_at < cutoff_times.cutoff_at
    group by cutoff_times.as_of_date, cutoff_times.cutoff_at, social.customer_key
),

category_features as (
    select
        cutoff_times.as_of_date,
        lines.customer_key,
        count(distinct lines.category) as categories_bought
    from cutoff_times
    inner join lines
        on lines.ordered_at < cutoff_times.cutoff_at
        and coalesce(lines.cancelled_at >= cutoff_times.cutoff_at, true)
    group by all
),

final as (
    select
        order_features.customer_key,
        order_features.as_of_date,
        cast(order_features.orders_count as integer) as orders_count,
        cast(purchase_day_features.purchase_days as integer) as purchase_days,
        cast(order_features.revenue as double) as revenue,
        cast(order_features.revenue / nullif(order_features.priced_orders, 0) as double)
            as avg_order_value,
        cast(order_features.days_since_last_order as integer) as days_since_last_order,
        cast(order_features.tenure_days as integer) as tenure_days,
        cast(order_features.orders_30d as integer) as orders_30d,
        cast(order_features.orders_90d as integer) as orders_90d,
        cast(order_features.orders_365d as integer) as orders_365d,
        cast(order_features.revenue_90d as double) as revenue_90d,
        cast(order_features.revenue_365d as double) as revenue_365d,
        cast(order_features.avg_days_between_orders as double) as avg_days_between_orders,
        cast(purchase_day_features.repeat_order_value as double) as repeat_order_value,
        coalesce(email_status.is_email_subscribed, false) as is_email_subscribed,
        cast(order_features.discounted_order_share as double) as discounted_order_share,
        cast(coalesce(category_features.categories_bought, 0) as integer) as categories_bought,
        cast(coalesce(email_features.email_opens_90d, 0) as integer) as email_opens_90d,
        cast(coalesce(email_features.email_clicks_90d, 0) as integer) as email_clicks_90d,
        coalesce(email_features.has_unsubscribed, false) as has_unsubscribed,
        cast(coalesce(web_features.sessions_30d, 0) as integer) as sessions_30d,
        cast(coalesce(web_features.sessions_90d, 0) as integer) as sessions_90d,
        cast(coalesce(web_features.ad_sessions_90d, 0) as integer) as ad_sessions_90d,
        cast(web_features.days_since_last_session as integer) as days_since_last_session,
        cast(survey_features.nps_score as integer) as nps_score,
        cast(coalesce(social_features.social_engagements_90d, 0) as integer)
            as social_engagements_90d,
        cast(coalesce(social_features.social_messages_90d, 0) as integer) as social_messages_90d,
        cast(social_features.days_since_last_social as integer) as days_since_last_social,
        cast(social_features.social_negative_share_180d as double) as social_negative_share_180d
    from order_features
    inner join purchase_day_features using (as_of_date, customer_key)
    left join email_status using (as_of_date, customer_key)
    left join email_features using (as_of_date, customer_key)
    left join web_features using (as_of_date, customer_key)
    left join survey_features using (as_of_date, customer_key)
    left join category_features using (as_of_date, customer_key)
    left join social_features using (as_of_date, customer_key)
)

select * from final
