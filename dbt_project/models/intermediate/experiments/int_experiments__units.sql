{#
    Every unit of the pipeline's own holdout experiments with the outcomes of issue 31's
    contract, over (entered_on, entered_on + outcome_days] in UTC dates: orders (purchases, not
    cancelled), revenue (their value less refunds, in the reporting currency), churned (no such
    order) and email clicks; and the same measures over (entered_on - 90, entered_on], the
    pre-period covariates the readout's CUPED adjustment uses. A window that has not ended by
    the run's date is partial: is_complete says so, and the readout counts only complete ones.
#}
with assignments as (
    select * from {{ ref('stg_ml__experiment_assignments') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

person_orders as (
    select
        customer_key,
        order_date,
        case when is_purchase then 1 else 0 end as purchases,
        coalesce(amount_reporting, 0) - coalesce(refunded_amount_reporting, 0) as net_value
    from orders
    where customer_key is not null and not is_cancelled
),

person_clicks as (
    select customer_key, cast(action_at as date) as click_date
    from email_events
    where action = 'click' and customer_key is not null
),

windows as (
    select
        *,
        entered_on + outcome_days as window_ends_on,
        entered_on - 90 as pre_starts_on
    from assignments
),

order_outcomes as (
    select
        windows.experiment_id,
        windows.customer_key,
        coalesce(sum(person_orders.purchases) filter (
            where person_orders.order_date > windows.entered_on
              and person_orders.order_date <= windows.window_ends_on), 0) as orders,
        coalesce(sum(person_orders.net_value) filter (
            where person_orders.order_date > windows.entered_on
              and person_orders.order_date <= windows.window_ends_on), 0) as revenue,
        coalesce(sum(person_orders.purchases) filter (
            where person_orders.order_date > windows.pre_starts_on
              and person_orders.order_date <= windows.entered_on), 0) as pre_orders,
        coalesce(sum(person_orders.net_value) filter (
            where person_orders.order_date > windows.pre_starts_on
              and person_orders.order_date <= windows.entered_on), 0) as pre_revenue
    from windows
    left join person_orders
        on person_orders.customer_key = windows.customer_key
        and person_orders.order_date > windows.pre_starts_on
        and person_orders.order_date <= windows.window_ends_on
    group by windows.experiment_id, windows.customer_key
),

click_outcomes as (
    select
        windows.experiment_id,
        windows.customer_key,
        count(person_clicks.click_date) filter (
            where person_clicks.click_date > windows.entered_on
              and person_clicks.click_date <= windows.window_ends_on) as email_clicks,
        count(person_clicks.click_date) filter (
            where person_clicks.click_date > windows.pre_starts_on
              and person_clicks.click_date <= windows.entered_on) as pre_email_clicks
    from windows
    left join person_clicks
        on person_clicks.customer_key = windows.customer_key
        and person_clicks.click_date > windows.pre_starts_on
        and person_clicks.click_date <= windows.window_ends_on
    group by windows.experiment_id, windows.customer_key
),

final as (
    select
        windows.experiment_id,
        windows.experiment,
        windows.audience,
        windows.customer_key,
        windows.arm,
        windows.holdout_share,
        windows.outcome_days,
        windows.entered_on,
        windows.window_ends_on,
        windows.window_ends_on <= date '{{ as_of_date() }}' as is_complete,
        windows.left_on,
        windows.left_reason,
        cast(order_outcomes.orders as integer) as orders,
        cast(order_outcomes.revenue as decimal(18, 2)) as revenue,
        case when order_outcomes.orders = 0 then 1 else 0 end as churned,
        cast(click_outcomes.email_clicks as integer) as email_clicks,
        cast(order_outcomes.pre_orders as integer) as pre_orders,
        cast(order_outcomes.pre_revenue as decimal(18, 2)) as pre_revenue,
        case when order_outcomes.pre_orders = 0 then 1 else 0 end as pre_churned,
        cast(click_outcomes.pre_email_clicks as integer) as pre_email_clicks
    from windows
    left join order_outcomes using (experiment_id, customer_key)
    left join click_outcomes using (experiment_id, customer_key)
)

select * from final
