{# reports.rpt_ab_tests: the typed, documented face of int_experiments__ab_tests (a Python model). #}
with computed as (
    select * from {{ ref('int_experiments__ab_tests') }}
),

final as (
    select
        cast(test_id as varchar) as test_id,
        cast(platform as varchar) as platform,
        cast(test_name as varchar) as test_name,
        cast(field as varchar) as field,
        cast(variant as varchar) as variant,
        cast(variant_label as varchar) as variant_label,
        cast(metric as varchar) as metric,
        cast(started_on as date) as started_on,
        cast(as_of_date as date) as as_of_date,
        cast(trials as bigint) as trials,
        cast(successes as bigint) as successes,
        cast(rate as double) as rate,
        cast(rate_low as double) as rate_low,
        cast(rate_high as double) as rate_high,
        cast(prob_best as double) as prob_best,
        cast(is_winner as boolean) as is_winner,
        cast(verdict as varchar) as verdict,
        cast(summary as varchar) as summary
    from computed
)

select * from final
