{#
    Every Meta ad click the site saw: a GA4 session that landed from a Meta ad (utm_content
    names an ad the Insights export knows). The sessions one click id opens (a reload, a tab
    reopened later) are one click, at its first session; a landing without a click id is a
    click of its own. The person is the session's device, or failing that the click id's.
#}
with sessions as (
    select * from {{ ref('int_ga4__sessions') }}
    where utm_content is not null
),

ads as (
    -- An ad's ad set and campaign as the newest Insights row names them.
    select ad_id, account_id, campaign_id, adset_id
    from {{ ref('stg_meta_ads__insights') }}
    qualify row_number() over (partition by ad_id order by date_day desc) = 1
),

identifiers as (
    select identifier_type, identifier, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type in ('ga4_user_pseudo_id', 'meta_click_id')
        and customer_key is not null
),

landings as (
    select
        coalesce('fbclid:' || sessions.fbclid, 'session:' || sessions.session_key) as click_key,
        sessions.session_key,
        sessions.user_pseudo_id,
        sessions.fbclid,
        sessions.utm_content as ad_id,
        sessions.session_started_at as clicked_at,
        sessions.leads > 0 as has_lead
    from sessions
    inner join ads on ads.ad_id = sessions.utm_content
),

clicks as (
    select
        click_key,
        arg_min(session_key, (clicked_at, session_key)) as session_key,
        arg_min(user_pseudo_id, (clicked_at, session_key)) as user_pseudo_id,
        any_value(fbclid) as fbclid,
        arg_min(ad_id, (clicked_at, session_key)) as ad_id,
        min(clicked_at) as clicked_at,
        bool_or(has_lead) as has_lead
    from landings
    group by click_key
),

final as (
    select
        clicks.click_key,
        clicks.session_key,
        clicks.fbclid,
        coalesce(devices.customer_key, click_ids.customer_key) as customer_key,
        ads.account_id,
        ads.campaign_id,
        ads.adset_id,
        clicks.ad_id,
        clicks.clicked_at,
        cast(clicks.clicked_at as date) as click_date,
        clicks.has_lead
    from clicks
    inner join ads using (ad_id)
    left join identifiers as devices
        on devices.identifier_type = 'ga4_user_pseudo_id'
        and devices.identifier = clicks.user_pseudo_id
    left join identifiers as click_ids
        on click_ids.identifier_type = 'meta_click_id'
        and click_ids.identifier = clicks.fbclid
)

select * from final
