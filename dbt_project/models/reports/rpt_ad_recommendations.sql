{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='recommended_on',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}
{#
    The log of every ad recommendation the daily run made: budget moves and bids
    (rpt_budget_plan, ad sets whose budget should change), creative refreshes (rpt_ad_creatives)
    and audience suggestions (rpt_ad_audience_suggestions), each with the KPI it aims at and
    its expected change per week and 80% interval. One run's rows replace that day's rows (a
    rerun of a day logs it once); earlier days stay, and a full refresh never empties the log:
    it is the history rpt_ad_recommendation_review reads two weeks later.
#}
with budget as (
    select
        as_of_date as recommended_on,
        'budget' as source,
        'adset' as subject_level,
        adset_id as subject_id,
        adset_name as subject_name,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        cast(budget_change as double) as budget_change_per_day
    from {{ ref('rpt_budget_plan') }}
    where status <> 'kept' and abs(budget_change) >= 0.01
),

creative as (
    select
        as_of_date as recommended_on,
        'creative' as source,
        'ad' as subject_level,
        ad_id as subject_id,
        ad_name as subject_name,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        cast(null as double) as budget_change_per_day
    from {{ ref('rpt_ad_creatives') }}
    where recommendation is not null
),

audience as (
    -- An audience is not an ad yet: what it aims at is the account's conversions.
    select
        suggested_on as recommended_on,
        'audience' as source,
        'account' as subject_level,
        suggestion_kind || ': ' || audience as subject_id,
        audience as subject_name,
        recommendation,
        kpi,
        expected_change,
        expected_low,
        expected_high,
        cast(null as double) as budget_change_per_day
    from {{ ref('rpt_ad_audience_suggestions') }}
),

final as (
    select * from budget
    union all
    select * from creative
    union all
    select * from audience
)

select
    cast(recommended_on as date) as recommended_on,
    cast(source as varchar) as source,
    cast(subject_level as varchar) as subject_level,
    cast(subject_id as varchar) as subject_id,
    cast(subject_name as varchar) as subject_name,
    cast(recommendation as varchar) as recommendation,
    cast(kpi as varchar) as kpi,
    cast(expected_change as double) as expected_change,
    cast(expected_low as double) as expected_low,
    cast(expected_high as double) as expected_high,
    budget_change_per_day
from final
where recommended_on = date '{{ as_of_date() }}'
