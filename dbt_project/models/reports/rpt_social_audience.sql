{#
    Who follows the Page and the account, as of each platform's newest follower export: one
    row per platform, breakdown (Facebook: gender_age, city, country; Instagram: age, gender,
    city, country) and segment, with its followers and their share of the breakdown's total.
#}
with audience as (
    select * from {{ ref('stg_social__audience') }}
    where export_date <= date '{{ as_of_date() }}'
),

latest as (
    select *
    from audience
    qualify export_date = max(export_date) over (partition by platform)
),

final as (
    select
        platform,
        breakdown,
        segment,
        export_date,
        cast(followers as bigint) as followers,
        round(followers / nullif(sum(followers) over (partition by platform, breakdown), 0), 4)
            as share
    from latest
)

select * from final
