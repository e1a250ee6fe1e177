with sessions as (
    select * from {{ ref('int_ga4__sessions') }}
),

devices as (
    select identifier as user_pseudo_id, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type = 'ga4_user_pseudo_id' and is_person
),

final as (
    select
        sessions.session_key,
        devices.customer_key,
        sessions.user_pseudo_id,
        sessions.ga_session_id,
        sessions.session_started_at,
        sessions.session_ended_at,
        sessions.session_date,
        cast(sessions.session_number as integer) as session_number,
        sessions.channel,
        sessions.source,
        sessions.medium,
        sessions.campaign,
        sessions.utm_content,
        sessions.fbclid,
        sessions.landing_page,
        sessions.device_category,
        sessions.geo_country,
        cast(sessions.page_views as integer) as page_views,
        cast(sessions.engagement_time_msec as bigint) as engagement_time_msec,
        sessions.is_engaged,
        cast(sessions.item_views as integer) as item_views,
        cast(sessions.add_to_carts as integer) as add_to_carts,
        cast(sessions.checkouts as integer) as checkouts,
        cast(sessions.purchases as integer) as purchases,
        cast(sessions.purchase_revenue as decimal(18, 2)) as purchase_revenue,
        cast(sessions.leads as integer) as leads,
        cast(sessions.sign_ups as integer) as sign_ups,
        sessions.ads_storage_granted
    from sessions
    left join devices using (user_pseudo_id)
)

select * from final
