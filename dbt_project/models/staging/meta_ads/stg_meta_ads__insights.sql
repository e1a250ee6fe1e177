with source as (
    select * from {{ source('meta_ads', 'insights') }}
),

renamed as (
    select
        cast(date_start as date) as date_day,
        account_id,
        upper(account_currency) as currency,
        campaign_id,
        {{ clean_text('campaign_name') }} as campaign_name,
        adset_id,
        {{ clean_text('adset_name') }} as adset_name,
        ad_id,
        {{ clean_text('ad_name') }} as ad_name,
        objective,
        attribution_setting,
        cast(impressions as bigint) as impressions,
        cast(reach as bigint) as reach,
        cast(clicks as bigint) as clicks,
        cast(inline_link_clicks as bigint) as link_clicks,
        cast(spend as decimal(18, 2)) as spend,
        -- `actions` and `action_values` are lists of {action_type, value as text}; `purchase`
        -- is Meta's omnibus count, which already includes the pixel's own purchase action.
        {{ meta_action_total('actions', 'purchase') }} as purchases,
        cast({{ meta_action_total('action_values', 'purchase') }} as decimal(18, 2))
            as purchase_value,
        {{ meta_action_total('actions', 'lead') }} as leads,
        _file as source_file,
        _row as source_row,
        _loaded_at as loaded_at
    from source
),

deduplicated as (
    -- Overlapping exports repeat a day: the row from the newest load describes it.
    select *
    from renamed
    qualify row_number() over (
        partition by date_day, ad_id order by loaded_at desc, source_file desc, source_row desc
    ) = 1
)

select * from deduplicated
