{# One definition of how identifiers are normalised, used by every staging model. #}

{#
    Emails and phones are normalised by Python functions (pipelines/normalize), the same code
    the exporters run: the dbt-duckdb plugin `pipelines.normalize.dbt_plugin`, named in
    profiles.yml, registers them on dbt's connection. Trimmed and lowercased; null when blank.
#}
{% macro normalize_email(column) -%}
    normalized_email({{ column }})
{%- endmacro %}

{#
    A name as a comparison key: lowercase letters only, accents folded (`Müller`, `MULLER`
    and `muller` are one key), null when nothing is left. For telling people apart in
    identity resolution; the ad platforms' hashing rule for names is another (exports).
#}
{% macro name_key(column) -%}
    nullif(regexp_replace(strip_accents(lower({{ column }})), '[^\p{L}]', '', 'g'), '')
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

{# Shopify writes order-level fields on the first line of each order only: carry them over. #}
{% macro order_field(column) -%}
    first_value({{ clean_text(column) }} ignore nulls) over (
        partition by _file, "Name" order by _row
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{#
    A phone number in E.164 (`+15551234567`), from the ways people type it (libphonenumber's
    reading: international prefixes, trunk prefixes, extensions dropped); a number without a
    country code is read as the record's country's, else the project's `default_country`'s.
    Null when it cannot be a phone number.
#}
{% macro phone_e164(column, country_column=none) -%}
    normalized_phone_e164({{ column }}, {{ country_column if country_column else 'null' }},
        '{{ var("default_country") }}')
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
{% macro quintile(expression, partition=none) -%}
    {%- set over = ('partition by ' ~ partition ~ ' ') if partition else '' -%}
    cast(least(5, 1 + floor(5.0 * (rank() over ({{ over }}order by {{ expression }}) - 1)
        / count(*) over ({{ over }}))) as integer)
{%- endmacro %}

{#
    What a customer's text (a comment, a message, a survey answer) feels like: VADER's compound
    score from -1 (negative) to 1 (positive), null for no text. Python (pipelines.text), run by
    the plugin that gives dbt the normalisation functions.
#}
{% macro sentiment(column) -%}
    sentiment_compound({{ column }})
{%- endmacro %}

{#
    positive, negative or neutral: a compound score (`sentiment`) labelled at VADER's thresholds
    by pipelines.text.sentiment.label, the one place they are written; null for no score.
#}
{% macro sentiment_label(compound) -%}
    sentiment_label_of({{ compound }})
{%- endmacro %}
