{#
    The unified customer view, the golden record: one row per person the business can name (an
    email, a shop customer, a CRM contact, a phone or an order), with what every source knows
    about them. Survivorship, field by field, with the source each value came from:
    - email: the address they subscribed to the list with (Mailchimp's double opt-in verified
      it, and it is the one the list sends to); else the most recently used address the shop
      verified by an account or an order; else the most recently seen; a role mailbox last;
    - name: the shop's customer record first, then the CRM, then Mailchimp;
    - address: of their shop accounts, the most complete (city, region, zip, country), then the
      most recent export;
    - email consent, combined strictly: an unsubscribe from any of their addresses wins over a
      subscription elsewhere; without any list status, the shop's consent on any account.
#}
with identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
    where is_person
),

people as (
    select
        customer_key,
        min(identifiers.first_seen_at) as first_seen_at,
        min(identifier) filter (where identifier_type = 'phone') as phone_e164,
        min(identifier) filter (where identifier_type = 'shop_customer_id') as shop_customer_id,
        min(identifier) filter (where identifier_type = 'hubspot_record_id') as hubspot_record_id
    from identifiers
    group by customer_key
),

emails as (
    -- Each of the person's addresses with what vouches for it.
    select
        identifiers.customer_key,
        identifiers.identifier as email,
        coalesce(nodes.is_role_mailbox, false) as is_role_mailbox,
        bool_or(records.record_source = 'mailchimp' and members.status = 'subscribed')
            as is_subscribed,
        bool_or(records.record_source in ('shop_customer', 'order')) as is_shop_verified,
        max(records.seen_at) as last_seen_at,
        case
            when bool_or(records.record_source = 'mailchimp' and members.status = 'subscribed')
                then 'mailchimp'
            when bool_or(records.record_source = 'order') then 'order'
            when bool_or(records.record_source = 'shop_customer') then 'shop'
            else min(records.record_source)
        end as email_source
    from identifiers
    left join {{ ref('int_identity__nodes') }} as nodes using (identifier_type, identifier)
    left join {{ ref('int_identity__records') }} as records using (identifier_type, identifier)
    left join {{ ref('stg_mailchimp__members') }} as members
        on records.record_source = 'mailchimp' and members.email = identifiers.identifier
    where identifiers.identifier_type = 'email'
    group by all
),

best_email as (
    select customer_key, email, email_source
    from emails
    qualify row_number() over (
        partition by customer_key
        order by is_role_mailbox, is_subscribed desc, is_shop_verified desc,
            last_seen_at desc nulls last, email
    ) = 1
),

shop as (
    -- Of the person's shop accounts, the most complete address, then the newest export.
    select identifiers.customer_key, shop_customers.*
    from {{ ref('stg_shop__customers') }} as shop_customers
    inner join identifiers
        on identifiers.identifier_type = 'shop_customer_id'
        and identifiers.identifier = shop_customers.shop_customer_id
    qualify row_number() over (
        partition by identifiers.customer_key
        order by (shop_customers.city is not null)::int + (shop_customers.region_code is not null)::int
            + (shop_customers.zip is not null)::int + (shop_customers.country_code is not null)::int
            desc,
            shop_customers.export_date desc, shop_customers.shop_customer_id
    ) = 1
),

email_consent as (
    -- Strict: an unsubscribe from any of the person's addresses wins; the newest status
    -- change says when the list last heard from them.
    select
        identifiers.customer_key,
        bool_or(members.status = 'unsubscribed') as has_unsubscribed,
        bool_or(members.status = 'subscribed') as has_subscribed,
        max(coalesce(members.last_changed_at, members.opted_in_at)) as list_changed_at
    from {{ ref('stg_mailchimp__members') }} as members
    inner join identifiers
        on identifiers.identifier_type = 'email' and identifiers.identifier = members.email
    group by identifiers.customer_key
),

shop_consent as (
    select identifiers.customer_key, bool_or(shop_customers.accepts_email_marketing) as accepts
    from {{ ref('stg_shop__customers') }} as shop_customers
    inner join identifiers
        on identifiers.identifier_type = 'shop_customer_id'
        and identifiers.identifier = shop_customers.shop_customer_id
    group by identifiers.customer_key
),

crm as (
    select identifiers.customer_key, contacts.*
    from {{ ref('stg_hubspot__contacts') }} as contacts
    inner join identifiers
        on identifiers.identifier_type = 'hubspot_record_id'
        and identifiers.identifier = contacts.hubspot_record_id
    qualify row_number() over (
        partition by identifiers.customer_key order by contacts.created_at desc,
            contacts.hubspot_record_id
    ) = 1
),

