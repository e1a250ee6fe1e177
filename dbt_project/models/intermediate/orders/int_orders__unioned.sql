{#- A table, not a view: the identity records, the order facts, the ad conversions and the
    tests all read it, and as a view each read deduplicated and summed every order line
    again. -#}
{{ config(materialized='table') }}
{#
    Orders from every shop source at order grain, in one shape: Shopify's export and the
    generic orders file. A business normally has one of them; both are read when present.

    What an order is worth, one rule for every source:
    - `amount`: what was bought (the purchase lines; Shopify: the order total);
    - `refunded_amount`: what was given back (the return lines; Shopify: Refunded Amount);
    - revenue is amount less refunded_amount, of orders not cancelled.
    An order is cancelled from `cancelled_at` on (Shopify's Cancelled at; a generic file's
    cancelled status is undated, so from the order's own time): `is_cancelled` and
    `is_purchase` say what was known by the end of the run's date (as_of_date), so a build for
    an older day never knows of a cancellation that came after it. Features place
    `cancelled_at` against each of their cutoffs.
    An order made only of return lines (a credit note) is no purchase: amount 0, its lines'
    value refunded on its own date, and `is_purchase` false, so it never counts as an order.
    An order that names nobody (no customer id, email or phone) is a guest checkout.
#}
with generic_lines as (
    select * from {{ ref('stg_orders__orders') }}
),

lines as (
    select * from {{ ref('int_orders__lines') }}
),

shopify_lines as (
    select * from {{ ref('stg_shop__orders') }}
),

generic_values as (
    select
        order_id,
        coalesce(sum(line_amount) filter (where not is_return), 0) as amount,
        coalesce(-sum(line_amount) filter (where is_return), 0) as refunded_amount,
        bool_or(not is_return) as has_purchase_lines,
        count(*) as line_count,
        coalesce(sum(quantity) filter (where not is_return), 0) as units
    from lines
    where order_source = 'orders'
    group by order_id
),

generic_heads as (
    select
        order_id,
        min(shop_customer_id) as shop_customer_id,
        min(email) as email,
        upper(trim(min(country))) as billing_country,
        min(ordered_at) as ordered_at,
        min(currency) as currency,
        bool_or(coalesce(status in (
            {%- for s in var('generic_cancelled_statuses') %}'{{ s }}'{{ ', ' if not loop.last }}{% endfor -%}
        ), false)) as is_cancelled
    from generic_lines
    group by order_id
),

generic as (
    select
        'orders' as order_source,
        order_id,
        order_id as platform_order_id,
        heads.shop_customer_id,
        heads.email,
        cast(null as varchar) as phone_e164,
        heads.billing_country,
        heads.ordered_at,
        heads.currency,
        cast(vals.amount as decimal(18, 2)) as amount,
        cast(vals.refunded_amount as decimal(18, 2)) as refunded_amount,
        -- Return lines are dated: the refund happened on the order's own date.
        case when vals.refunded_amount > 0 then heads.ordered_at end as refunded_at,
        cast(0 as decimal(18, 2)) as discount_amount,
        cast(null as varchar) as discount_code,
        -- The status is undated: a cancelled order counts as cancelled from the start. (A
        -- line's first export wins in staging, so a status changed in a later export is
        -- not read.)
        case when heads.is_cancelled then heads.ordered_at end as cancelled_at,
        vals.has_purchase_lines,
        vals.line_count,
        vals.units
    from generic_heads as heads
    inner join generic_values as vals using (order_id)
),

shopify as (
    select
        'shop' as order_source,
        order_name as order_id,
        -- Shopify's numeric order id: what GA4's transaction_id and the Pixel's order_id carry.
        min(stg.order_id) as platform_order_id,
        min(shop_customer_id) as shop_customer_id,
        min(email) as email,
        min(phone_e164) as phone_e164,
        upper(trim(min(billing_country))) as billing_country,
        min(ordered_at) as ordered_at,
        min(currency) as currency,
        -- The order total includes shipping and taxes; without one, the lines add up.
        coalesce(min(total), sum(line_price * quantity)) as amount,
        max(refunded_amount) as refunded_amount,
        -- The export says how much was refunded, not when.
        cast(null as timestamptz) as refunded_at,
        max(discount_amount) as discount_amount,
        -- A free-shipping code discounts no line, so the code is the only trace of it.
        max(discount_code) as discount_code,
        min(cancelled_at) as cancelled_at,
        -- Shopify's export lists only what was sold.
        true as has_purchase_lines,
        count(*) as line_count,
        sum(quantity) as units
    from shopify_lines as stg
    group by order_name
),

unioned as (
    select * from generic
    union all
    select * from shopify
),

country_codes as (
    select * from {{ ref('country_codes') }}
),

final as (
    select
        unioned.* replace (
            -- ISO 3166-1 alpha-2 from a code or a name ("United Kingdom", "EIRE"); a value
            -- that names no country is left out (a dbt test warns about them).
            coalesce(
                country_codes.country_code,
                case when regexp_full_match(unioned.billing_country, '[A-Z]{2}')
                    then unioned.billing_country end
            ) as billing_country
        ),
        unioned.billing_country as billing_country_as_exported,
        coalesce(unioned.cancelled_at < {{ end_of_as_of_date() }}, false) as is_cancelled,
        unioned.has_purchase_lines
            and not coalesce(unioned.cancelled_at < {{ end_of_as_of_date() }}, false)
            as is_purchase,
        unioned.shop_customer_id is null and unioned.email is null
            and unioned.phone_e164 is null as is_guest
    from unioned
    left join country_codes on country_codes.country = unioned.billing_country
)

select * from final
