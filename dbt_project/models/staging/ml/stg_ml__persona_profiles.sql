with profiles as (
    select * from {{ source('ml', 'persona_profiles') }}
),

final as (
    select
        cast(persona_id as integer) as persona_id,
        persona_name,
        cast(best_send_hour as integer) as best_send_hour,
        cast(usual_shop_hour as integer) as usual_shop_hour,
        what_sets_it_apart,
        name_claims,
        cast(weakest_claim_share as double) as weakest_claim_share,
        model_version,
        cast(k as integer) as persona_count,
        as_of_date,
        persona_source,
        personas_note
    from profiles
)

select * from final
