{#
    The whole shop's KPIs per ISO week (UTC order days): one row per week with an order, up to
    the run's date. Orders are the customers' purchases that were not cancelled (guest
    checkouts name nobody, so they cannot repeat or be retained). Retention compares two
    12-week windows, the latter ending with the week; it is null until the shop's history
    covers the earlier window. LTV:CAC divides the week's new customers' mean predicted
    next-year value (the LTV model, as scored on the run's date) by the blended acquisition
    cost (Meta spend that week / the week's new customers). New customers first ordered in
    the week; returning customers ordered in it and in an earlier week (rpt_weekly_kpis shows
    both; the worksheet lists only the KPIs kpis.yml names).
#}
with orders as (
    select customer_key, order_date
    from {{ ref('fct_orders') }}
    where is_purchase and not is_cancelled and customer_key is not null
        and order_date <= date '{{ as_of_date() }}'
),

ltv as (
    select * from {{ ref('stg_ml__ltv') }}
),

spend as (
    select
        cast(date_trunc('week', date_day) as date) as week_start,
        sum(spend) as spend
    from {{ ref('stg_meta_ads__insights') }}
    group by 1
),

responses as (
    select * from {{ ref('fct_survey_responses') }}
    where nps_score is not null and submitted_at < {{ end_of_as_of_date() }}
),

customer_weeks as (
    select distinct
        customer_key,
        cast(date_trunc('week', order_date) as date) as week_start
    from orders
),

first_weeks as (
    select customer_key, min(week_start) as first_week
    from customer_weeks
    group by customer_key
),

weeks as (
    select week_start from customer_weeks
    union
    select cast(date_trunc('week', submitted_at at time zone 'UTC') as date) from responses
),

buyers as (
    select
        customer_weeks.week_start,
        count(*) as buyers,
        count(*) filter (where first_weeks.first_week < customer_weeks.week_start)
            as repeat_buyers,
        count(*) filter (where first_weeks.first_week = customer_weeks.week_start)
            as new_customers,
        -- In customer order: a double sum's order otherwise changes from run to run, and
        -- with it the last bits of the published figure.
        avg(ltv.ltv_next_year order by customer_weeks.customer_key)
            filter (where first_weeks.first_week = customer_weeks.week_start)
            as new_customer_ltv
    from customer_weeks
    inner join first_weeks using (customer_key)
    left join ltv using (customer_key)
    group by customer_weeks.week_start
),

retention_windows as (
    -- For each week, every customer who bought in the earlier window (weeks -23 to -12),
    -- and whether they bought again in the later one (weeks -11 to 0).
    select
        weeks.week_start,
        customer_weeks.customer_key,
        bool_or(customer_weeks.week_start > weeks.week_start - interval 12 week)
            as bought_later,
        bool_or(customer_weeks.week_start <= weeks.week_start - interval 12 week)
            as bought_earlier
    from weeks
    inner join customer_weeks
        on customer_weeks.week_start > weeks.week_start - interval 24 week
        and customer_weeks.week_start <= weeks.week_start
    group by weeks.week_start, customer_weeks.customer_key
),

retention as (
    select
        week_start,
        count(*) filter (where bought_earlier) as earlier_buyers,
        count(*) filter (where bought_earlier and bought_later) as retained
    from retention_windows
    group by week_start
),

nps as (
    select
        cast(date_trunc('week', submitted_at at time zone 'UTC') as date) as week_start,
        100.0 * (count(*) filter (where nps_score >= 9) - count(*) filter (where nps_score <= 6))
            / count(*) as nps
    from responses
    group by 1
),

history as (
    select min(week_start) as first_week from customer_weeks
),

final as (
    select
        weeks.week_start,
        buyers.repeat_buyers / nullif(buyers.buyers, 0) as repeat_rate,
        case when weeks.week_start - interval 23 week >= history.first_week
            then retention.retained / nullif(retention.earlier_buyers, 0)
        end as retention,
        buyers.new_customer_ltv
            / nullif(cast(spend.spend as double) / nullif(buyers.new_customers, 0), 0)
            as ltv_to_cac,
        nps.nps,
        cast(coalesce(buyers.new_customers, 0) as double) as new_customers,
        cast(coalesce(buyers.repeat_buyers, 0) as double) as returning_customers
    from weeks
    cross join history
    left join buyers using (week_start)
    left join retention using (week_start)
    left join spend using (week_start)
    left join nps using (week_start)
)

select * from final
