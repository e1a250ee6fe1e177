{#
    One row per CRM contact, with where they are in the funnel and whether (and when) they
    became a customer: the CRM's own date, or the first order of the person they resolve to.
#}
with contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

people as (
    select identifier as hubspot_record_id, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type = 'hubspot_record_id' and is_person
),

first_orders as (
    -- Placing an order converts a lead, even one cancelled later: a lifecycle stage only moves
    -- forward (HubSpot's default), and the conversion date then never moves when a later
    -- cancellation arrives, so the leads open at a past cutoff stay what they were.
    select customer_key, min(ordered_at) as first_order_at
    from {{ ref('fct_orders') }}
    where has_purchase_lines and not is_guest
    group by customer_key
),

contact_deals as (
    select
        trim(contact_id) as hubspot_record_id,
        count(*) as deals,
        count(*) filter (where deal_stage = 'closedwon') as deals_won,
        sum(amount) filter (where deal_stage = 'closedwon') as won_amount
    from deals, unnest(string_split(associated_contact_ids, ';')) as t(contact_id)
    group by all
),

final as (
    select
        contacts.hubspot_record_id,
        people.customer_key,
        contacts.created_at,
        contacts.lifecycle_stage,
        contacts.lead_status,
        contacts.original_source,
        contacts.became_customer_at,
        first_orders.first_order_at,
        least(contacts.became_customer_at, first_orders.first_order_at) as converted_at,
        cast(coalesce(contact_deals.deals, 0) as integer) as deals,
        cast(coalesce(contact_deals.deals_won, 0) as integer) as deals_won,
        cast(coalesce(contact_deals.won_amount, 0) as decimal(18, 2)) as won_amount
    from contacts
    left join people using (hubspot_record_id)
    left join first_orders using (customer_key)
    left join contact_deals using (hubspot_record_id)
)

select * from final
