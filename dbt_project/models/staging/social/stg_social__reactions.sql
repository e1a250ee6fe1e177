{#
    Facebook reactions, one per person and post (the API lists a person's current reaction to
    a post once; a later export of the same reaction is the same row).
#}
with source as (
    select * from {{ source('social', 'reactions') }}
),

renamed as (
    select
        {{ clean_text('post_id') }} as post_id,
        {{ clean_text('id') }} as social_user_id,
        {{ clean_text('name') }} as author_name,
        upper(trim(type)) as reaction_type,
        strptime(created_time, '%Y-%m-%dT%H:%M:%S%z') as reacted_at,
        _file as source_file,
        _row as source_row
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by post_id, social_user_id order by source_file desc, source_row
    ) = 1
)

select * from deduplicated
