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

{% macro utc_from_naive(column, fmt) -%}
    (strptime({{ clean_text(column) }}, '{{ fmt }}') at time zone 'UTC')
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
