{#
    One row per identifier with the customer_key of the person it belongs to (null for an
    identifier shared by too many people). The key comes from the key registry
    (int_identity__keys), so it stays the same while the person's cluster grows, and on a
    merge it is the key issued first.
#}
with clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

keys as (
    select identifier_type, identifier, customer_key
    from {{ ref('int_identity__keys') }}
    where valid_to is null
),

final as (
    select
        clusters.identifier_type,
        clusters.identifier,
        keys.customer_key,
        -- A person the business can name, rather than only a device or a hashed id.
        coalesce(bool_or(clusters.identifier_type in (
            'email', 'shop_customer_id', 'hubspot_record_id', 'order_id', 'phone'
        )) over (partition by keys.customer_key), false) and keys.customer_key is not null
            as is_person,
        clusters.resolution,
        clusters.first_seen_at,
        clusters.anchor
    from clusters
    left join keys using (identifier_type, identifier)
)

select * from final
