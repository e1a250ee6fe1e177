{# reports.rpt_seasonal_index: the typed, documented face of int_ads__seasonal_index (a Python model). #}
with computed as (
    select * from {{ ref('int_ads__seasonal_index') }}
),

final as (
    select
        cast(region as varchar) as region,
        cast(category as varchar) as category,
        cast(month as integer) as month,
        cast(observed as double) as observed,
        cast(expected as double) as expected,
        cast(raw_index as double) as raw_index,
        cast(pooled_index as double) as pooled_index,
        cast(prior_strength as double) as prior_strength,
        cast(seasonal_index as double) as seasonal_index,
        cast(index_low as double) as index_low,
        cast(index_high as double) as index_high,
        cast(prob_above_one as double) as prob_above_one
    from computed
)

select * from final
