{#
    The budget plan for marketers: one row per Meta ad set with today's and the recommended
    daily budget, the change in conversions per week it is expected to bring with its 80%
    interval, the change in value, and the bids (target cost per result, target ROAS). The
    recommendation columns follow the shared contract (recommendation, kpi, expected_change,
    expected_low, expected_high) so the recommendation log can union them.
#}
with plan as (
    select * from {{ ref('stg_ml__ad_budget_plan') }}
),

final as (
    select
        as_of_date,
        adset_id,
        adset_name,
        campaign_id,
        campaign_name,
        objective,
        currency,
        status,
        reason,
        cast(current_daily_budget as decimal(18, 2)) as current_daily_budget,
        cast(recommended_daily_budget as decimal(18, 2)) as recommended_daily_budget,
        cast(recommended_daily_budget - current_daily_budget as decimal(18, 2)) as budget_change,
        cast(value_per_conversion as decimal(18, 2)) as value_per_conversion,
        cast(customer_value as decimal(18, 2)) as customer_value,
        marginal_roas_current,
        marginal_roas_recommended,
        cast(target_cpa as decimal(18, 2)) as target_cpa,
        target_roas,
        cast(expected_value_change as decimal(18, 2)) as expected_value_change,
        cast(expected_value_low as decimal(18, 2)) as expected_value_low,
        cast(expected_value_high as decimal(18, 2)) as expected_value_high,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        cast(plan_value_change as decimal(18, 2)) as plan_value_change,
        cast(plan_value_low as decimal(18, 2)) as plan_value_low,
        cast(plan_value_high as decimal(18, 2)) as plan_value_high
    from plan
)

select * from final
