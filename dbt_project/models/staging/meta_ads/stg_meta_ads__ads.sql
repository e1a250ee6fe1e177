with source as (
    select * from {{ source('meta_ads', 'ads') }}
),

renamed as (
    select
        id as ad_id,
        {{ clean_text('name') }} as ad_name,
        adset_id,
        campaign_id,
        upper(status) as status,
        upper(effective_status) as effective_status,
        strptime(created_time, '%Y-%m-%dT%H:%M:%S%z') as created_at,
        creative.id as creative_id,
        {{ clean_text('creative.name') }} as creative_name,
        {{ clean_text('creative.title') }} as headline,
        {{ clean_text('creative.body') }} as primary_text,
        upper(creative.call_to_action_type) as call_to_action_type,
        upper(creative.object_type) as object_type,
        creative.link_url as link_url,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

latest as (
    -- Every export lists the account's ads again: the newest listing describes each ad.
    select *
    from renamed
    qualify row_number() over (
        partition by ad_id order by loaded_at desc, source_file desc, source_row desc
    ) = 1
)

select * from latest
