with forecast_total as (
    select * from {{ source('ml', 'forecast_total') }}
),

final as (
    select
        cast(week_start as date) as week_start,
        cast(units_forecast as double) as units_forecast,
        cast(units_low as double) as units_low,
        cast(units_high as double) as units_high,
        model,
        cast(is_published as boolean) as is_published,
        cast(as_of_date as date) as as_of_date
    from forecast_total
)

select * from final
