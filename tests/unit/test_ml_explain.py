"""Reasons in words: every phrase grammatical at 0, 1 and 2, and no reason told twice."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from pipelines.ml.baseline import gone_reasons, recency_reasons
from pipelines.ml.explain import PHRASES, count, phrase, top_reasons
from pipelines.ml.lead import click_baseline

# Nouns the phrases count, singular and plural.
NOUNS = {"day": "days", "order": "orders", "visit": "visits", "email": "emails",
         "category": "categories"}


@pytest.mark.parametrize("feature", sorted(PHRASES))
@pytest.mark.parametrize("value", [0.0, 1.0, 2.0])
def test_every_phrase_counts_in_the_right_number(feature, value):
    text = phrase(feature, value)
    assert text and "{" not in text and "  " not in text
    for singular, plural in NOUNS.items():
        # "1 days", "2 order", "0 visit": never; decimals ("about 1.0 orders") are plural.
        assert not re.search(rf"(?<![\d.,])1 {plural}\b", text), text
        assert not re.search(rf"(?<![\d.,])[02] {singular}\b", text), text
        assert not re.search(rf"(?<![\d.,])0 {plural}\b", text), text  # "no orders"


def test_the_phrases_marketers_read_most():
    assert phrase("sessions_30d", 1) == "1 visit to the site in the last 30 days"
    assert phrase("sessions_30d", 2) == "2 visits to the site in the last 30 days"
    assert phrase("sessions_30d", 0) == "no visits to the site in the last 30 days"
    assert phrase("email_opens_90d", 1) == "opened 1 email in the last 90 days"
    assert phrase("orders_90d", 1) == "1 order in the last 90 days"
    assert phrase("days_since_last_order", 1) == "no order in 1 day"
    assert phrase("days_since_last_order", 0) == "ordered today"
    assert phrase("avg_days_between_orders", 1.2) == "usually orders every day"
    assert phrase("avg_days_between_orders", 0.3) == "usually orders more than once a day"
    assert phrase("categories_bought", 1) == "bought from 1 category"
    assert phrase("days_since_last_open", 1) == "last opened an email 1 day ago"
    assert phrase("lead_age_days", 1) == "a lead for 1 day"
    assert count(1234, "visit") == "1,234 visits"


def test_a_customer_with_one_order_is_told_so_once():
    # Both the order count and the missing rhythm say "one order": the row takes the next
    # family instead (this repeated on every one-order customer of the win-back list).
    features = ("days_since_last_order", "orders_count", "avg_days_between_orders",
                "repeat_order_value", "sessions_30d")
    values = pl.DataFrame({"days_since_last_order": [200.0], "orders_count": [1.0],
                           "avg_days_between_orders": [None], "repeat_order_value": [None],
                           "sessions_30d": [0.0]}, schema={f: pl.Float64 for f in features})
    contributions = np.array([[0.9, 0.5, 0.4, 0.3, 0.1, 0.0]])
    assert top_reasons(contributions, values, features) == [
        ["no order in 200 days", "1 order in total", "no visits to the site in the last 30 days"]
    ]


def test_a_last_visit_on_the_last_order_day_is_not_a_second_reason():
    # What the win-back list said of most people: "last visited the site 202 days ago; ...;
    # no order in 202 days", the visit being the order's. A later visit is news and stays.
    features = ("days_since_last_session", "expected_orders_90d", "days_since_last_order",
                "categories_bought")
    values = pl.DataFrame({"days_since_last_session": [202.0, 30.0],
                           "expected_orders_90d": [0.6, 0.01],
                           "days_since_last_order": [202.0, 202.0],
                           "categories_bought": [4.0, 1.0]})
    contributions = np.array([[0.9, 0.5, 0.4, 0.1, 0.0], [0.9, 0.5, 0.4, 0.1, 0.0]])
    assert top_reasons(contributions, values, features) == [
        ["last visited the site 202 days ago", "about 0.6 orders expected in the next 90 days",
         "bought from 4 categories"],
        ["last visited the site 30 days ago", "almost no orders expected in the next 90 days",
         "no order in 202 days"],
    ]


def test_the_rivals_reasons_do_not_repeat_either():
    frame = pl.DataFrame({"days_since_last_order": [200.0, 30.0], "orders_count": [1, 3],
                          "avg_days_between_orders": [None, 40.0], "p_alive": [0.2, 0.9]})
    assert recency_reasons(frame) == [
        ["no order in 200 days", "1 order in total"],
        ["no order in 30 days", "3 orders in total", "usually orders every 40 days"],
    ]
    assert gone_reasons(frame)[0] == [
        "20% likely still a customer, by their buying rhythm", "no order in 200 days",
        "1 order in total"]


def test_the_lead_rival_counts_days_in_the_right_number():
    training = pl.DataFrame({"click_level": [0, 1, 2, 0], "converted": [False, True, True, False]})
    rival = click_baseline(training)
    frame = pl.DataFrame({"click_level": [0, 1], "lead_age_days": [1, 5]})
    assert rival.reasons(frame) == [["no email clicks yet", "a lead for 1 day"],
                                    ["clicked an email", "a lead for 5 days"]]
