{#
    What the seasonal index learns from: orders per region, product category and calendar
    month, up to the run's date. An order counts once for each category it holds (cancelled
    orders and return lines do not count). The region is the customer's (country and state or
    province, as dim_customers knows it), else the order's billing country; an order with
    neither is counted under 'unknown', never dropped.
#}
with lines as (
    select * from {{ ref('fct_order_lines') }}
    where not is_cancelled and not is_return and order_date <= date '{{ as_of_date() }}'
),

orders as (
    select order_id, billing_country from {{ ref('fct_orders') }}
),

customers as (
    select customer_key, country_code, region_code from {{ ref('dim_customers') }}
),

order_categories as (
    select distinct
        lines.order_id,
        lines.customer_key,
        coalesce(lines.category, 'uncategorised') as category,
        month(lines.order_date) as month
    from lines
),

final as (
    select
        coalesce(
            customers.country_code || '-' || customers.region_code, customers.country_code,
            orders.billing_country, 'unknown'
        ) as region,
        order_categories.category,
        cast(order_categories.month as integer) as month,
        cast(count(*) as integer) as orders
    from order_categories
    left join orders using (order_id)
    left join customers using (customer_key)
    group by all
)

select * from final
