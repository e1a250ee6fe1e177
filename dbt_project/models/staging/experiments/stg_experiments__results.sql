{#
    Experiment results, one row per unit: the columns every experiment has, renamed and
    cleaned, then every other column of the export (outcomes such as visits, conversions or
    spend, and covariates) as text under its own name, for the readout to cast as it needs.
#}
with source as (
    select * from {{ source('experiments', 'results') }}
),

renamed as (
    select
        {{ clean_text('experiment') }} as experiment_id,
        {{ clean_text('arm') }} as arm,
        {{ clean_text('customer_id') }} as shop_customer_id,
        {{ normalize_email('email') }} as email,
        {{ clean_text('unit_id') }} as unit_id,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at,
        * exclude (experiment, arm, customer_id, email, unit_id, _file, _row, _loaded_at, _run_id)
    from source
)

select * from renamed
