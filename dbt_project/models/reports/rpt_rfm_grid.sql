{#
    The RFM grid: how many customers sit in each cell of recency score by frequency-and-
    monetary score (1 to 5 each, customer_rfm), with the cell's segment name.
#}
with rfm as (
    select * from {{ ref('customer_rfm') }}
),

final as (
    select
        rfm_recency_score,
        rfm_frequency_monetary_score,
        -- The segment is a function of the two scores, so each cell has one.
        min(rfm_segment) as rfm_segment,
        cast(count(*) as integer) as customers
    from rfm
    group by rfm_recency_score, rfm_frequency_monetary_score
)

select * from final
