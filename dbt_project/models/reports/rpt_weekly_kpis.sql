{#
    The report's KPI cards and weekly charts: one row per ISO week (Monday start, UTC days)
    and KPI, every week of each KPI's history up to the run's date, beside the same ISO week a
    year earlier. Each figure comes from the model that owns its rule: sales from
    rpt_daily_sales (every order, guests included, in the reporting currency), customers from
    int_kpis__shop_weeks, email from int_kpis__email_weeks, ads from int_kpis__paid_weeks
    (reconciled ROAS as the KPI worksheet has it), visits from fct_sessions. A KPI appears only
    once its source has data; a week in its history with nothing is 0 for counts and money
    and null for rates (a rate of nothing is unknown, not zero).
#}
with sales as (
    select * from {{ ref('rpt_daily_sales') }}
    where order_date <= date '{{ as_of_date() }}'
),

sales_weeks as (
    select
        cast(date_trunc('week', order_date) as date) as week_start,
        -- A week with a day and currency that did not convert has no total (a partial sum
        -- would pass for a whole).
        case when bool_and(revenue_reporting is not null)
            then cast(sum(revenue_reporting) as double) end as revenue,
        cast(sum(orders) as double) as orders
    from sales
    group by 1
),

reporting as (
    select min(reporting_currency) as currency from sales
),

shop_weeks as (
    select * from {{ ref('int_kpis__shop_weeks') }}
),

email_weeks as (
    select * from {{ ref('int_kpis__email_weeks') }}
),

paid_weeks as (
    select * from {{ ref('int_kpis__paid_weeks') }}
),

ad_currency as (
    select
        cast(date_trunc('week', date_day) as date) as week_start,
        count(distinct currency) as currencies,
        min(currency) as currency
    from {{ ref('fct_ad_conversions') }}
    group by 1
),

ad_account as (
    select min(currency) as currency from {{ ref('fct_ad_conversions') }}
),

sessions as (
    select
        cast(date_trunc('week', session_date) as date) as week_start,
        cast(count(*) as double) as sessions
    from {{ ref('fct_sessions') }}
    where session_date <= date '{{ as_of_date() }}'
    group by 1
),

measured as (
    select week_start, 'revenue' as kpi, revenue as value from sales_weeks
    union all select week_start, 'orders', orders from sales_weeks
    union all select week_start, 'new_customers', new_customers from shop_weeks
    union all select week_start, 'returning_customers', returning_customers from shop_weeks
    union all select week_start, 'emails_sent', email_sends from email_weeks
    union all select week_start, 'email_open_rate', email_open_rate from email_weeks
    union all select week_start, 'email_click_rate', email_click_rate from email_weeks
    -- Spend in two ad-account currencies has no one total.
    union all
    select paid_weeks.week_start, 'ad_spend',
        case when ad_currency.currencies = 1 then paid_weeks.spend end
    from paid_weeks left join ad_currency using (week_start)
    union all select week_start, 'ad_roas_reconciled', roas_reconciled from paid_weeks
    union all select week_start, 'sessions', sessions from sessions
),

kpis as (
    select * from (values
        (1, 'revenue', 'Revenue', 'money', true,
         'Orders'' amounts less refunds, cancelled orders left out and guest checkouts included, by order day; none for a week with an order that has no exchange rate.'),
        (2, 'orders', 'Orders', 'count', true,
         'Purchases that were not cancelled, guest checkouts included.'),
        (3, 'new_customers', 'New customers', 'count', true,
         'Customers whose first order came this week.'),
        (4, 'returning_customers', 'Returning customers', 'count', true,
         'Customers who ordered this week and had ordered in an earlier week.'),
        (5, 'emails_sent', 'Emails sent', 'count', true,
         'Emails the week''s campaigns went out to, by send day.'),
        (6, 'email_open_rate', 'Email open rate', 'share', false,
         'People who opened / emails delivered (sent less bounced), for campaigns sent that week. Apple Mail opens some emails by itself, so clicks are the firmer signal.'),
        (7, 'email_click_rate', 'Email click rate', 'share', false,
         'People who clicked / emails delivered (sent less bounced), for campaigns sent that week.'),
        (8, 'ad_spend', 'Ad spend', 'ad_money', true,
         'What Meta charged for the week''s ads, in the ad account''s currency.'),
        (9, 'ad_roas_reconciled', 'Ad return on spend', 'ratio', false,
         'Value of the orders the shop''s own records credit to the ads (net of refunds known at the run) / ad spend; 3.0 means 3 back for each 1 spent.'),
        (10, 'sessions', 'Site visits', 'count', true,
         'Website sessions (Google Analytics), by the day they started.')
    ) as k (kpi_order, kpi, label, unit_kind, zero_when_none, definition)
),

spans as (
    select kpi, min(week_start) as first_week
    from measured
    group by kpi
),

last_week as (
    select cast(date_trunc('week', date '{{ as_of_date() }}') as date) as week_start
),

calendar as (
    select spans.kpi, cast(week.week_start as date) as week_start
    from spans
    cross join last_week
    cross join unnest(generate_series(
        cast(spans.first_week as timestamp), cast(last_week.week_start as timestamp),
        interval 7 day)) as week (week_start)
),

weekly as (
    select
        calendar.week_start,
        calendar.kpi,
        case when measured.week_start is null and kpis.zero_when_none then 0.0
            else measured.value end as value
    from calendar
    inner join kpis using (kpi)
    left join measured using (week_start, kpi)
),

final as (
    select
        weekly.week_start,
        weekly.week_start + 6 <= date '{{ as_of_date() }}' as is_complete_week,
        weekly.kpi,
        kpis.label,
        case kpis.unit_kind
            when 'money' then reporting.currency
            when 'ad_money' then coalesce(ad_currency.currency, ad_account.currency)
            else kpis.unit_kind
        end as unit,
        weekly.value,
        last_year.value as value_last_year,
        kpis.definition,
        kpis.kpi_order
    from weekly
    inner join kpis using (kpi)
    cross join reporting
    cross join ad_account
    left join ad_currency on weekly.kpi = 'ad_spend'
        and ad_currency.week_start = weekly.week_start
    left join weekly as last_year
        on last_year.kpi = weekly.kpi
        and isoyear(last_year.week_start) = isoyear(weekly.week_start) - 1
        and weekofyear(last_year.week_start) = weekofyear(weekly.week_start)
)

select * from final
