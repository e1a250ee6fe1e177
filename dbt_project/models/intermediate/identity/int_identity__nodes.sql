{{ config(materialized='table') }}
{#
    Every identifier seen, once, with when it was first seen and whether it is a role mailbox
    (info@, sales@...): many people read those, so they never link records to each other. The
    SHA-256 of a role mailbox is flagged too, so that the Pixel's hashed copy cannot link them.
#}
with records as (
    select * from {{ ref('int_identity__records') }}
),

seen as (
    select identifier_type, identifier, min(seen_at) as first_seen_at
    from records
    group by identifier_type, identifier
),

role_mailboxes as (
    select identifier as email
    from seen
    where identifier_type = 'email'
        and split_part(identifier, '@', 1) in (
            {%- for box in var('identity_role_mailboxes') %}'{{ box }}'{{ ", " if not loop.last }}{% endfor -%}
        )
),

final as (
    select
        seen.identifier_type,
        seen.identifier,
        seen.first_seen_at,
        (seen.identifier_type = 'email' and seen.identifier in (select email from role_mailboxes))
            or (seen.identifier_type = 'email_sha256'
                and seen.identifier in (select sha256(email) from role_mailboxes))
            as is_role_mailbox
    from seen
)

select * from final
