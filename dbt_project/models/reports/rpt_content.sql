{#
    The checked lines of copy of the newest day, typed, with the persona's id beside its name
    (null for lines written for everyone, persona `all`).
#}
with content_lines as (
    select * from {{ ref('stg_ml__content_lines') }}
),

profiles as (
    select * from {{ ref('stg_ml__persona_profiles') }}
),

newest as (
    select max(as_of_date) as as_of_date from content_lines
),

final as (
    select
        content_lines.as_of_date,
        profiles.persona_id,
        content_lines.persona,
        content_lines.goal,
        content_lines.format,
        content_lines.rank,
        content_lines.text,
        cast(length(content_lines.text) as integer) as characters,
        content_lines.predicted,
        content_lines.evidence,
        content_lines.backend,
        content_lines.offer_code
    from content_lines
    inner join newest on newest.as_of_date = content_lines.as_of_date
    left join profiles on profiles.persona_name = content_lines.persona
)

select * from final
