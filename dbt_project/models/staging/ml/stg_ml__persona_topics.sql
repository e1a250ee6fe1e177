with topics as (
    select * from {{ source('ml', 'persona_topics') }}
),

final as (
    select
        cast(persona_id as integer) as persona_id,
        kind,
        item,
        cast(rank as integer) as rank,
        score,
        cast(documents as integer) as documents,
        share
    from topics
)

select * from final
