{#
    Per Meta ad and day (the click day, as Meta credits conversions): what Meta reports
    (Insights, the newest restatement of a day), what the Conversions API sent (one event per
    event name + event id, as Meta deduplicates the Pixel's copy), and what the shop and the
    CRM recorded (fct_ad_attributed_orders), with the platform's purchases less the
    reconciled ones split into causes that add up to the difference:
    platform_purchases - reconciled_purchases
        = gap_duplicates + gap_outside_window + gap_refunded_cancelled + gap_unmatched.
    A day with shop conversions but no Insights row (no spend) has zero spend and platform
    figures; ad names come from the ad's newest Insights row.
#}
with insights as (
    select * from {{ ref('stg_meta_ads__insights') }}
),

attributed as (
    select * from {{ ref('fct_ad_attributed_orders') }}
),

clicks as (
    select * from {{ ref('int_ads__clicks') }}
),

rates as (
    {{ fx_rates() }}
),

reporting as (
    -- The currency the rates are quoted in (int_orders__rates decides it); none without orders.
    select any_value(reporting_currency) as reporting_currency
    from {{ ref('int_orders__rates') }}
),

capi as (
    select
        event_name,
        event_id,
        event_at,
        order_id,
        event_value,
        currency as event_currency,
        nullif(regexp_extract(fbc, '^fb\.[0-9]+\.[0-9]+\.(.+)$', 1), '') as fbclid
    from {{ ref('stg_meta_capi__events') }}
    where event_name = 'Purchase' and fbc is not null
),

ads as (
    select
        ad_id, account_id, currency, campaign_id, campaign_name, adset_id, adset_name, ad_name,
        -- Meta's click window, from e.g. '7d_click_1d_view'; its default when not named.
        coalesce(try_cast(regexp_extract(attribution_setting, '([0-9]+)d_click', 1) as integer),
                 7) as platform_click_days
    from insights
    qualify row_number() over (partition by ad_id order by date_day desc) = 1
),

capi_clicks as (
    -- Each Conversions API purchase on the click its _fbc names, with the days in between.
    select
        clicks.ad_id,
        clicks.click_date as date_day,
        capi.event_id,
        capi.order_id,
        capi.event_at,
        capi.event_value,
        capi.event_currency,
        ads.currency as account_currency,
        capi.event_at <= clicks.clicked_at + to_days({{ var('attribution_click_days') }})
            as is_in_window,
        capi.event_at <= clicks.clicked_at + to_days(ads.platform_click_days)
            as is_in_platform_window
    from capi
    inner join clicks using (fbclid)
    inner join ads using (ad_id)
    where capi.event_at >= clicks.clicked_at
),

capi_valued as (
    -- Each event's value in the ad account's currency: as sent when it is already in it,
    -- else through the reporting currency, at each currency's rate in force on the event's
    -- (UTC) date (a rate applies until the next one). No rate, or no currency: null.
    select
        capi_clicks.*,
        case
            when capi_clicks.event_currency = capi_clicks.account_currency
                then capi_clicks.event_value
            else capi_clicks.event_value
                * case when capi_clicks.event_currency = reporting.reporting_currency then 1
                       else event_rates.rate end
                / case when capi_clicks.account_currency = reporting.reporting_currency then 1
                       else account_rates.rate end
        end as event_value_account
    from capi_clicks
    cross join reporting
    asof left join rates as event_rates
        on event_rates.currency = capi_clicks.event_currency
        and cast(capi_clicks.event_at as date) >= event_rates.rate_date
    asof left join rates as account_rates
        on account_rates.currency = capi_clicks.account_currency
        and cast(capi_clicks.event_at as date) >= account_rates.rate_date
),

capi_by_ad as (
    select
        ad_id,
        date_day,
        count(*) filter (where is_in_window) as capi_purchases,
        -- A day with an event that did not convert has no total: a partial sum would pass
        -- for a whole.
        case when count(*) filter (where is_in_window and event_value_account is null) = 0
            then sum(event_value_account) filter (where is_in_window) end
            as capi_purchase_value,
        -- One order sent under two event ids: Meta's dedup keeps both.
        count(*) filter (where is_in_window and order_id is not null)
            - count(distinct order_id) filter (where is_in_window) as gap_duplicates,
        count(distinct coalesce(order_id, event_id))
            filter (where is_in_platform_window and not is_in_window) as gap_outside_window
    from capi_valued
    group by ad_id, date_day
),

shop_by_ad as (
    select
        ad_id,
        click_date as date_day,
        count(*) filter (where conversion_kind = 'purchase' and not is_cancelled)
            as reconciled_purchases,
        sum(value) filter (where conversion_kind = 'purchase' and not is_cancelled)
            as reconciled_value,
        count(*) filter (where conversion_kind = 'purchase' and not is_cancelled
                         and is_new_customer) as reconciled_new_customers,
        count(*) filter (where conversion_kind = 'lead') as reconciled_leads,
        count(*) filter (where conversion_kind = 'purchase' and is_cancelled)
            as gap_refunded_cancelled
    from attributed
    group by ad_id, click_date
),

days as (
    select ad_id, date_day from insights
    union
    select ad_id, date_day from shop_by_ad
    union
    select ad_id, date_day from capi_by_ad
),

joined as (
    select
        days.date_day,
        ads.account_id,
        ads.campaign_id,
        ads.campaign_name,
        ads.adset_id,
        ads.adset_name,
        days.ad_id,
        ads.ad_name,
        ads.currency,
        cast(coalesce(insights.spend, 0) as decimal(18, 2)) as spend,
        coalesce(insights.impressions, 0) as impressions,
        coalesce(insights.reach, 0) as reach,
        coalesce(insights.clicks, 0) as clicks,
        coalesce(insights.link_clicks, 0) as link_clicks,
        cast(coalesce(insights.purchases, 0) as double) as platform_purchases,
        cast(coalesce(insights.purchase_value, 0) as decimal(18, 2)) as platform_purchase_value,
        cast(coalesce(insights.leads, 0) as double) as platform_leads,
        cast(coalesce(capi_by_ad.capi_purchases, 0) as integer) as capi_purchases,
        -- No event that day is 0; events whose value did not convert leave it unknown.
        cast(case when capi_by_ad.ad_id is null then 0 else capi_by_ad.capi_purchase_value end
             as decimal(18, 2)) as capi_purchase_value,
        cast(coalesce(shop_by_ad.reconciled_purchases, 0) as integer) as reconciled_purchases,
        cast(coalesce(shop_by_ad.reconciled_value, 0) as decimal(18, 2)) as reconciled_value,
        cast(coalesce(shop_by_ad.reconciled_new_customers, 0) as integer)
            as reconciled_new_customers,
        cast(coalesce(shop_by_ad.reconciled_leads, 0) as integer) as reconciled_leads,
        cast(coalesce(capi_by_ad.gap_duplicates, 0) as double) as gap_duplicates,
        cast(coalesce(capi_by_ad.gap_outside_window, 0) as double) as gap_outside_window,
        cast(coalesce(shop_by_ad.gap_refunded_cancelled, 0) as double) as gap_refunded_cancelled
    from days
    inner join ads using (ad_id)
    left join insights using (ad_id, date_day)
    left join capi_by_ad using (ad_id, date_day)
    left join shop_by_ad using (ad_id, date_day)
),

final as (
    select
        * exclude (gap_duplicates, gap_outside_window, gap_refunded_cancelled),
        gap_duplicates,
        gap_outside_window,
        gap_refunded_cancelled,
        -- What no shop record explains: view-through credits (the shop never sees views),
        -- clicks the shop cannot see (cookies declined, another device, a guest checkout),
        -- less shop conversions Meta did not count. Negative when the shop finds more.
        platform_purchases - reconciled_purchases - gap_duplicates - gap_outside_window
            - gap_refunded_cancelled as gap_unmatched,
        cast(case when spend > 0 then platform_purchase_value / spend end as double)
            as platform_roas,
        cast(case when spend > 0 then reconciled_value / spend end as double)
            as reconciled_roas
    from joined
)

select * from final
