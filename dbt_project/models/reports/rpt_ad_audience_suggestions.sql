{# reports.rpt_ad_audience_suggestions: the typed, documented face of int_ads__audience_suggestions (a Python model). #}
with computed as (
    select * from {{ ref('int_ads__audience_suggestions') }}
),

final as (
    select
        cast(suggestion_kind as varchar) as suggestion_kind,
        cast(audience as varchar) as audience,
        cast(recommendation as varchar) as recommendation,
        cast(kpi as varchar) as kpi,
        cast(expected_change as double) as expected_change,
        cast(expected_low as double) as expected_low,
        cast(expected_high as double) as expected_high,
        cast(people as integer) as people,
        cast(people_reached as integer) as people_reached,
        cast(evidence as double) as evidence,
        cast(suggested_on as date) as suggested_on
    from computed
)

select * from final
