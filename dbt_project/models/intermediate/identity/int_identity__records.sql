{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_key',
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where identifier is null",
) }}
{#
    Every record that shows identifiers together, one row per (record, identifier): the raw
    material of identity resolution. A record is a shop customer, an order (not a guest
    checkout: it names nobody), a Mailchimp member, a HubSpot contact, a survey response, a
    GA4 device's login, purchase, Meta ad click or Mailchimp email click, a Conversions API
    event's user data, or a Facebook or Instagram user with the customer the shop's inbox
    linked them to. Identifiers are normalised here; hashes stay as Meta sent them.
    Records that name a person (shop customers, Mailchimp members, HubSpot contacts) carry
    that name as a comparison key (`name_key`), so that different people behind one mailbox or
    phone can be told apart (int_identity__nodes, int_identity__clusters).

    Incremental by record: every record is described each run (one row per record, cheap), and
    only those whose description hash (`record_hash`) is new, changed or gone are unnested and
    written again; a record gone, or left with no identifier, is deleted through a marker row
    (identifier null) that the post-hook removes. The result equals a full refresh.
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

contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

responses as (
    select * from {{ ref('stg_typeform__responses') }}
),

sessions as (
    select * from {{ ref('int_ga4__sessions') }}
),

guest_orders as (
    -- A guest checkout names nobody: its id, wherever it shows up (a GA4 purchase, a Pixel
    -- event), is no person's identifier.
    select distinct platform_order_id as identifier from orders where is_guest
),

ga4_links as (
    -- A device is tied to a person by a login (user_id) or by the orders it placed.
    select
        user_pseudo_id,
        user_id,
        transaction_id,
        transaction_id in (select identifier from guest_orders) as is_guest_order,
        min(session_started_at) as seen_at
    from (
        select
            user_pseudo_id,
            user_id,
            unnest(coalesce(transaction_ids, [null])) as transaction_id,
            session_started_at
        from sessions
        where user_id is not null or len(transaction_ids) > 0
    )
    group by all
),

ga4_clicks as (
    -- A Meta ad's landing URL carries its click id (fbclid); the Pixel keeps it in the _fbc
    -- cookie, which the Conversions API sends back with the browser's fbp.
    select user_pseudo_id, fbclid, min(session_started_at) as seen_at
    from sessions
    where fbclid is not null
    group by all
),

ga4_email_clicks as (
    -- A Mailchimp campaign's links carry the recipient's unique email id (mc_eid), which the
    -- audience export lists as EUID.
    select user_pseudo_id, mailchimp_email_id, min(session_started_at) as seen_at
    from sessions
    where mailchimp_email_id is not null
    group by all
),

ga4_devices as (
    select user_pseudo_id, min(session_started_at) as seen_at
    from sessions
    group by user_pseudo_id
),

capi_links as (
    select
        fbp,
        email_sha256,
        phone_sha256,
        external_id_sha256,
        order_id,
        order_id in (select identifier from guest_orders) as is_guest_order,
        -- _fbc is `fb.<subdomain index>.<creation ms>.<fbclid>`.
        nullif(regexp_extract(fbc, '^fb\.[0-9]+\.[0-9]+\.(.+)$', 1), '') as click_id,
        min(event_at) as seen_at
    from {{ ref('stg_meta_capi__events') }}
    group by all
),

social_users as (
    -- A user's every link the shop's inbox made (an email, a CRM contact) is one record:
    -- the page-scoped user id is one person's. No name: a display name is no evidence.
    select
        platform,
        social_user_id,
        min(engaged_at) as seen_at,
        list_sort(list_distinct(list(customer_email))) as emails,
        list_sort(list_distinct(list(customer_hubspot_record_id))) as hubspot_record_ids
    from {{ ref('int_social__engagements') }}
    group by all
),

record_identifiers as (
    select 'shop_customer:' || shop_customer_id as record_key, cast(export_date as timestamptz) as seen_at,
        [['shop_customer_id', shop_customer_id], ['email', email], ['phone', phone_e164],
         ['phone', address_phone_e164]] as ids,
        {{ name_key('first_name') }} as first_name, {{ name_key('last_name') }} as last_name
    from shop_customers
    union all
    select 'order:' || order_source || ':' || order_id, ordered_at,
        [['order_id', platform_order_id], ['shop_customer_id', shop_customer_id],
         ['email', email], ['phone', phone_e164]],
        null, null
    from orders
    where not is_guest
    union all
    -- Mailchimp's member id is the MD5 of the email: it says nothing the email does not.
    select 'mailchimp:' || mailchimp_member_id, opted_in_at,
        [['email', email], ['phone', phone_e164], ['mailchimp_email_id', mailchimp_email_id]],
        {{ name_key('first_name') }}, {{ name_key('last_name') }}
    from members
    union all
    select 'hubspot:' || hubspot_record_id, created_at,
        -- A contact's other addresses are the same record's: one person's two emails link here.
        [['hubspot_record_id', hubspot_record_id], ['email', email], ['phone', phone_e164],
         ['phone', mobile_phone_e164]]
            || coalesce(list_transform(string_split(additional_emails, ';'),
                                       lambda e: ['email', {{ normalize_email('e') }}]), []),
        {{ name_key('first_name') }}, {{ name_key('last_name') }}
    from contacts
    union all
    select 'typeform:' || response_id, submitted_at, [['email', email]], null, null
    from responses
    union all
    select 'ga4_device:' || user_pseudo_id, seen_at, [['ga4_user_pseudo_id', user_pseudo_id]],
        null, null
    from ga4_devices
    union all
    select
        'ga4_link:' || user_pseudo_id || ':' || coalesce(user_id, '') || ':'
            || coalesce(transaction_id, ''),
        seen_at,
        [['ga4_user_pseudo_id', user_pseudo_id],
         ['{{ var("ga4_user_id_is") }}', user_id],
         ['order_id', if(is_guest_order, null, transaction_id)]],
        null, null
    from ga4_links
    union all
    select 'ga4_click:' || user_pseudo_id || ':' || fbclid, seen_at,
        [['ga4_user_pseudo_id', user_pseudo_id], ['meta_click_id', fbclid]], null, null
    from ga4_clicks
    union all
    select 'ga4_email_click:' || user_pseudo_id || ':' || mailchimp_email_id, seen_at,
        [['ga4_user_pseudo_id', user_pseudo_id], ['mailchimp_email_id', mailchimp_email_id]],
        null, null
    from ga4_email_clicks
    union all
    select
        'capi:' || md5(concat_ws('|', fbp, email_sha256, phone_sha256, external_id_sha256,
                                 order_id, click_id)),
        seen_at,
        [['fbp', fbp], ['email_sha256', email_sha256], ['phone_sha256', phone_sha256],
         ['external_id_sha256', external_id_sha256],
         ['order_id', if(is_guest_order, null, order_id)],
         ['meta_click_id', click_id]],
        null, null
    from capi_links
    union all
    select 'social:' || platform || ':' || social_user_id, seen_at,
        [[platform || '_user_id', social_user_id]]
            || list_transform(emails, lambda e: ['email', e])
            || list_transform(hubspot_record_ids, lambda h: ['hubspot_record_id', h]),
        null, null
    from social_users
),

described as materialized (
    -- Read twice below: computed once.
    select *, hash(record_key, seen_at, ids, first_name, last_name) as record_hash
    from record_identifiers
    -- A record that names nothing has no row, and so no hash to compare with.
    where len(list_filter(ids, lambda id: id[2] is not null)) > 0
),

{% if is_incremental() %}
changed as (
    -- Records whose description is new or changed, and records gone (or described no more
    -- as they were): all their rows are written again.
    select record_key from (
        select record_key, record_hash from described
        except
        select distinct record_key, record_hash from {{ this }}
    )
    union
    select record_key from (
        select distinct record_key, record_hash from {{ this }}
        except
        select record_key, record_hash from described
    )
),

rewritten as (
    select described.* from described
    where record_key in (select record_key from changed)
),
{% else %}
rewritten as (
    select * from described
),
{% endif %}

identifiers as (
    -- unnest in the select list: a lateral `from record_identifiers, unnest(ids)` measured
    -- 2 to 3 times slower at m (4.9M rows).
    select record_key, seen_at, first_name, last_name, record_hash, unnest(ids) as id
    from rewritten
),

final as (
    select distinct
        record_key,
        split_part(record_key, ':', 1) as record_source,
        id[1] as identifier_type,
        id[2] as identifier,
        seen_at,
        first_name,
        last_name,
        record_hash
    from identifiers
    where id[2] is not null
)

select * from final
{% if is_incremental() %}
union all
-- One marker per rewritten record, so that delete+insert reaches records left with no rows.
select
    record_key, split_part(record_key, ':', 1), null, null, null, null, null, null
from changed
{% endif %}
