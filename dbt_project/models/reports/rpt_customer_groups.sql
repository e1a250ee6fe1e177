{#
    The two ways customers are grouped, side by side for analysts: every RFM segment and every
    persona with its customers, revenue, average order value, average churn risk, average
    expected spend over the next year (the lifetime value model's) and the share that may be
    emailed.
#}
with rfm as (
    select * from {{ ref('customer_rfm') }}
),

personas as (
    select * from {{ ref('stg_ml__personas') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

churn as (
    select * from {{ ref('stg_ml__churn_risk') }}
),

ltv as (
    select * from {{ ref('stg_ml__ltv') }}
),

memberships as (
    select 'rfm_segment' as grouping, rfm_segment as group_name, customer_key from rfm
    union all
    select 'persona' as grouping, persona_name as group_name, customer_key from personas
),

final as (
    select
        memberships.grouping,
        memberships.group_name,
        cast(count(*) as integer) as customers,
        cast(sum(customers.revenue) as decimal(18, 2)) as revenue,
        cast(sum(customers.revenue) / nullif(sum(customers.orders_count), 0)
            as decimal(18, 2)) as avg_order_value,
        round(avg(churn.churn_risk), 4) as churn_risk,
        cast(avg(ltv.ltv_next_year) as decimal(18, 2)) as expected_value,
        round(avg(case when customers.is_emailable then 1.0 else 0.0 end), 4)
            as emailable_share
    from memberships
    inner join customers on customers.customer_key = memberships.customer_key
    left join churn on churn.customer_key = memberships.customer_key
    left join ltv on ltv.customer_key = memberships.customer_key
    group by memberships.grouping, memberships.group_name
)

select * from final
