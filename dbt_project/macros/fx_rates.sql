{#
    The exchange rates from landing/fx/, one per currency and day: a day and currency given in
    several export folders takes the newest folder's rate. One rule for every model that
    converts money.
#}
{% macro fx_rates() -%}
    select rate_date, currency, rate
    from {{ ref('stg_fx__rates') }}
    qualify row_number() over (
        partition by currency, rate_date order by source_file desc, source_row desc
    ) = 1
{%- endmacro %}
