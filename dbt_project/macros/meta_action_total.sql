{#
    The total of one action type in a Meta Insights `actions` or `action_values` list (each
    element {action_type, value as text}); 0 when the list is missing or lacks the type.
#}
{% macro meta_action_total(list_column, action_type) -%}
    cast(coalesce(list_sum(list_transform(
        list_filter({{ list_column }}, lambda a: a.action_type = '{{ action_type }}'),
        lambda a: cast(a.value as double))), 0) as double)
{%- endmacro %}
