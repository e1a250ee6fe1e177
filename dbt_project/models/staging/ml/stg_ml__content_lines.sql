with content_lines as (
    select * from {{ source('ml', 'content_lines') }}
),

final as (
    select
        cast(as_of_date as date) as as_of_date,
        persona,
        goal,
        format,
        cast(rank as integer) as rank,
        text,
        cast(predicted as double) as predicted,
        evidence,
        backend,
        offer_code
    from content_lines
)

select * from final
