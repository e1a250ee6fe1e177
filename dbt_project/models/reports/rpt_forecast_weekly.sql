{#
    The published units forecast at the shop's total beside what sold: the last 26 weeks of
    actual units, the weeks ahead with the published method's forecast and 80% interval, and
    on every week the units sold in the same week a year earlier (52 weeks before, the same
    ISO week and weekday, as the forecast's seasonal methods read it). Weeks are the
    forecast's own 7-day blocks ending on the run date, so history and forecast line up.
    Actual units are those the forecast learns from: order lines not cancelled and not
    returned, only those with a product id when any line has one (units_forecast.py).
    A week the history does not fully cover has no actual (null), not a slow week's.
#}
{% set history_weeks = 26 %}
with lines as (
    select sku, order_date, quantity
    from {{ ref('fct_order_lines') }}
    where not is_cancelled and not is_return and order_date <= date '{{ as_of_date() }}'
),

level as (
    select coalesce(bool_or(sku is not null), false) as by_product from lines
),

kept as (
    select lines.order_date, lines.quantity
    from lines cross join level
    where lines.sku is not null or not level.by_product
),

first_day as (
    select min(order_date) as first_order_date from kept
),

-- Week index: 0 is the 7 days up to the run date, 1 the 7 days after it, -1 the 7 before.
weekly as (
    select
        -cast(floor(date_diff('day', order_date, date '{{ as_of_date() }}') / 7) as integer)
            as week,
        sum(quantity) as units
    from kept
    group by 1
),

forecast as (
    select
        cast(date_diff('day', date '{{ as_of_date() }}', week_start) + 6 as integer) // 7
            as week,
        units_forecast,
        units_low,
        units_high,
        model
    from {{ ref('stg_ml__forecast_total') }}
    where is_published
),

spine as (
    select cast(-range as integer) as week from range(0, {{ history_weeks }})
    union all
    select week from forecast
),

blocks as (
    select
        spine.week,
        cast(date '{{ as_of_date() }}' + cast(7 * spine.week - 6 as integer) as date)
            as week_start,
        first_day.first_order_date
    from spine cross join first_day
),

final as (
    select
        blocks.week_start,
        cast(blocks.week_start + 6 as date) as week_end,
        blocks.week > 0 as is_forecast,
        case when blocks.week <= 0 and blocks.week_start >= blocks.first_order_date
            then cast(coalesce(actual.units, 0) as double) end as units_actual,
        forecast.units_forecast,
        forecast.units_low,
        forecast.units_high,
        case when blocks.week_start - 364 >= blocks.first_order_date
            then cast(coalesce(last_year.units, 0) as double) end as units_last_year,
        forecast.model,
        cast(date '{{ as_of_date() }}' as date) as as_of_date
    from blocks
    left join weekly as actual on actual.week = blocks.week and blocks.week <= 0
    left join weekly as last_year on last_year.week = blocks.week - 52
    left join forecast on forecast.week = blocks.week
)

select * from final
