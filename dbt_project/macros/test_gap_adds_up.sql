{#
    The platform's purchases less the reconciled ones equal the sum of the gap's causes, row by
    row (fct_ad_conversions): no cause is lost or counted twice.
#}
{% test gap_adds_up(model) %}
select *
from {{ model }}
where coalesce(abs(
    (platform_purchases - reconciled_purchases)
    - (gap_duplicates + gap_outside_window + gap_refunded_cancelled + gap_unmatched)
) > 1e-9, true)
{% endtest %}
