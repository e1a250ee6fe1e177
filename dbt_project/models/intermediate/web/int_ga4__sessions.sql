{#
    GA4 sessions, one row per (user_pseudo_id, ga_session_id): when, where from, which landing
    page, how engaged, what converted. Incremental like stg_ga4__events: sessions that have
    any event on or after the first day rebuilt there are recomputed from all their events,
    so the result equals a full refresh.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
    on_schema_change='append_new_columns',
) }}

{% if is_incremental() %}
with refresh as (
    -- The first day stg_ga4__events rebuilt in this run (new rows, or the trailing window).
    select min(event_date) as first_day
    from {{ ref('stg_ga4__events') }}
    where loaded_at > (select max(loaded_at) from {{ this }})
        or event_date >= (
            select max(session_date) - to_days({{ var('ga4_lookback_days') }}) from {{ this }}
        )
),

events as (
    -- A session lasts minutes: the day before holds the start of any that cross midnight.
    select * from {{ ref('stg_ga4__events') }}
    where ga_session_id is not null
        and event_date >= (select first_day - 1 from refresh)
),
{% else %}
with events as (
    select * from {{ ref('stg_ga4__events') }}
    where ga_session_id is not null
),
{% endif %}

purchases_marked as (
    -- A purchase counts once per transaction: GA4 counts a transaction id once, and a
    -- reloaded confirmation page sends the same purchase again at another time. A purchase
    -- without a transaction id cannot be matched, so each one counts.
    select
        *,
        event_name = 'purchase' and (
            transaction_id is null
            or row_number() over (
                partition by user_pseudo_id, ga_session_id, event_name, transaction_id
                order by event_at, source_file, source_row
            ) = 1
        ) as is_counted_purchase
    from events
),

sessions as (
    select
        user_pseudo_id || ':' || ga_session_id as session_key,
        user_pseudo_id,
        ga_session_id,
        max(user_id) as user_id,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at,
        cast(min(event_at) as date) as session_date,
        max(ga_session_number) as session_number,
        -- The session's traffic source is on its first event that names one.
        arg_min(source, (event_at, source_file, source_row)) filter (where source is not null) as source,
        arg_min(medium, (event_at, source_file, source_row)) filter (where medium is not null) as medium,
        arg_min(campaign, (event_at, source_file, source_row)) filter (where campaign is not null) as campaign,
        arg_min(page_location, (event_at, source_file, source_row)) filter (where page_location is not null)
            as landing_page,
        arg_min(device_category, (event_at, source_file, source_row)) as device_category,
        arg_min(geo_country, (event_at, source_file, source_row)) as geo_country,
        count(*) filter (where event_name = 'page_view') as page_views,
        coalesce(sum(engagement_time_msec), 0) as engagement_time_msec,
        bool_or(coalesce(is_session_engaged, false)) as is_engaged,
        count(*) filter (where event_name = 'view_item') as item_views,
        count(*) filter (where event_name = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_name = 'begin_checkout') as checkouts,
        count(*) filter (where is_counted_purchase) as purchases,
        list(distinct transaction_id order by transaction_id) filter (
            where event_name = 'purchase' and transaction_id is not null) as transaction_ids,
        coalesce(sum(purchase_revenue) filter (where is_counted_purchase), 0)
            as purchase_revenue,
        count(*) filter (where event_name = 'generate_lead') as leads,
        count(*) filter (where event_name = 'sign_up') as sign_ups,
        bool_or(ads_storage_granted) as ads_storage_granted,
        max(loaded_at) as loaded_at,
        max(event_date) as last_event_date
    from purchases_marked
    group by user_pseudo_id, ga_session_id
    {% if is_incremental() %}
    -- Only sessions that reach into the rebuilt days: the others are complete in this table.
    having max(event_date) >= (select first_day from refresh)
    {% endif %}
),

final as (
    select
        * exclude (last_event_date),
        -- Paid social links carry the ad id in utm_content and Meta's click id in fbclid.
        nullif(regexp_extract(landing_page, '[?&]utm_content=([^&#]+)', 1), '') as utm_content,
        nullif(regexp_extract(landing_page, '[?&]fbclid=([^&#]+)', 1), '') as fbclid,
        -- Mailchimp's link tracking adds the recipient's unique email id as mc_eid.
        lower(nullif(regexp_extract(landing_page, '[?&]mc_eid=([^&#]+)', 1), ''))
            as mailchimp_email_id,
        {{ channel_group('source', 'medium') }} as channel
    from sessions
)

select * from final
