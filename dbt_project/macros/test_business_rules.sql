{# Business rules, as generic tests: each returns the rows that break the rule. #}

{% test session_times_are_ordered(model) %}
    select * from {{ model }} where session_ended_at < session_started_at
{% endtest %}

{% test unsubscribed_are_never_emailable(model) %}
    select * from {{ model }}
    where is_emailable and mailchimp_status in ('unsubscribed', 'cleaned')
{% endtest %}

{# An order's purchase lines add up to the units the order reports (returns are no units sold). #}
{% test lines_add_up_to_units(model) %}
    select lines.order_id
    from {{ model }} as lines
    inner join {{ ref('fct_orders') }} as orders using (order_id)
    group by lines.order_id, orders.units
    having coalesce(sum(lines.quantity) filter (where not lines.is_return), 0) <> orders.units
{% endtest %}

{# A guest checkout, and only a guest checkout, has no person behind it. #}
{% test guests_have_no_customer(model) %}
    select * from {{ model }} where is_guest <> (customer_key is null)
{% endtest %}

{# A credit note (an order made only of return lines) brings nothing in: it only refunds. #}
{% test credit_notes_bring_nothing_in(model) %}
    select * from {{ model }} where not is_purchase and not is_cancelled and amount <> 0
{% endtest %}

{# Identity clusters that had to be split back: a warning to look at, not an error. #}
{% test no_split_clusters(model) %}
    select * from {{ model }} where resolution = 'split'
{% endtest %}

{# A capability the run lacks says why; one it has says nothing. #}
{% test missing_capabilities_say_why(model) %}
    select * from {{ model }}
    where is_available = (missing_reason is not null)
{% endtest %}

{# A budget plan's interval holds its expected change, and a kept ad set keeps its budget. #}
{% test budget_plan_is_consistent(model) %}
    select * from {{ model }}
    where expected_low > expected_change + 1e-6
       or expected_change > expected_high + 1e-6
       or (status = 'kept' and recommended_daily_budget <> current_daily_budget)
{% endtest %}
