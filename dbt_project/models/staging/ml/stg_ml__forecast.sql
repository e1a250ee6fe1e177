with forecast as (
    select * from {{ source('ml', 'forecast') }}
),

final as (
    select
        sku,
        cast(week_start as date) as week_start,
        cast(units_forecast as double) as units_forecast,
        cast(units_low as double) as units_low,
        cast(units_high as double) as units_high,
        model,
        cast(as_of_date as date) as as_of_date
    from forecast
)

select * from final