mailchimp as (
    select identifiers.customer_key, members.*
    from {{ ref('stg_mailchimp__members') }} as members
    inner join identifiers
        on identifiers.identifier_type = 'email'
        and identifiers.identifier = members.email
    -- A person on the list under two addresses: the subscribed one speaks for them.
    qualify row_number() over (
        partition by identifiers.customer_key
        order by members.status = 'subscribed' desc, members.last_changed_at desc, members.email
    ) = 1
),

orders as (
    -- Revenue is what orders brought in less what was given back (credit notes included);
    -- only purchases count as orders. Money is in the reporting currency: an order with no
    -- rate on its date is left out of it (and of the orders its average is over).
    select
        customer_key,
        count(*) filter (where is_purchase) as orders_count,
        count(*) filter (where is_purchase and amount_reporting is not null) as priced_orders,
        sum(amount_reporting - refunded_amount_reporting) as revenue,
        min(ordered_at) filter (where is_purchase) as first_order_at,
        max(ordered_at) filter (where is_purchase) as last_order_at,
        count(*) filter (where is_purchase
            and ordered_at >= date '{{ as_of_date() }}' - interval 365 day) as orders_365d,
        arg_max(billing_country, (ordered_at, order_id)) as last_billing_country
    from {{ ref('fct_orders') }}
    where not is_cancelled and not is_guest
    group by customer_key
),

email_engagement as (
    select
        customer_key,
        count(*) filter (where action = 'open'
            and action_at >= date '{{ as_of_date() }}' - interval 90 day) as email_opens_90d,
        count(*) filter (where action = 'click'
            and action_at >= date '{{ as_of_date() }}' - interval 90 day) as email_clicks_90d,
        max(action_at) filter (where action in ('open', 'click')) as last_email_engaged_at,
        count(distinct campaign_id) as email_campaigns_received
    from {{ ref('fct_email_events') }}
    where customer_key is not null
    group by customer_key
),

web as (
    select
        customer_key,
        count(*) as sessions_count,
        count(*) filter (where session_date >= date '{{ as_of_date() }}' - 90) as sessions_90d,
        min(session_started_at) as first_session_at,
        max(session_started_at) as last_session_at,
        arg_min(channel, (session_started_at, session_key)) as first_session_channel,
        first(device_category order by device_sessions desc, device_category) as main_device,
        -- Consent Mode on the newest visit: may the site store advertising cookies.
        arg_max(ads_storage_granted, (session_started_at, session_key)) as ad_storage_consent
    from (
        select *, count(*) over (partition by customer_key, device_category) as device_sessions
        from {{ ref('fct_sessions') }}
        where customer_key is not null
    )
    group by customer_key
),

pixel as (
    select
        identifiers.customer_key,
        bool_or(events.is_limited_data_use) as ccpa_opt_out
    from {{ ref('stg_meta_capi__events') }} as events
    inner join identifiers
        on identifiers.identifier_type = 'fbp' and identifiers.identifier = events.fbp
    group by identifiers.customer_key
),

nps as (
    select customer_key, arg_max(nps_score, (submitted_at, response_id)) as nps_score
    from {{ ref('fct_survey_responses') }}
    where customer_key is not null and nps_score is not null
    group by customer_key
),

sources as (
    select
        customer_key,
        string_agg(distinct source_name, ',' order by source_name) as sources_present
    from (
        select identifiers.customer_key, case records.record_source
            when 'shop_customer' then 'shop'
            when 'order' then 'shop'
            when 'ga4_device' then 'ga4'
            when 'ga4_link' then 'ga4'
            when 'capi' then 'meta'
            else records.record_source end as source_name
        from {{ ref('int_identity__records') }} as records
        inner join identifiers using (identifier_type, identifier)
    )
    group by customer_key
),

