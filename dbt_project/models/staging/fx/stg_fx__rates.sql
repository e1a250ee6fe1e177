with source as (
    select * from {{ source('fx', 'rates') }}
),

renamed as (
    select
        cast(strptime(trim(date), '%Y-%m-%d') as date) as rate_date,
        upper(trim(currency)) as currency,
        cast(trim(rate) as double) as rate,
        _file as source_file,
        _row as source_row
    from source
)

select * from renamed
