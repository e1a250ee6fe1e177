{#
    What the shop and the CRM recorded that an ad may be credited with: every order that
    bought something (credit notes are no conversion), and every CRM contact created as a
    lead (the CRM record is the shop's record of a lead: a form fill the site alone would log
    only as an event, often without the person). A contact created when its person was
    already a customer, or by their first order (a shop that syncs buyers to the CRM), is no
    lead.
#}
with orders as (
    select * from {{ ref('fct_orders') }}
    where has_purchase_lines
),

order_ids as (
    select order_id, platform_order_id from {{ ref('int_orders__unioned') }}
),

leads as (
    select * from {{ ref('fct_leads') }}
    where converted_at is null or converted_at > created_at
),

first_orders as (
    select customer_key, min(ordered_at) as first_ordered_at
    from orders
    where customer_key is not null
    group by customer_key
),

order_conversions as (
    select
        'purchase' as conversion_kind,
        orders.order_id as conversion_id,
        order_ids.platform_order_id,
        orders.customer_key,
        orders.ordered_at as converted_at,
        -- A guest checkout names nobody, so it is never known to be a first order.
        coalesce(orders.ordered_at = first_orders.first_ordered_at, false) as is_new_customer,
        orders.is_cancelled,
        orders.order_date as value_date,
        orders.reporting_currency,
        orders.amount_reporting,
        orders.refunded_amount_reporting
    from orders
    inner join order_ids using (order_id)
    left join first_orders using (customer_key)
),

lead_conversions as (
    select
        'lead' as conversion_kind,
        hubspot_record_id as conversion_id,
        cast(null as varchar) as platform_order_id,
        customer_key,
        created_at as converted_at,
        false as is_new_customer,
        false as is_cancelled,
        cast(created_at as date) as value_date,
        cast(null as varchar) as reporting_currency,
        cast(0 as decimal(18, 2)) as amount_reporting,
        cast(0 as decimal(18, 2)) as refunded_amount_reporting
    from leads
    where created_at is not null
),

final as (
    select * from order_conversions
    union all
    select * from lead_conversions
)

select * from final
