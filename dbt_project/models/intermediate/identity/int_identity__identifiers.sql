{#
    One row per identifier with the customer_key of the person it belongs to (null for an
    identifier shared by too many people). The key hashes the cluster's anchor, its
    earliest-seen identifier, so it is stable from run to run.
#}
with clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

final as (
    select
        identifier_type,
        identifier,
        case when anchor is not null then {{ identity_key('anchor') }} end as customer_key,
        -- A person the business can name, rather than only a device or a hashed id.
        coalesce(bool_or(identifier_type in (
            'email', 'shop_customer_id', 'hubspot_record_id', 'order_id', 'phone'
        )) over (partition by anchor), false) and anchor is not null as is_person,
        resolution,
        first_seen_at,
        anchor
    from clusters
)

select * from final
