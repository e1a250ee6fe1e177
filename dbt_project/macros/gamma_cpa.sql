{#
    Cost per conversion with Bayesian shrinkage. Conversions of a cell are Poisson in its spend
    with a rate (conversions per currency unit) that has a Gamma prior centred on `pooled_rate`
    and worth `prior_conversions` conversions: shape a = prior_conversions + conversions, rate
    b = prior_conversions / pooled_rate + spend. `gamma_cpa` is b / a, the cost per conversion
    at the posterior mean rate; `gamma_cpa_bound(..., z)` is the cost at the rate's quantile z
    (Wilson-Hilferty's cube-root normal approximation to the Gamma quantile, good to a few
    percent from a shape of 1), so z = 1.2816 gives the 80% interval's low end of the cost.
#}
{% macro gamma_cpa(conversions, spend, pooled_rate, prior_conversions) -%}
    (({{ prior_conversions }} / nullif({{ pooled_rate }}, 0) + {{ spend }})
        / ({{ prior_conversions }} + {{ conversions }}))
{%- endmacro %}

{% macro gamma_cpa_bound(conversions, spend, pooled_rate, prior_conversions, z) -%}
    ({{ gamma_cpa(conversions, spend, pooled_rate, prior_conversions) }}
        / pow(greatest(1 - 1 / (9 * ({{ prior_conversions }} + {{ conversions }}))
                       + ({{ z }}) * sqrt(1 / (9 * ({{ prior_conversions }} + {{ conversions }}))),
                       1e-9), 3))
{%- endmacro %}
