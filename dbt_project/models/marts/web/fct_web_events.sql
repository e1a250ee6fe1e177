{{ config(materialized='view') }}
{#
    Every GA4 event with the person it belongs to. A view: the events are already a table in
    staging (built incrementally), and the person a device belongs to can change any day.
#}
with events as (
    select * from {{ ref('stg_ga4__events') }}
),

devices as (
    select identifier as user_pseudo_id, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type = 'ga4_user_pseudo_id' and is_person
),

final as (
    select
        events.event_date,
        events.event_at,
        events.event_name,
        devices.customer_key,
        events.user_pseudo_id,
        events.user_pseudo_id || ':' || events.ga_session_id as session_key,
        events.page_location,
        events.page_title,
        events.engagement_time_msec,
        events.event_value,
        events.currency,
        events.transaction_id,
        events.purchase_revenue,
        events.item_quantity,
        events.device_category
    from events
    left join devices using (user_pseudo_id)
)

select * from final
