{#
    The log of identity changes, one row per change of a day: a new person, a merge (the
    older key survives; `previous_key` is the key that retired), a split (identifiers left
    `previous_key` for `customer_key`), or identifiers that left a person and belong to nobody
    now (shared by several people, or no longer in any export). `evidence` names what joined
    or parted them; `marketing identity explain` shows it with the records.
#}
with keys as (
    select * from {{ ref('int_identity__keys') }}
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
    where keys.valid_to is not null
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
