with send_times as (
    select * from {{ source('ml', 'send_times') }}
),

final as (
    select
        customer_key,
        cast(as_of_date as date) as as_of_date,
        timezone,
        cast(best_hour_local as integer) as best_hour_local,
        cast(best_weekday as integer) as best_weekday,
        cast(send_hour_utc as integer) as send_hour_utc,
        evidence,
        cast(opens as double) as opens,
        cast(clicks as integer) as clicks,
        cast(weight_own as double) as weight_own,
        send_group
    from send_times
)

select * from final
