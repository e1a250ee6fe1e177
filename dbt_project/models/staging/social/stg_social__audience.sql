{#
    Follower demographics, one row per platform, export, breakdown and segment. Facebook's
    page_fans_* metrics hold a {segment: followers} object (page_fans_gender_age's keys are
    `F.25-34`); Instagram's follower_demographics give one breakdown per line. A line
    delivered twice counts once.
#}
with source as (
    select * from {{ source('social', 'audience') }}
),

facebook_days as (
    select platform, name, unnest("values") as day_values, _file
    from source
    where name like 'page_fans_%'
),

facebook as (
    select
        lower(trim(platform)) as platform,
        case name
            when 'page_fans_gender_age' then 'gender_age'
            when 'page_fans_city' then 'city'
            when 'page_fans_country' then 'country'
        end as breakdown,
        segment.key as segment,
        try_cast(segment.value as bigint) as followers,
        _file as source_file
    from facebook_days, json_each(day_values.value) as segment
),

instagram_breakdowns as (
    select platform, breakdown, unnest(total_value.breakdowns) as parts, _file
    from source
    where name = 'follower_demographics'
),

instagram as (
    select
        lower(trim(platform)) as platform,
        lower(trim(breakdown)) as breakdown,
        array_to_string(result.dimension_values, '.') as segment,
        result.value as followers,
        _file as source_file
    from (select *, unnest(parts.results) as result from instagram_breakdowns)
),

final as (
    select
        platform, breakdown, segment, followers,
        {{ export_date_from_path('source_file') }} as export_date,
        source_file
    from (select * from facebook union all select * from instagram)
    where breakdown is not null
    qualify row_number() over (
        partition by platform, breakdown, segment, export_date order by source_file desc
    ) = 1
)

select * from final
