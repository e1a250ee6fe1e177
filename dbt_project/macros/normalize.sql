{# One definition of how identifiers are normalised, used by every staging model. #}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{# Spreadsheet exports prefix zips and phones with an apostrophe to keep leading zeros. #}
{% macro strip_apostrophe(column) -%}
    nullif(ltrim(trim({{ column }}), ''''), '')
{%- endmacro %}

{# A time written without an offset, read as local time in `zone` (an IANA name), as UTC. #}
{% macro utc_from_naive(column, fmt, zone='UTC') -%}
    (strptime({{ clean_text(column) }}, '{{ fmt }}') at time zone '{{ zone }}')
{%- endmacro %}

{% macro export_date_from_path(column) -%}
    try_cast(regexp_extract({{ column }}, '/(\d{4}-\d{2}-\d{2})/', 1) as date)
{%- endmacro %}

{# A stable, short key for a person from their strongest identifier. #}
{% macro identity_key(expression) -%}
    left(sha256({{ expression }}), 16)
{%- endmacro %}

{# Shopify writes order-level fields on the first line of each order only: carry them over. #}
{% macro order_field(column) -%}
    first_value({{ clean_text(column) }} ignore nulls) over (
        partition by _file, "Name" order by _row
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{#
    A phone number in E.164 (`+15551234567`), from the ways people type it. A leading `+` or
    `00` carries the country code; otherwise the number is national, read with the record's
    country (or the project's `default_country`): North American numbers have ten digits (or
    eleven starting with 1); elsewhere a trunk prefix 0 is dropped where the country uses one.
    Anything that is not 8-15 digits in the end is not a phone number: null.
#}
{% macro phone_e164(column, country_column=none) -%}
    {%- set codes = {
        'US': ['1', ''], 'CA': ['1', ''], 'GB': ['44', '0'], 'IE': ['353', '0'],
        'DE': ['49', '0'], 'FR': ['33', '0'], 'NL': ['31', '0'], 'BE': ['32', '0'],
        'AT': ['43', '0'], 'CH': ['41', '0'], 'ES': ['34', ''], 'IT': ['39', ''],
        'PT': ['351', ''], 'DK': ['45', ''], 'SE': ['46', '0'], 'NO': ['47', ''],
        'FI': ['358', '0'], 'PL': ['48', ''], 'AU': ['61', '0'], 'NZ': ['64', '0'],
        'MX': ['52', ''], 'BR': ['55', '0'], 'IN': ['91', '0'], 'JP': ['81', '0'],
    } -%}
    {%- set country -%}
        coalesce(upper(nullif(trim({{ country_column if country_column else 'null' }}), '')),
            '{{ var("default_country") }}')
    {%- endset -%}
    {%- set typed = "ltrim(trim(" ~ column ~ "), '''')" -%}
    {%- set digits = "regexp_replace(" ~ column ~ ", '[^0-9]', '', 'g')" -%}
    {%- set e164 -%}
        case
            when {{ typed }} like '+%' then '+' || {{ digits }}
            when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
            {%- for cc, spec in codes.items() %}
            when {{ country }} = '{{ cc }}' then
                {%- if spec[0] == '1' %}
                case when length({{ digits }}) = 10 then '+1' || {{ digits }}
                    when length({{ digits }}) = 11 and {{ digits }} like '1%' then '+' || {{ digits }}
                end
                {%- elif spec[1] == '0' %}
                '+{{ spec[0] }}' || case when {{ digits }} like '0%' then substr({{ digits }}, 2)
                    else {{ digits }} end
                {%- else %}
                '+{{ spec[0] }}' || {{ digits }}
                {%- endif %}
            {%- endfor %}
        end
    {%- endset -%}
    case when regexp_full_match({{ e164 }}, '\+[1-9][0-9]{7,14}') then {{ e164 }} end
{%- endmacro %}

{# One typed value of a GA4 repeated key/value record (`event_params`, `user_properties`). #}
{% macro ga4_param(key, value_type='string_value', column='event_params') -%}
    list_filter({{ column }}, lambda p: p.key = '{{ key }}')[1].value.{{ value_type }}
{%- endmacro %}

{# The channel a visit came from, as GA4's default channel grouping names the common cases. #}
{% macro channel_group(source, medium) -%}
    case
        when {{ medium }} is null and {{ source }} is null then 'direct'
        when {{ source }} = '(direct)' then 'direct'
        when {{ medium }} in ('paid_social', 'paidsocial', 'paid-social') then 'paid_social'
        when {{ medium }} in ('cpc', 'ppc', 'paid_search', 'paidsearch') then 'paid_search'
        when {{ medium }} = 'email' then 'email'
        when {{ medium }} = 'organic' then 'organic_search'
        when {{ medium }} = 'referral' and regexp_matches({{ source }},
            '(facebook|instagram|pinterest|reddit|tiktok|twitter|linkedin|t\.co)') then 'organic_social'
        when {{ medium }} = 'referral' then 'referral'
        when {{ medium }} in ('(none)', 'none') then 'direct'
        else 'other'
    end
{%- endmacro %}

{# A 1-5 score by quintile of `expression` over the rows (ties share the lower score). #}
{% macro quintile(expression) -%}
    cast(least(5, 1 + floor(5.0 * (rank() over (order by {{ expression }}) - 1)
        / count(*) over ())) as integer)
{%- endmacro %}
