{#
    One row per shop order or CRM lead that the shop's own records credit to a Meta ad: the
    person's last ad click within the attribution window (var attribution_click_days, from
    ads.yml) before the conversion. A click is found three ways, firmest first: the click id
    the order's session or Conversions API purchase carries, the ad the order's session
    landed from (utm_content), and the person's earlier clicks (identity). The latest click
    wins; the method is the firmest evidence for that click. Each conversion is credited once.
#}
with conversions as (
    select * from {{ ref('int_ads__conversions') }}
),

clicks as (
    select * from {{ ref('int_ads__clicks') }}
),

links as (
    select * from {{ ref('int_ads__click_links') }}
),

insights as (
    select * from {{ ref('stg_meta_ads__insights') }}
),

rates as (
    {{ fx_rates() }}
),

candidates as (
    select links.conversion_id, links.click_key, links.match_method
    from links
    union all
    select conversions.conversion_id, clicks.click_key, 'identity' as match_method
    from conversions
    inner join clicks using (customer_key)
),

in_window as (
    select
        conversions.*,
        clicks.click_key,
        clicks.clicked_at,
        clicks.click_date,
        clicks.account_id,
        clicks.campaign_id,
        clicks.adset_id,
        clicks.ad_id,
        candidates.match_method
    from candidates
    inner join conversions using (conversion_id)
    inner join clicks using (click_key)
    -- CRM exports state times to the minute (HubSpot's Create Date): a form sent seconds
    -- after the landing reads as before it, so the click is compared to the minute.
    where date_trunc('minute', clicks.clicked_at) <= conversions.converted_at
        and conversions.converted_at
            <= clicks.clicked_at + to_days({{ var('attribution_click_days') }})
),

last_click as (
    select *
    from in_window
    qualify row_number() over (
        partition by conversion_kind, conversion_id
        order by
            clicked_at desc,
            case match_method when 'click_id' then 1 when 'utm' then 2 else 3 end,
            click_key
    ) = 1
),

account_currencies as (
    select account_id, any_value(currency) as account_currency
    from insights
    group by account_id
),

converted as (
    -- Money into the ad account's currency: the reporting-currency amount divided by the
    -- account currency's rate (in reporting-currency units) in force on the order's date.
    select
        last_click.*,
        account_currencies.account_currency,
        case
            when last_click.conversion_kind = 'lead' then 1.0
            when account_currencies.account_currency = last_click.reporting_currency then 1.0
            else 1.0 / rates.rate
        end as to_account
    from last_click
    left join account_currencies using (account_id)
    asof left join rates
        on rates.currency = account_currencies.account_currency
        and last_click.value_date >= rates.rate_date
),

final as (
    select
        conversion_kind,
        conversion_id,
        customer_key,
        converted_at,
        click_date,
        campaign_id,
        adset_id,
        ad_id,
        match_method,
        is_new_customer,
        is_cancelled,
        cast((amount_reporting - refunded_amount_reporting) * to_account as decimal(18, 2))
            as value,
        cast(refunded_amount_reporting * to_account as decimal(18, 2)) as refunded_value
    from converted
)

select * from final
