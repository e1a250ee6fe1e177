{# The day's budget plan as the optimise_ads task wrote it, one row per Meta ad set. #}
with plan as (
    select * from {{ source('ml', 'ad_budget_plan') }}
),

final as (
    select
        cast(as_of_date as date) as as_of_date,
        cast(adset_id as varchar) as adset_id,
        adset_name,
        cast(campaign_id as varchar) as campaign_id,
        campaign_name,
        objective,
        currency,
        outcome,
        status,
        reason,
        days_fitted,
        active_days,
        conversions_fitted,
        alpha,
        kappa,
        beta,
        decay,
        value_per_conversion,
        customer_value,
        value_basis,
        current_daily_budget,
        recommended_daily_budget,
        lower_bound,
        upper_bound,
        marginal_roas_current,
        marginal_roas_recommended,
        expected_conversions_per_week,
        expected_value_change,
        expected_value_low,
        expected_value_high,
        target_cpa,
        target_roas,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        plan_value_change,
        plan_value_low,
        plan_value_high
    from plan
)

select * from final
