{# reports.rpt_ad_audiences: the typed, documented face of int_ads__audience_cells (a Python model). #}
with computed as (
    select * from {{ ref('int_ads__audience_cells') }}
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(campaign_name as varchar) as campaign_name,
        cast(dimension as varchar) as dimension,
        cast(audience as varchar) as audience,
        cast(people_reached as integer) as people_reached,
        cast(converters as integer) as converters,
        cast(conversions as integer) as conversions,
        cast(conversion_value as double) as conversion_value,
        cast(conversion_rate as double) as conversion_rate,
        cast(conversion_rate_shrunk as double) as conversion_rate_shrunk,
        cast(conversion_rate_low as double) as conversion_rate_low,
        cast(conversion_rate_high as double) as conversion_rate_high,
        cast(campaign_rate as double) as campaign_rate,
        cast(prior_people as double) as prior_people,
        cast(value_per_customer as double) as value_per_customer,
        cast(value_per_customer_shrunk as double) as value_per_customer_shrunk,
        cast(value_per_person_reached as double) as value_per_person_reached,
        cast(campaign_identified_share as double) as campaign_identified_share
    from computed
)

select * from final
