with hours as (
    select * from {{ source('ml', 'persona_shop_hours') }}
),

final as (
    select
        cast(persona_id as integer) as persona_id,
        cast(local_hour as integer) as local_hour,
        cast(customers as integer) as customers
    from hours
)

select * from final
