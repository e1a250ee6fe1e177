{#
    Every link identity resolution follows: two identifiers shown on one record
    (int_identity__edges), and two person records the probabilistic matcher takes for one
    person (int_identity__fuzzy_links, drawn between the records' hub identifiers), with
    `evidence` saying why (null for a shared record).
#}
with edges as (
    select *, cast(null as varchar) as evidence from {{ ref('int_identity__edges') }}
),

records as (
    select record_key, hub_type, hub from {{ ref('int_identity__person_records') }}
),

fuzzy as (
    select
        left_record.hub_type as identifier_type,
        left_record.hub as identifier,
        right_record.hub_type as linked_type,
        right_record.hub as linked_identifier,
        'probabilistic match ' || printf('%.3f', links.match_probability) || ': '
            || links.evidence as evidence
    from {{ ref('int_identity__fuzzy_links') }} as links
    inner join records as left_record on left_record.record_key = links.record_key_l
    inner join records as right_record on right_record.record_key = links.record_key_r
    where links.ended_on is null
        and (left_record.hub_type, left_record.hub) != (right_record.hub_type, right_record.hub)
),

final as (
    select * from edges
    union all
    select * from fuzzy
)

select * from final
