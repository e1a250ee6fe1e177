{#
    Conversions API events, one row per event after Meta's own deduplication rule: the browser
    Pixel and the server send the same `event_name` + `event_id`, counted once. Incremental by
    event day like GA4: days with new rows and a trailing `capi_lookback_days` are rebuilt
    whole; an event already kept on an earlier, untouched day is not kept again.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='append_new_columns',
) }}

with source as (
    select * from {{ source('meta_capi', 'events') }}
),

renamed as (
    select
        cast(to_timestamp(event_time) as date) as event_date,
        to_timestamp(event_time) as event_at,
        event_name,
        {{ clean_text('event_id') }} as event_id,
        action_source,
        event_source_url,
        lower(user_data.em) as email_sha256,
        lower(user_data.ph) as phone_sha256,
        lower(user_data.fn) as first_name_sha256,
        lower(user_data.ln) as last_name_sha256,
        lower(user_data.external_id) as external_id_sha256,
        user_data.fbp as fbp,
        user_data.fbc as fbc,
        custom_data.value as event_value,
        custom_data.currency as currency,
        custom_data.order_id as order_id,
        custom_data.content_ids as content_ids,
        -- Limited Data Use: the person opted out of "sale" under a US state privacy law.
        coalesce(list_contains(
            from_json(data_processing_options, '["VARCHAR"]'), 'LDU'), false) as is_limited_data_use,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

{% if is_incremental() %}
days as (
    select distinct event_date from renamed
    where loaded_at > (select max(loaded_at) from {{ this }})
    union
    select distinct event_date from renamed
    where event_date >= (
        select max(event_date) - to_days({{ var('capi_lookback_days') }}) from {{ this }}
    )
),

kept_elsewhere as (
    select event_name, event_id from {{ this }}
    where event_date not in (select event_date from days)
),
{% endif %}

deduplicated as (
    select *
    from renamed
    {% if is_incremental() %}
    where event_date in (select event_date from days)
    {% endif %}
    qualify row_number() over (
        partition by event_name, coalesce(event_id, source_file || ':' || source_row)
        order by event_at, source_file, source_row
    ) = 1
)

select * from deduplicated
{% if is_incremental() %}
where not exists (
    select 1 from kept_elsewhere
    where kept_elsewhere.event_name = deduplicated.event_name
        and kept_elsewhere.event_id = deduplicated.event_id
)
{% endif %}
