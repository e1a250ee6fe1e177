with responses as (
    select * from {{ ref('stg_typeform__responses') }}
),

people as (
    select identifier as email, customer_key
    from {{ ref('int_identity__identifiers') }}
    where identifier_type = 'email' and is_person
),

final as (
    select
        responses.response_id,
        people.customer_key,
        responses.submitted_at,
        responses.nps_score,
        case
            when responses.nps_score >= 9 then 'promoter'
            when responses.nps_score >= 7 then 'passive'
            when responses.nps_score >= 0 then 'detractor'
        end as nps_group,
        responses.comment,
        {{ sentiment('responses.comment') }} as comment_sentiment
    from responses
    left join people using (email)
)

select * from final