final as (
    select
        people.customer_key,
        best_email.email,
        best_email.email_source,
        coalesce(shop.first_name, crm.first_name, mailchimp.first_name) as first_name,
        coalesce(shop.last_name, crm.last_name, mailchimp.last_name) as last_name,
        case
            when coalesce(shop.first_name, shop.last_name) is not null then 'shop'
            when coalesce(crm.first_name, crm.last_name) is not null then 'hubspot'
            when coalesce(mailchimp.first_name, mailchimp.last_name) is not null then 'mailchimp'
        end as name_source,
        people.phone_e164,
        shop.city,
        shop.region_code,
        shop.zip,
        case when shop.customer_key is not null then 'shop:' || shop.shop_customer_id end
            as address_source,
        coalesce(shop.country_code, mailchimp.country_code, orders.last_billing_country)
            as country_code,
        coalesce(coalesce(shop.country_code, mailchimp.country_code, orders.last_billing_country)
            in ({%- for c in var('eea_countries') %}'{{ c }}'{{ ", " if not loop.last }}{% endfor -%}),
            false) as is_eea,
        people.shop_customer_id,
        people.hubspot_record_id,
        mailchimp.mailchimp_member_id,
        mailchimp.status as mailchimp_status,
        shop.accepts_email_marketing,
        -- Strict: an unsubscribe on any of their addresses wins; then a subscribed address;
        -- without any list status, the shop's consent on any of their accounts.
        case
            when email_consent.has_unsubscribed then false
            when email_consent.has_subscribed then true
            when email_consent.customer_key is not null then false
            else coalesce(shop_consent.accepts, false)
        end as is_emailable,
        case
            when email_consent.customer_key is not null then 'mailchimp'
            when shop_consent.accepts is not null then 'shop'
        end as email_consent_source,
        email_consent.list_changed_at as email_consent_changed_at,
        coalesce(web.ad_storage_consent, false) as ad_storage_consent,
        -- Consent Mode v2's two other ad signals are not in the GA4 export. Many consent
        -- banners grant them with ad_storage (one "marketing" choice); where the business says
        -- its banner does, ad storage consent carries them, otherwise they stay unknown (null),
        -- and ad platforms get nobody who needs them (the EEA).
        case when {{ var('consent_banner_grants_ad_signals_with_ad_storage') }}
            then coalesce(web.ad_storage_consent, false) end as ad_user_data_consent,
        case when {{ var('consent_banner_grants_ad_signals_with_ad_storage') }}
            then coalesce(web.ad_storage_consent, false) end as ad_personalization_consent,
        coalesce(pixel.ccpa_opt_out, false) as ccpa_opt_out,
        crm.lifecycle_stage,
        crm.lead_status,
        coalesce(
            web.first_session_channel,
            case crm.original_source
                when 'ORGANIC_SEARCH' then 'organic_search'
                when 'PAID_SEARCH' then 'paid_search'
                when 'PAID_SOCIAL' then 'paid_social'
                when 'SOCIAL_MEDIA' then 'organic_social'
                when 'EMAIL_MARKETING' then 'email'
                when 'REFERRALS' then 'referral'
                when 'DIRECT_TRAFFIC' then 'direct'
            end
        ) as acquisition_channel,
        people.first_seen_at,
        greatest(orders.last_order_at, web.last_session_at, email_engagement.last_email_engaged_at)
            as last_seen_at,
        cast(coalesce(orders.orders_count, 0) as integer) as orders_count,
        -- Nothing bought is 0; orders none of which has an exchange rate are unknown (null),
        -- not 0, as in customer_features.
        cast(case when orders.customer_key is null then 0 else orders.revenue end
            as decimal(18, 2)) as revenue,
        cast(orders.revenue / nullif(orders.priced_orders, 0) as decimal(18, 2)) as avg_order_value,
        orders.first_order_at,
        orders.last_order_at,
        cast(date_diff(
            'day', cast(orders.last_order_at as date), date '{{ as_of_date() }}'
        ) as integer) as days_since_last_order,
        cast(coalesce(orders.orders_365d, 0) as integer) as orders_365d,
        cast(coalesce(email_engagement.email_opens_90d, 0) as integer) as email_opens_90d,
        cast(coalesce(email_engagement.email_clicks_90d, 0) as integer) as email_clicks_90d,
        email_engagement.last_email_engaged_at,
        cast(coalesce(web.sessions_count, 0) as integer) as sessions_count,
        cast(coalesce(web.sessions_90d, 0) as integer) as sessions_90d,
        web.last_session_at,
        web.main_device,
        cast(nps.nps_score as integer) as nps_score,
        sources.sources_present
    from people
    left join best_email using (customer_key)
    left join email_consent using (customer_key)
    left join shop_consent using (customer_key)
    left join shop using (customer_key)
    left join crm using (customer_key)
    left join mailchimp using (customer_key)
    left join orders using (customer_key)
    left join email_engagement using (customer_key)
    left join web using (customer_key)
    left join pixel using (customer_key)
    left join nps using (customer_key)
    left join sources using (customer_key)
),

rfm as (
    -- Quintile scores 1-5 among buyers (5 = most recent, most frequent, most spent); equal
    -- values share a score, so the scores are the same every run.
    select
        customer_key,
        {{ quintile('-days_since_last_order') }} as rfm_recency_score,
        {{ quintile('orders_count') }} as rfm_frequency_score,
        -- Among the buyers whose revenue is known: one without any priced order has none.
        case when revenue is not null then {{ quintile('revenue', 'revenue is null') }} end
            as rfm_monetary_score
    from final
    where orders_count > 0
)

select final.*, rfm.* exclude (customer_key)
from final
left join rfm using (customer_key)
