with identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
),

people as (
    select customer_key, max(primary_email) as email
    from identifiers
    group by customer_key
),

shop as (
    select identifiers.customer_key, shop_customers.*
    from shop_customers
    inner join identifiers
        on identifiers.identifier_type = 'shop_customer_id'
        and identifiers.identifier = shop_customers.shop_customer_id
    qualify row_number() over (
        partition by identifiers.customer_key order by shop_customers.shop_customer_id
    ) = 1
),

mailchimp as (
    select identifiers.customer_key, members.*
    from members
    inner join identifiers
        on identifiers.identifier_type = 'email'
        and identifiers.identifier = members.email
),

order_stats as (
    select
        customer_key,
        count(*) as orders_count,
        sum(amount - refunded_amount) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by customer_key
),

final as (
    select
        people.customer_key,
        people.email,
        coalesce(shop.first_name, mailchimp.first_name) as first_name,
        coalesce(shop.last_name, mailchimp.last_name) as last_name,
        shop.shop_customer_id,
        mailchimp.mailchimp_member_id,
        mailchimp.status as mailchimp_status,
        shop.accepts_email_marketing,
        -- Mailchimp's status is the last word on email; without it, the shop's consent.
        case
            when mailchimp.status is not null then mailchimp.status = 'subscribed'
            else coalesce(shop.accepts_email_marketing, false)
        end as is_emailable,
        coalesce(shop.country_code, mailchimp.country_code) as country_code,
        shop.region_code,
        shop.city,
        shop.zip,
        coalesce(shop.phone_raw, mailchimp.phone_raw) as phone_raw,
        cast(coalesce(order_stats.orders_count, 0) as integer) as orders_count,
        cast(coalesce(order_stats.revenue, 0) as decimal(18, 2)) as revenue,
        cast(order_stats.revenue / order_stats.orders_count as decimal(18, 2)) as avg_order_value,
        order_stats.first_order_at,
        order_stats.last_order_at,
        cast(date_diff(
            'day', cast(order_stats.last_order_at as date), date '{{ var("as_of_date") }}'
        ) as integer) as days_since_last_order,
        concat_ws(
            ',',
            case when shop.customer_key is not null or order_stats.customer_key is not null
                then 'shop' end,
            case when mailchimp.customer_key is not null then 'mailchimp' end
        ) as sources_present
    from people
    left join shop using (customer_key)
    left join mailchimp using (customer_key)
    left join order_stats using (customer_key)
)

select * from final
