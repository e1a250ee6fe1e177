{# Business rules, as generic tests: each returns the rows that break the rule. #}

{% test session_times_are_ordered(model) %}
    select * from {{ model }} where session_ended_at < session_started_at
{% endtest %}

{% test unsubscribed_are_never_emailable(model) %}
    select * from {{ model }}
    where is_emailable and mailchimp_status in ('unsubscribed', 'cleaned')
{% endtest %}

{# An order's lines add up to the units the order reports. #}
{% test lines_add_up_to_units(model) %}
    select lines.order_id
    from {{ model }} as lines
    inner join {{ ref('fct_orders') }} as orders using (order_id)
    group by lines.order_id, orders.units
    having sum(lines.quantity) <> orders.units
{% endtest %}

{# Identity clusters that had to be split back: a warning to look at, not an error. #}
{% test no_split_clusters(model) %}
    select * from {{ model }} where resolution = 'split'
{% endtest %}
