{{ config(materialized='table') }}
{#
    Every identifier seen, once, with when it was first seen, the first names of the records
    that show it, and whether it is a role mailbox: many people read those, so they never link
    records of different people. A mailbox is a role mailbox when its name is on the list
    (info@, sales@...) or when the records that show it name different people: two names that
    differ in both first and last name are two people, since one person's records differ in
    one of them at most (a nickname, a married name, a typo). The SHA-256 of a role mailbox is
    flagged too, so that the Pixel's hashed copy cannot link them.
#}
with records as (
    select * from {{ ref('int_identity__records') }}
),

seen as (
    select
        identifier_type,
        identifier,
        min(seen_at) as first_seen_at,
        list_sort(list_distinct(list(first_name) filter (where first_name is not null)))
            as first_names
    from records
    group by identifier_type, identifier
),

named_emails as (
    select distinct identifier as email, first_name, last_name
    from records
    where identifier_type = 'email' and first_name is not null and last_name is not null
),

read_by_several as (
    select distinct one.email
    from named_emails as one
    inner join named_emails as other
        on one.email = other.email
        and one.first_name != other.first_name
        and one.last_name != other.last_name
),

role_mailboxes as (
    select identifier as email
    from seen
    where identifier_type = 'email'
        and (
            split_part(identifier, '@', 1) in (
                {%- for box in var('identity_role_mailboxes') %}'{{ box }}'{{ ", " if not loop.last }}{% endfor -%}
            )
            or identifier in (select email from read_by_several)
        )
),

final as (
    select
        seen.identifier_type,
        seen.identifier,
        seen.first_seen_at,
        seen.first_names,
        (seen.identifier_type = 'email' and seen.identifier in (select email from role_mailboxes))
            or (seen.identifier_type = 'email_sha256'
                and seen.identifier in (select sha256(email) from role_mailboxes))
            as is_role_mailbox
    from seen
)

select * from final
