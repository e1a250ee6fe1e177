with source as (
    select * from {{ source('settings', 'kpis') }}
),

renamed as (
    select
        cast(kpi as varchar) as kpi,
        cast(channel as varchar) as channel,
        cast(kpi_order as integer) as kpi_order,
        cast(label as varchar) as label,
        cast(definition as varchar) as definition,
        cast(unit as varchar) as unit,
        cast(good_direction as varchar) as good_direction,
        cast(target as double) as target
    from source
)

select * from renamed
