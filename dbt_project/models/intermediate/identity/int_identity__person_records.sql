{{ config(materialized='table') }}
{#
    The records that name a person (shop customers, Mailchimp members, HubSpot contacts), one
    row each with what the probabilistic matcher compares: name, email, phone, street line,
    zip, city and country, trimmed and lowercased. `hub_type`/`hub` is the identifier the
    record's links start from (int_identity__edges), where a probabilistic link between two
    records is drawn; `fingerprint` changes when any compared field does, so that a record is
    matched again only when it is new or changed (int_identity__record_versions).
#}
with shop as (
    select * from {{ ref('stg_shop__customers') }}
),

members as (
    select * from {{ ref('stg_mailchimp__members') }}
),

contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

unioned as (
    select
        'shop_customer:' || shop_customer_id as record_key,
        'shop_customer_id' as hub_type,
        shop_customer_id as hub,
        first_name, last_name, email,
        coalesce(phone_e164, address_phone_e164) as phone,
        address_line as address, zip, city, country_code
    from shop
    union all
    select
        'mailchimp:' || mailchimp_member_id, 'email', email,
        first_name, last_name, email, phone_e164, null, null, null, country_code
    from members
    where email is not null
    union all
    select
        'hubspot:' || hubspot_record_id, 'hubspot_record_id', hubspot_record_id,
        first_name, last_name, email, coalesce(phone_e164, mobile_phone_e164),
        null, null, null, null
    from contacts
),

final as (
    select
        record_key,
        hub_type,
        hub,
        nullif(lower(trim(first_name)), '') as first_name,
        nullif(lower(trim(last_name)), '') as last_name,
        email,
        phone,
        nullif(lower(trim(address)), '') as address,
        nullif(upper(replace(zip, ' ', '')), '') as zip,
        nullif(lower(trim(city)), '') as city,
        upper(country_code) as country_code
    from unioned
    where hub is not null
    qualify row_number() over (partition by record_key order by hub) = 1
)

select
    *,
    md5(concat_ws('|', first_name, last_name, email, phone, address, zip, city, country_code))
        as fingerprint
from final
