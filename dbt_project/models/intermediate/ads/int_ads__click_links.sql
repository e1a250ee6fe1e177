{#
    Evidence that ties one order to one ad click without the person: the GA4 session in which
    the order was placed, when it landed from an ad (its click id, else its utm_content), and
    the Conversions API purchase whose _fbc cookie holds the click id. One row per order and
    click, with the firmest evidence: a click id beats a UTM landing.
#}
with sessions as (
    select * from {{ ref('int_ga4__sessions') }}
    where utm_content is not null and purchases > 0
),

capi as (
    select
        order_id as platform_order_id,
        nullif(regexp_extract(fbc, '^fb\.[0-9]+\.[0-9]+\.(.+)$', 1), '') as fbclid
    from {{ ref('stg_meta_capi__events') }}
    where event_name = 'Purchase' and order_id is not null and fbc is not null
),

clicks as (
    select * from {{ ref('int_ads__clicks') }}
),

conversions as (
    select conversion_id, platform_order_id
    from {{ ref('int_ads__conversions') }}
    where conversion_kind = 'purchase'
),

ga4_links as (
    select
        conversions.conversion_id,
        clicks.click_key,
        case when sessions.fbclid is not null then 'click_id' else 'utm' end as match_method
    from sessions, unnest(sessions.transaction_ids) as t(transaction_id)
    inner join conversions on conversions.platform_order_id = t.transaction_id
    inner join clicks
        on clicks.click_key = coalesce(
            'fbclid:' || sessions.fbclid, 'session:' || sessions.session_key)
),

capi_links as (
    select conversions.conversion_id, clicks.click_key, 'click_id' as match_method
    from capi
    inner join conversions using (platform_order_id)
    inner join clicks using (fbclid)
),

unioned as (
    select * from ga4_links
    union all
    select * from capi_links
),

final as (
    select conversion_id, click_key, min(match_method) as match_method
    from unioned
    group by conversion_id, click_key
)

select * from final
