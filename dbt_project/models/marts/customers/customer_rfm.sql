{#
    RFM segments with their customary names, from the quintile scores in dim_customers: recency
    on its own, frequency and monetary averaged (the common 11-segment map).
#}
with customers as (
    -- A buyer whose spend is unknown (no order with an exchange rate) is placed by
    -- frequency alone rather than left out.
    select customer_key, rfm_recency_score as r,
        round((rfm_frequency_score + coalesce(rfm_monetary_score, rfm_frequency_score)) / 2.0)
            as fm
    from {{ ref('dim_customers') }}
    where rfm_recency_score is not null
),

final as (
    select
        customer_key,
        cast(r as integer) as rfm_recency_score,
        cast(fm as integer) as rfm_frequency_monetary_score,
        case
            when r >= 4 and fm >= 4 then 'champions'
            when r >= 3 and fm >= 3 then 'loyal'
            when r >= 4 and fm >= 2 then 'potential_loyalists'
            when r = 5 and fm = 1 then 'new'
            when r = 4 and fm = 1 then 'promising'
            when r = 3 and fm = 2 then 'need_attention'
            when r = 3 and fm = 1 then 'about_to_sleep'
            when r <= 2 and fm >= 5 then 'cannot_lose_them'
            when r <= 2 and fm >= 3 then 'at_risk'
            when r = 2 then 'hibernating'
            else 'lost'
        end as rfm_segment
    from customers
)

select * from final
