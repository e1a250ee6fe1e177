{#
    Each order's exchange rate into the reporting currency: 1 when
    the order is in it; otherwise the rate in force on the order's (UTC) date, the currency's
    latest rate dated on or before it (a rate applies until the next one). No such rate: null,
    so the order's money is never converted, nor summed raw (marts.data_coverage names them).
    A day and currency given in several export folders takes the newest folder's rate.
    The reporting currency is the setting (var reporting_currency); unset, the orders' own
    currency when they have one, so a one-currency shop needs no rates, else default_currency.
#}
with orders as (
    select order_source, order_id, currency, cast(ordered_at as date) as order_date
    from {{ ref('int_orders__unioned') }}
),

reporting as (
    select coalesce(
        nullif('{{ var("reporting_currency") }}', ''),
        case when count(distinct currency) = 1 then min(currency) end,
        '{{ var("default_currency") }}'
    ) as reporting_currency
    from orders
),

rates as (
    {{ fx_rates() }}
),

foreign_rates as (
    select orders.order_source, orders.order_id, rates.rate_date, rates.rate
    from orders
    asof inner join rates
        on rates.currency = orders.currency
        and orders.order_date >= rates.rate_date
),

final as (
    select
        orders.order_source,
        orders.order_id,
        orders.currency,
        orders.order_date,
        reporting.reporting_currency,
        -- An order in the reporting currency needs no rate (a rate listed for it is ignored).
        case when orders.currency <> reporting.reporting_currency
            then foreign_rates.rate_date end as rate_date,
        cast(case when orders.currency = reporting.reporting_currency then 1
            else foreign_rates.rate end as double) as fx_rate
    from orders
    cross join reporting
    left join foreign_rates using (order_source, order_id)
)

select * from final
