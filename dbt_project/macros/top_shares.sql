{#
    Per persona, the `n` largest `label`s by `amount` in `relation` (persona_id, label,
    amount), as one text: "direct 38%, organic_search 27%, email 12%". Ties go to the label
    that sorts first, so the text is the same on every run.
#}
{% macro top_shares(relation, label, amount, as_name, n=3) %}
    select
        persona_id,
        string_agg({{ label }} || ' ' || cast(round(100 * share) as integer) || '%', ', '
            order by rank) as {{ as_name }}
    from (
        select
            persona_id,
            {{ label }},
            {{ amount }} / sum({{ amount }}) over (partition by persona_id) as share,
            row_number() over (
                partition by persona_id order by {{ amount }} desc, {{ label }}
            ) as rank
        from {{ relation }}
    ) as ranked
    where rank <= {{ n }}
    group by persona_id
{% endmacro %}
