with personas as (
    select * from {{ source('ml', 'personas') }}
),

final as (
    select
        customer_key,
        cast(persona_id as integer) as persona_id,
        persona_name
    from personas
)

select * from final
