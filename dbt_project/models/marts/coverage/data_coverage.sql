{#
    What the shop's exports let a run cover, one row per capability: whether the data is there,
    how many rows carry it, and when it is missing, one sentence on what could not be done and
    why. The daily steps name the missing ones they depend on in their summaries and logs
    (pipelines/coverage.py); the report lists them.
#}
with orders as (
    select * from {{ ref('fct_orders') }}
),

lines as (
    select * from {{ ref('fct_order_lines') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

leads as (
    select * from {{ ref('fct_leads') }}
),

ad_days as (
    select * from {{ ref('fct_ad_conversions') }}
),

responses as (
    select * from {{ ref('fct_survey_responses') }}
),

social_posts as (
    select * from {{ ref('fct_social_posts') }}
),

unrated as (
    -- Orders whose currency had no rate on their date: never converted, so left out of
    -- customer money (fct_orders' `_reporting` columns are null).
    select currency, count(*) as orders
    from orders
    where fx_rate is null
    group by currency
),

counts as (
    select
        (select count(*) from orders) as orders,
        (select count(*) from lines where sku is not null) as lines_with_product_id,
        (select count(*) from lines where category is not null) as lines_with_category,
        (select count(*) from customers where email is not null) as customers_with_email,
        (select count(*) from customers where phone_e164 is not null) as customers_with_phone,
        (select count(*) from customers
            where mailchimp_status is not null or accepts_email_marketing is not null)
            as customers_with_email_consent,
        (select count(*) from sessions) as sessions,
        (select count(*) from email_events where action in ('open', 'click')) as email_reads,
        (select count(*) from leads) as leads,
        (select count(*) from ad_days) as ad_days,
        (select count(*) from responses where nps_score is not null) as nps_answers,
        (select count(*) from social_posts) as social_posts,
        (select count(distinct currency) from orders) as currencies,
        (select string_agg(distinct currency, ', ' order by currency) from orders)
            as currency_list,
        (select count(*) from orders where fx_rate is not null) as rated_orders,
        (select coalesce(sum(orders), 0) from unrated) as unrated_orders,
        (select string_agg(orders || ' ' || case when orders = 1 then 'order' else 'orders' end
            || ' in ' || currency, ', ' order by currency) from unrated) as unrated_list,
        (select string_agg(currency, ', ' order by currency) from unrated) as unrated_currencies,
        (select min(reporting_currency) from orders) as reporting_currency
),

capabilities as (
    select
        'orders' as capability, 'orders, shop' as sources, orders as evidence_rows,
        orders > 0 as is_available, cast(null as varchar) as detail,
        'no orders in any export: no churn or value scores, no units forecast and no personas'
            as missing_reason
    from counts
    union all
    select
        'product_ids', 'orders (product_id), shop', lines_with_product_id,
        lines_with_product_id > 0, null,
        'the orders carry no product ids: units are forecast for the shop''s total, '
        || 'not per product'
    from counts
    union all
    select
        'product_categories', 'orders (category), ga4 (purchase items)', lines_with_category,
        lines_with_category > 0, null,
        'no product categories (neither a category column in the orders nor GA4 purchases '
        || 'name them): personas have no product mix'
    from counts
    union all
    select
        'customer_emails', 'orders (email), shop, mailchimp, hubspot', customers_with_email,
        customers_with_email > 0, null,
        case when customers_with_phone > 0
            then 'no customer has an email address: no Mailchimp audience can be made, and '
                || 'Meta and Google audiences match on phone numbers alone'
            else 'no customer has an email address or a phone number: no Mailchimp, Meta or '
                || 'Google audience can be made'
        end
    from counts
    union all
    select
        'email_consent', 'mailchimp, shop (Accepts Marketing)', customers_with_email_consent,
        customers_with_email_consent > 0, null,
        'nobody''s email consent is known (no Mailchimp audience, no accepts-marketing '
        || 'field): no one may be emailed, so Mailchimp files are empty'
    from counts
    union all
    select
        'web_sessions', 'ga4', sessions, sessions > 0, null,
        'no web analytics (GA4): no visit features for churn, value and personas, no '
        || 'acquisition channel, and no ad consent, so nobody goes to Meta or Google audiences'
    from counts
    union all
    select
        'email_activity', 'mailchimp (email_activity)', email_reads, email_reads > 0, null,
        'no email opens or clicks (Mailchimp activity): no email engagement features and no '
        || 'best send hour'
    from counts
    union all
    select
        'crm_contacts', 'hubspot', leads, leads > 0, null,
        'no CRM contacts (HubSpot): no lead scores and no CRM upload file'
    from counts
    union all
    select
        'ad_performance', 'meta_ads', ad_days, ad_days > 0, null,
        'no ad results (Meta Ads Insights): no ad spend or return on ad spend'
    from counts
    union all
    select
        'survey_responses', 'typeform', nps_answers, nps_answers > 0, null,
        'no survey answers (Typeform NPS): no NPS for customers or personas'
    from counts
    union all
    select
        'social_activity', 'social', social_posts, social_posts > 0, null,
        'no social media exports (Facebook Page, Instagram): no post themes, formats or '
        || 'posting hours, and nothing customers said or liked there in the personas'
    from counts
    union all
    select
        'single_currency', 'orders (currency), shop', orders, currencies <= 1, currency_list,
        'the orders are in ' || currencies || ' currencies (' || currency_list || '): money '
        || 'is shown per currency, never added across them'
    from counts
    union all
    select
        'currency_rates', 'fx, orders (currency), shop', rated_orders, unrated_orders = 0,
        unrated_currencies,
        unrated_list || ' have no exchange rate to ' || reporting_currency || ' on their date'
        || ': they are left out of customer revenue, order values and lifetime value; '
        || 'add landing/fx/ rates'
    from counts
),

final as (
    select
        capability,
        sources,
        is_available,
        cast(evidence_rows as bigint) as evidence_rows,
        detail,
        case when not is_available then missing_reason end as missing_reason
    from capabilities
)

select * from final
