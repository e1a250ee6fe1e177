{#
    The persona cards: one row per persona with its size, value (to date and, from the LTV
    model, over the next year), churn risk, how its customers
    arrive, what they buy, when to email them, what they think of the shop, what sets the
    persona apart and the share of its customers having each trait its name claims (from the
    persona model).
#}
with personas as (
    select * from {{ ref('stg_ml__personas') }}
),

profiles as (
    select * from {{ ref('stg_ml__persona_profiles') }}
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

sessions as (
    select * from {{ ref('fct_sessions') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

surveys as (
    select * from {{ ref('fct_survey_responses') }}
),

members as (
    select
        personas.persona_id,
        customers.customer_key,
        customers.revenue,
        customers.orders_count,
        customers.is_emailable,
        churn.churn_risk,
        ltv.ltv_next_year
    from personas
    inner join customers on customers.customer_key = personas.customer_key
    left join churn on churn.customer_key = personas.customer_key
    left join ltv on ltv.customer_key = personas.customer_key
),

totals as (
    select count(*) as customers, sum(revenue) as revenue from members
),

sizes as (
    select
        persona_id,
        count(*) as customers,
        sum(revenue) as revenue,
        sum(orders_count) as orders,
        avg(churn_risk) as churn_risk,
        avg(ltv_next_year) as ltv_next_year,
        avg(case when is_emailable then 1.0 else 0.0 end) as emailable_share
    from members
    group by persona_id
),

channel_counts as (
    select members.persona_id, sessions.channel, count(*) as visits
    from sessions
    inner join members on members.customer_key = sessions.customer_key
    where sessions.channel is not null
    group by members.persona_id, sessions.channel
),

top_channels as (
    {{ top_shares('channel_counts', 'channel', 'visits', 'top_channels') }}
),

category_revenue as (
    select
        members.persona_id, order_lines.category,
        sum(order_lines.line_amount_reporting) as amount
    from order_lines
    inner join members on members.customer_key = order_lines.customer_key
    where not order_lines.is_cancelled and order_lines.category is not null
    group by members.persona_id, order_lines.category
),

top_categories as (
    {{ top_shares('category_revenue', 'category', 'amount', 'top_categories') }}
),

-- The latest answer of each customer: one voice per customer.
latest_answers as (
    select
        customer_key,
        nps_group,
        row_number() over (
            partition by customer_key order by submitted_at desc, response_id
        ) as recency_rank
    from surveys
    where customer_key is not null
),

nps as (
    select
        members.persona_id,
        count(*) as nps_responses,
        100.0 * (count(*) filter (where latest_answers.nps_group = 'promoter')
            - count(*) filter (where latest_answers.nps_group = 'detractor')) / count(*) as nps
    from latest_answers
    inner join members on members.customer_key = latest_answers.customer_key
    where latest_answers.recency_rank = 1
    group by members.persona_id
),

final as (
    select
        profiles.persona_id,
        profiles.persona_name,
        cast(sizes.customers as integer) as customers,
        round(sizes.customers / totals.customers, 4) as customer_share,
        cast(sizes.revenue as decimal(18, 2)) as revenue,
        round(cast(sizes.revenue / nullif(totals.revenue, 0) as double), 4) as revenue_share,
        cast(sizes.revenue / sizes.customers as decimal(18, 2)) as avg_revenue_to_date,
        cast(sizes.ltv_next_year as decimal(18, 2)) as avg_ltv,
        cast(sizes.revenue / nullif(sizes.orders, 0) as decimal(18, 2)) as avg_order_value,
        round(sizes.churn_risk, 4) as churn_risk,
        round(sizes.emailable_share, 4) as emailable_share,
        top_channels.top_channels,
        top_categories.top_categories,
        profiles.best_send_hour,
        profiles.usual_shop_hour,
        round(nps.nps, 1) as nps,
        cast(coalesce(nps.nps_responses, 0) as integer) as nps_responses,
        profiles.what_sets_it_apart,
        profiles.name_claims,
        profiles.weakest_claim_share,
        profiles.model_version,
        profiles.as_of_date,
        profiles.persona_source,
        profiles.personas_note
    from profiles
    inner join sizes on sizes.persona_id = profiles.persona_id
    cross join totals
    left join top_channels on top_channels.persona_id = profiles.persona_id
    left join top_categories on top_categories.persona_id = profiles.persona_id
    left join nps on nps.persona_id = profiles.persona_id
)

select * from final
