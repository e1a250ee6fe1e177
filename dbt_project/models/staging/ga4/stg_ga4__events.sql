{#
    GA4 events, one row per event, with the parameters a marketer uses as typed columns.
    Incremental by event day: each run rebuilds the days that received new rows since the last
    build (a rewritten day arrives as new rows) plus a trailing `ga4_lookback_days`, replacing
    those days whole, so the result equals a full refresh.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='append_new_columns',
) }}

with source as (
    select * from {{ source('ga4', 'events') }}
    {% if is_incremental() %}
    where event_date in (
        select distinct event_date from {{ source('ga4', 'events') }}
        where _loaded_at > (select max(loaded_at) from {{ this }})
        union
        select distinct event_date from {{ source('ga4', 'events') }}
        where strptime(event_date, '%Y%m%d') >= (
            select max(event_date) - to_days({{ var('ga4_lookback_days') }}) from {{ this }}
        )
    )
    {% endif %}
),

renamed as (
    select
        cast(strptime(event_date, '%Y%m%d') as date) as event_date,
        (make_timestamp(event_timestamp) at time zone 'UTC') as event_at,
        event_timestamp as event_timestamp_micros,
        event_name,
        user_pseudo_id,
        {{ clean_text('user_id') }} as user_id,
        {{ ga4_param('ga_session_id', 'int_value') }} as ga_session_id,
        {{ ga4_param('ga_session_number', 'int_value') }} as ga_session_number,
        {{ ga4_param('page_location') }} as page_location,
        {{ ga4_param('page_referrer') }} as page_referrer,
        {{ ga4_param('page_title') }} as page_title,
        {{ ga4_param('engagement_time_msec', 'int_value') }} as engagement_time_msec,
        {{ ga4_param('session_engaged') }} = '1' as is_session_engaged,
        lower({{ ga4_param('source') }}) as source,
        lower({{ ga4_param('medium') }}) as medium,
        {{ ga4_param('campaign') }} as campaign,
        {{ ga4_param('form_id') }} as form_id,
        coalesce({{ ga4_param('value', 'double_value') }},
                 {{ ga4_param('value', 'float_value') }},
                 cast({{ ga4_param('value', 'int_value') }} as double)) as event_value,
        {{ ga4_param('currency') }} as currency,
        -- GA4 writes '(not set)' where the site sent no transaction id.
        nullif(ecommerce.transaction_id, '(not set)') as transaction_id,
        ecommerce.purchase_revenue as purchase_revenue,
        ecommerce.total_item_quantity as item_quantity,
        items,
        device.category as device_category,
        device.operating_system as operating_system,
        device.web_info.browser as browser,
        geo.country as geo_country,
        geo.region as geo_region,
        geo.city as geo_city,
        lower(traffic_source.source) as first_touch_source,
        lower(traffic_source.medium) as first_touch_medium,
        traffic_source.name as first_touch_campaign,
        collected_traffic_source.gclid as gclid,
        -- Consent Mode: whether the visitor allowed advertising storage on this event.
        privacy_info ->> 'ads_storage' = 'Yes' as ads_storage_granted,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

deduplicated as (
    -- The export repeats some events verbatim; one copy of each is kept.
    select *
    from renamed
    qualify row_number() over (
        partition by
            event_date, user_pseudo_id, event_timestamp_micros, event_name, ga_session_id,
            page_location, transaction_id
        order by source_file, source_row
    ) = 1
)

select * from deduplicated
