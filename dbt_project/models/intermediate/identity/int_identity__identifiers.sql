{#
    First cut of identity resolution: a person is their normalised email; a shop customer id
    resolves to the email the shop holds for it, and to its own key when there is none.
#}
with shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

orders as (
    select * from {{ ref('int_orders__unioned') }}
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

shop_customer_emails as (
    select shop_customer_id, email
    from shop_customers
    where email is not null
    union all
    -- Customers the customer export does not list yet: the email typed on their orders.
    select shop_customer_id, min(email) as email
    from orders
    where shop_customer_id is not null
        and email is not null
        and shop_customer_id not in (
            select shop_customer_id from shop_customers where email is not null
        )
    group by shop_customer_id
),

shop_ids as (
    select shop_customer_id from shop_customers
    union
    select shop_customer_id from orders where shop_customer_id is not null
),

shop_keys as (
    select
        'shop_customer_id' as identifier_type,
        shop_ids.shop_customer_id as identifier,
        coalesce('email:' || e.email, 'shop:' || shop_ids.shop_customer_id) as resolved_on
    from shop_ids
    left join shop_customer_emails as e using (shop_customer_id)
),

emails as (
    select email from shop_customer_emails
    union
    select email from members
    union
    select email from orders where shop_customer_id is null and email is not null
),

email_keys as (
    select 'email' as identifier_type, email as identifier, 'email:' || email as resolved_on
    from emails
),

final as (
    select
        identifier_type,
        identifier,
        {{ identity_key('resolved_on') }} as customer_key,
        case when resolved_on like 'email:%' then substr(resolved_on, 7) end as primary_email
    from (select * from shop_keys union all select * from email_keys)
)

select * from final
