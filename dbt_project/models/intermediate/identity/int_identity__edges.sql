{{ config(materialized='table') }}
{#
    Links between identifiers: each record ties its identifiers together (as a star from its
    first identifier), and a plain identifier is tied to the SHA-256 the Pixel sends for it
    (email trimmed and lowercased; phone as E.164 digits; the shop customer id as external_id).
    A record's star starts from a person-level identifier when it has one (not a role
    mailbox), so that dropping a shared device, phone or mailbox later does not cut the
    record's other links.
#}
with records as (
    select * from {{ ref('int_identity__records') }}
),

nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

role_mailboxes as (
    -- Few: a left join to them measured faster at m than an inner join to every node.
    select identifier_type, identifier from nodes where is_role_mailbox
),

hubs as (
    select
        records.record_key,
        records.identifier_type,
        records.identifier,
        first_value(records.identifier_type) over by_record as hub_type,
        first_value(records.identifier) over by_record as hub
    from records
    left join role_mailboxes
        on records.identifier_type = role_mailboxes.identifier_type
        and records.identifier = role_mailboxes.identifier
    window by_record as (
        partition by records.record_key
        order by
            records.identifier_type in (
                {%- for t in var('identity_weak_types') %}'{{ t }}'{{ ", " if not loop.last }}{% endfor -%}
            ) or role_mailboxes.identifier is not null,
            records.identifier_type,
            records.identifier
    )
),

record_edges as (
    select distinct
        hub_type as identifier_type,
        hub as identifier,
        identifier_type as linked_type,
        identifier as linked_identifier
    from hubs
    where (identifier_type, identifier) != (hub_type, hub)
),

plain as (
    select distinct identifier_type, identifier from records
    where identifier_type in ('email', 'phone', 'shop_customer_id')
),

hash_edges as (
    select
        identifier_type,
        identifier,
        case identifier_type
            when 'email' then 'email_sha256'
            when 'phone' then 'phone_sha256'
            else 'external_id_sha256'
        end as linked_type,
        sha256(case identifier_type when 'phone' then ltrim(identifier, '+') else identifier end)
            as linked_identifier
    from plain
),

final as (
    select * from record_edges
    union all
    -- Only hashes somebody sent: the others would be nodes no record mentions.
    select hash_edges.*
    from hash_edges
    inner join nodes as sent
        on sent.identifier_type = hash_edges.linked_type
        and sent.identifier = hash_edges.linked_identifier
)

select * from final
