{{ config(tags=['report']) }}
with loads as (
    select * from {{ source('audit', 'loads') }}
),

final as (
    select
        file_path,
        source,
        entity,
        status,
        cast(rows_read as bigint) as rows_read,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        run_id,
        loaded_at
    from loads
)

select * from final
