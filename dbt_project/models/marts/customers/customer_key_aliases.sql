{#
    Every customer_key that was merged into another, with the key it resolves to today: a key
    merged into one that was itself merged later resolves to the end of the chain. Exports,
    experiment assignments and analysts' saved lists that hold an old key find the person
    through this table; a key that is still live is not in it.
#}
with recursive keys as (
    select * from {{ ref('int_identity__keys') }}
),

live as (
    select distinct customer_key from keys where valid_to is null
),

merges as (
    -- A merged key's identifiers all joined the survivor on the day it retired.
    select previous_key as alias_key, min(customer_key) as merged_into, min(valid_from) as merged_on
    from keys
    where change = 'merged'
    group by previous_key
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
