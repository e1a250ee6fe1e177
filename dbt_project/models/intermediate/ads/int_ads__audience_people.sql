{#
    Who each Meta campaign reached and what they did: one row per campaign and person who
    came to the site from one of its ads (a GA4 session whose utm_content is the ad's id, up
    to the run's date) or whom the shop's records credit with a conversion from it
    (fct_ad_attributed_orders). A visitor not yet known as a customer is counted by their GA4
    cookie and has no persona, RFM group or known region. Each person carries the groups the
    audiences are read by: persona, RFM segment and region (country and state or province).
#}
with sessions as (
    select * from {{ ref('fct_sessions') }}
    where utm_content is not null and session_date <= date '{{ as_of_date() }}'
),

ads as (
    select distinct ad_id, campaign_id from {{ ref('stg_meta_ads__insights') }}
),

campaign_names as (
    select campaign_id, campaign_name
    from {{ ref('stg_meta_ads__insights') }}
    qualify row_number() over (partition by campaign_id order by date_day desc) = 1
),

conversions as (
    select * from {{ ref('fct_ad_attributed_orders') }}
    where not is_cancelled and converted_at < {{ end_of_as_of_date() }}
        and customer_key is not null
),

personas as (
    select * from {{ ref('stg_ml__personas') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

reached as (
    select distinct
        ads.campaign_id,
        coalesce(sessions.customer_key, 'visitor:' || sessions.user_pseudo_id) as person_key,
        sessions.customer_key
    from sessions
    inner join ads on sessions.utm_content = ads.ad_id
),

converted as (
    select
        campaign_id,
        customer_key as person_key,
        customer_key,
        count(*) as conversions,
        sum(value) as conversion_value
    from conversions
    group by campaign_id, customer_key
),

people as (
    select campaign_id, person_key, customer_key from reached
    union
    select campaign_id, person_key, customer_key from converted
),

final as (
    select
        people.campaign_id,
        campaign_names.campaign_name,
        people.person_key,
        people.customer_key,
        case
            when people.customer_key is null then 'not identified'
            else coalesce(personas.persona_name, 'no persona (no order yet)')
        end as persona,
        case
            when people.customer_key is null then 'not identified'
            else coalesce(rfm.rfm_segment, 'no order yet')
        end as rfm_segment,
        coalesce(
            customers.country_code || '-' || customers.region_code, customers.country_code,
            'unknown'
        ) as region,
        cast(coalesce(converted.conversions, 0) as integer) as conversions,
        cast(coalesce(converted.conversion_value, 0) as double) as conversion_value
    from people
    left join campaign_names using (campaign_id)
    left join converted using (campaign_id, person_key)
    left join personas on personas.customer_key = people.customer_key
    left join rfm on rfm.customer_key = people.customer_key
    left join customers on customers.customer_key = people.customer_key
)

select * from final
