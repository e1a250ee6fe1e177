{#
    The log of identity changes, one row per change of a day: a new person, a merge (the
    older key survives; `previous_key` is the key that retired), a split (identifiers left
    `previous_key` for `customer_key`), or identifiers that left a person and belong to nobody
    now (shared by several people, or no longer in any export). `evidence` names what joined
    or parted them; `marketing identity explain` shows it with the records.

    Incremental like the registry it reads: a run writes the days from the one it decides
    identity as of (int_identity__runs) on, which are all the registry's rows that run can
    change, after forgetting what an earlier run wrote for them; earlier days keep their rows
    and their evidence as it stood then.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where changed_on >= (select max(decided_on) from {{ ref('int_identity__runs') }}){% endif %}",
) }}

with since as (
    -- The first day this run writes: all of them in a full build.
    select
        max({% if is_incremental() %} decided_on {% else %} date '0001-01-01' {% endif %})
            as changed_on
    from {{ ref('int_identity__runs') }}
),

keys as (
    -- The registry's rows opened or ended on those days.
    select * from {{ ref('int_identity__keys') }}
    where valid_from >= (select changed_on from since)
        or valid_to >= (select changed_on from since)
),

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

changed as (
    select
        valid_from as changed_on,
        change,
        customer_key,
        previous_key,
        count(*) as identifiers,
        list(identifier_type || ':' || identifier order by identifier_type, identifier)[:20]
            as sample_identifiers,
        min(evidence) as evidence
    from keys
    where change in ('new', 'merged', 'split')
        and valid_from >= (select changed_on from since)
    group by all
),

opened as (
    select identifier_type, identifier, valid_from from keys
),

departed as (
    -- A row that ended with no row opening for the identifier that day.
    select
        keys.valid_to as changed_on,
        'left' as change,
        cast(null as varchar) as customer_key,
        keys.customer_key as previous_key,
        count(*) as identifiers,
        list(keys.identifier_type || ':' || keys.identifier
             order by keys.identifier_type, keys.identifier)[:20] as sample_identifiers,
        case
            when bool_or(clusters.resolution = 'shared') then 'shared by several people now'
            when bool_or(clusters.resolution = 'split') then 'in a cluster split back into its parts'
            else 'no longer in any export'
        end as evidence
    from keys
    left join clusters using (identifier_type, identifier)
    where keys.valid_to >= (select changed_on from since)
        and not exists (
            select 1 from opened
            where opened.identifier_type = keys.identifier_type
                and opened.identifier = keys.identifier
                and opened.valid_from = keys.valid_to
        )
    group by all
),

final as (
    select * from changed
    union all
    select * from departed
)

select * from final
