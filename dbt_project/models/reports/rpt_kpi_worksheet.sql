{#
    The KPI worksheet: every KPI of kpis.yml per ISO week and the channel it is measured on,
    beside the user's target. Each channel's figures come from its intermediate model
    (int_kpis__*_weeks), where each KPI's formula is written once; here they are laid out one
    row per KPI with the file's label, definition, unit and direction.
#}
with kpis as (
    select * from {{ ref('stg_settings__kpis') }}
),

paid as (
    select 'paid' as channel, *
    from {{ ref('int_kpis__paid_weeks') }}
    unpivot include nulls (kpi_value for kpi in (columns(* exclude (week_start))))
),

email as (
    select 'email' as channel, *
    from {{ ref('int_kpis__email_weeks') }}
    unpivot include nulls (kpi_value for kpi in (columns(* exclude (week_start))))
),

shop as (
    select 'shop' as channel, *
    from {{ ref('int_kpis__shop_weeks') }}
    unpivot include nulls (kpi_value for kpi in (columns(* exclude (week_start))))
),

measured as (
    select * from paid
    union all by name
    select * from email
    union all by name
    select * from shop
),

final as (
    select
        measured.week_start,
        strftime(measured.week_start, '%G-W%V') as iso_week,
        measured.week_start + 6 <= date '{{ as_of_date() }}' as is_complete_week,
        measured.channel,
        kpis.kpi,
        kpis.kpi_order,
        kpis.label,
        kpis.unit,
        kpis.good_direction,
        cast(measured.kpi_value as double) as kpi_value,
        kpis.target,
        case
            when measured.kpi_value is null or kpis.target is null then null
            when kpis.good_direction = 'higher' then measured.kpi_value >= kpis.target
            else measured.kpi_value <= kpis.target
        end as meets_target,
        kpis.definition
    from measured
    inner join kpis using (channel, kpi)
)

select * from final
