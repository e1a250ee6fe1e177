{#
    Point-in-time features: for each cutoff date, only what was known by the end of that day.
    The scoring run uses the newest cutoff; training uses older ones whose outcome is known.
#}
with orders as (
    select
        customer_key,
        ordered_at,
        amount - refunded_amount as amount
    from {{ ref('fct_orders') }}
    where not is_cancelled
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

cutoffs as (
    select
        cast(date '{{ var("as_of_date") }}' - cast(k * {{ var("feature_step_days") }} as integer)
            as date) as as_of_date
    from range(0, {{ var("feature_cutoffs") }}) as t(k)
),

cutoff_times as (
    select as_of_date, (cast(as_of_date + 1 as timestamp) at time zone 'UTC') as cutoff_at
    from cutoffs
),

known_orders as (
    select cutoff_times.as_of_date, cutoff_times.cutoff_at, orders.*
    from cutoff_times
    inner join orders on orders.ordered_at < cutoff_times.cutoff_at
),

order_features as (
    select
        as_of_date,
        customer_key,
        count(*) as orders_count,
        sum(amount) as revenue,
        sum(amount) / count(*) as avg_order_value,
        date_diff('day', cast(max(ordered_at) as date), as_of_date) as days_since_last_order,
        date_diff('day', cast(min(ordered_at) as date), as_of_date) as tenure_days,
        count(*) filter (where ordered_at >= cutoff_at - interval 30 day) as orders_30d,
        count(*) filter (where ordered_at >= cutoff_at - interval 90 day) as orders_90d,
        count(*) filter (where ordered_at >= cutoff_at - interval 365 day) as orders_365d,
        coalesce(sum(amount) filter (where ordered_at >= cutoff_at - interval 90 day), 0)
            as revenue_90d,
        coalesce(sum(amount) filter (where ordered_at >= cutoff_at - interval 365 day), 0)
            as revenue_365d,
        case when count(*) > 1
            then date_diff('day', min(ordered_at), max(ordered_at)) / (count(*) - 1)
        end as avg_days_between_orders
    from known_orders
    group by as_of_date, customer_key
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

final as (
    select
        order_features.customer_key,
        order_features.as_of_date,
        cast(order_features.orders_count as integer) as orders_count,
        cast(order_features.revenue as double) as revenue,
        cast(order_features.avg_order_value as double) as avg_order_value,
        cast(order_features.days_since_last_order as integer) as days_since_last_order,
        cast(order_features.tenure_days as integer) as tenure_days,
        cast(order_features.orders_30d as integer) as orders_30d,
        cast(order_features.orders_90d as integer) as orders_90d,
        cast(order_features.orders_365d as integer) as orders_365d,
        cast(order_features.revenue_90d as double) as revenue_90d,
        cast(order_features.revenue_365d as double) as revenue_365d,
        cast(order_features.avg_days_between_orders as double) as avg_days_between_orders,
        coalesce(email_status.is_email_subscribed, false) as is_email_subscribed
    from order_features
    left join email_status using (as_of_date, customer_key)
)

select * from final
