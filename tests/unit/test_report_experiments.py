"""The report's experiments section: conclusive verdicts first, every sentence escaped."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.report.experiments import experiments_context
from pipelines.report.html import render
from tests.unit.test_report import HOSTILE, context, text


def _lifts() -> pl.DataFrame:
    return pl.DataFrame({
        "experiment_id": ["a__h10", "a__h10", "b__h10"],
        "audience": ["a", "a", HOSTILE],
        "outcome": ["orders", "revenue", "orders"],
        "treated_n": [900, 900, 90], "holdout_n": [100, 100, 10], "left_n": [3, 3, 0],
        "verdict": ["too_few", "treatment_better", "too_few"],
        "summary": ["Too few people to conclude on A's orders per person: about 12 more "
                    "days at today's rate.", "A brought 4.1 more revenue per person.",
                    f"Too few {HOSTILE}"],
    })


def _tests() -> pl.DataFrame:
    return pl.DataFrame({
        "test_id": ["t1", "t1", "t2", "t2"], "metric": ["open", "open", "click", "click"],
        "verdict": ["no_winner", "no_winner", "winner", "winner"],
        "started_on": [date(2026, 10, 1)] * 4,
        "summary": ["No winner on opens.", "No winner on opens.", f"B won {HOSTILE}",
                    f"B won {HOSTILE}"],
    })


def test_conclusive_readouts_come_first_and_tests_once_per_metric():
    shown = experiments_context({"experiments": _lifts(), "ab_tests": _tests()})
    a = shown["experiments"][0]
    assert a["experiment_id"] == "a__h10"
    assert a["sentences"][0] == "A brought 4.1 more revenue per person."
    assert [t["summary"] for t in shown["ab_tests"]] == [f"B won {HOSTILE}",
                                                         "No winner on opens."]


def test_nothing_to_say_is_no_section():
    assert experiments_context({"experiments": pl.DataFrame(),
                                "ab_tests": pl.DataFrame()}) is None
    page = render(context())
    assert "What marketing really caused" not in page


def test_every_value_from_data_is_escaped():
    page = render(context(experiments=experiments_context(
        {"experiments": _lifts(), "ab_tests": _tests()})))
    assert HOSTILE not in page
    assert "What marketing really caused" in text(page)
    assert "about 12 more days at today's rate" in text(page).replace("&#39;", "'")
