{#
    The paid channel's KPIs per ISO week (Monday start, UTC days as Meta exports them), from
    the reconciled ad conversions: one row per week with any ad delivery. Conversions are on
    the click's day, as Meta credits them. Reach: Meta exports it per ad and day, and a person
    reached on two days counts on both, so the week's reach is the busiest day's (a floor under
    the true unique reach) and frequency is impressions per person reached per day (impressions
    over the sum of daily reach). A ratio with a zero denominator is null, never zero.
#}
with conversions as (
    select * from {{ ref('fct_ad_conversions') }}
),

daily as (
    select
        date_day,
        sum(reach) as reach
    from conversions
    group by date_day
),

busiest_day as (
    select
        cast(date_trunc('week', date_day) as date) as week_start,
        max(reach) as reach_busiest_day,
        sum(reach) as reach_day_sum
    from daily
    group by 1
),

weekly as (
    select
        cast(date_trunc('week', date_day) as date) as week_start,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(link_clicks) as link_clicks,
        sum(platform_purchase_value) as platform_purchase_value,
        sum(reconciled_purchases + reconciled_leads) as conversions,
        sum(reconciled_value) as reconciled_value,
        sum(reconciled_new_customers) as new_customers
    from conversions
    group by 1
),

final as (
    select
        weekly.week_start,
        cast(weekly.spend as double) as spend,
        cast(weekly.impressions as double) as impressions,
        cast(busiest_day.reach_busiest_day as double) as reach,
        weekly.impressions / nullif(busiest_day.reach_day_sum, 0) as frequency,
        weekly.link_clicks / nullif(weekly.impressions, 0) as ctr,
        cast(weekly.spend as double) / nullif(weekly.link_clicks, 0) as cpc,
        cast(weekly.spend as double) * 1000 / nullif(weekly.impressions, 0) as cpm,
        cast(weekly.conversions as double) as conversions,
        weekly.conversions / nullif(weekly.link_clicks, 0) as conversion_rate,
        cast(weekly.spend as double) / nullif(weekly.conversions, 0) as cpa,
        cast(weekly.spend as double) / nullif(weekly.new_customers, 0) as new_customer_cac,
        cast(weekly.platform_purchase_value as double) / nullif(weekly.spend, 0)
            as roas_platform,
        cast(weekly.reconciled_value as double) / nullif(weekly.spend, 0) as roas_reconciled
    from weekly
    inner join busiest_day using (week_start)
)

select * from final
