{#
    Every customer_key that was merged into another, with the key it resolves to today: a key
    merged into one that was itself merged later resolves to the end of the chain. Exports,
    experiment assignments and analysts' saved lists that hold an old key find the person
    through this table; a key that is still live is not in it, nor one a part took back when
    its merge was undone (pipelines.identity.keys), unless it was merged again since.
#}
with recursive keys as (
    select * from {{ ref('int_identity__keys') }}
),

live as (
    select distinct customer_key from keys where valid_to is null
),

retired as (
    -- The day each key that is not live lost its last identifiers.
    select customer_key as alias_key, max(valid_to) as retired_on
    from keys
    where customer_key not in (select customer_key from live)
    group by customer_key
),

merges as (
    -- A key retired by a merge: its identifiers all joined the survivor on the day it retired.
    -- Of a key merged, taken back and merged again, the latest merge counts.
    select
        keys.previous_key as alias_key,
        min(keys.customer_key) as merged_into,
        keys.valid_from as merged_on
    from keys
    inner join retired
        on retired.alias_key = keys.previous_key and retired.retired_on = keys.valid_from
    where keys.change = 'merged'
    group by keys.previous_key, keys.valid_from
),

chains as (
    select alias_key, merged_into as customer_key, merged_on, cast(1 as integer) as hops
    from merges
    union all
    select chains.alias_key, merges.merged_into, chains.merged_on, cast(chains.hops + 1 as integer)
    from chains
    inner join merges on merges.alias_key = chains.customer_key
),

final as (
    select alias_key, customer_key, merged_on, hops
    from chains
    where customer_key in (select customer_key from live)
)

select * from final
