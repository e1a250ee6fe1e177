"""The report's experiments section: conclusive verdicts first, every sentence escaped."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.report import experiments
from pipelines.report.experiments import experiments_context
from pipelines.report.sections import render_part
from tests.unit.report_inputs import HOSTILE, inputs, text


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


def test_nothing_to_say_is_no_section(settings):
    assert experiments_context({"experiments": pl.DataFrame(),
                                "ab_tests": pl.DataFrame()}) is None
    assert experiments.section(inputs(settings)) is None


def test_every_value_from_data_is_escaped():
    page = render_part("experiments.html.j2", experiments=experiments_context(
        {"experiments": _lifts(), "ab_tests": _tests()}), charts=[])
    assert HOSTILE not in page
    assert "about 12 more days at today's rate" in text(page).replace("&#39;", "'")


SVG = "{http://www.w3.org/2000/svg}"


def readouts() -> pl.DataFrame:
    """Two experiments: one whose campaign raised revenue 20% (interval 5% to 35% of the
    holdout's 50 a person), one too small to say (orders, interval across zero), one SRM."""
    return pl.DataFrame({
        "experiment_id": ["winback__h10", "winback__h10", HOSTILE, "srm__h10"],
        "experiment": ["winback", "winback", "x", "srm"],
        "audience": ["winback", "winback", HOSTILE, "srm"],
        "outcome": ["revenue", "orders", "orders", "orders"],
        "treated_n": [900, 900, 90, 500], "holdout_n": [100, 100, 10, 20], "left_n": [0] * 4,
        "holdout_mean": [50.0, 0.5, 0.2, 0.3],
        "lift_abs": [10.0, 0.0, 0.05, 0.01], "lift_rel": [0.2, 0.0, 0.25, None],
        "lift_low": [2.5, -0.1, -0.1, None], "lift_high": [17.5, 0.1, 0.2, None],
        "verdict": ["treatment_better", "no_difference", "too_few", "srm_blocked"],
        "summary": ["Winback brought 10 more revenue per person.", "No difference.",
                    f"Too few {HOSTILE}", "Sizes off."],
    })


def ab_tests() -> pl.DataFrame:
    return pl.DataFrame({
        "test_id": ["t1", "t1", "t2", "t2"], "test_name": ["Subject test", "Subject test",
                                                          HOSTILE, HOSTILE],
        "variant": ["A", "B", "A", "B"], "variant_label": ["Hello", "Hi there", None, None],
        "metric": ["open", "open", "click", "click"], "trials": [1000, 1000, 50, 50],
        "rate": [0.20, 0.30, 0.02, 0.04], "rate_low": [0.18, 0.27, 0.005, 0.01],
        "rate_high": [0.22, 0.33, 0.06, 0.09], "prob_best": [0.001, 0.999, 0.3, 0.7],
        "is_winner": [False, True, False, False],
        "verdict": ["winner", "winner", "too_few", "too_few"],
        "started_on": [date(2026, 10, 10), date(2026, 10, 10), date(2026, 10, 20),
                       date(2026, 10, 20)],
        "summary": ["B won.", "B won.", "Too few.", "Too few."],
    })


def tables() -> dict[str, pl.DataFrame]:
    return {"reports.rpt_experiments": readouts(), "reports.rpt_ab_tests": ab_tests()}


def _charts(html: str) -> list:
    import re
    import xml.etree.ElementTree as ET

    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def _texts(chart) -> list[str]:
    return ["".join(t.itertext()) for t in chart.iter(f"{SVG}text")]


def test_effects_with_their_intervals_around_zero(settings):
    built = experiments.section(inputs(settings, tables()))
    holdouts, ab = _charts(str(built.html))
    assert holdouts.find(f"{SVG}title").text == (
        "What each campaign changed against the people held back (90% interval)")
    words = _texts(holdouts)
    # revenue: 10 on a base of 50 is +20%, its interval 2.5 to 17.5 is +5% to +35%
    assert "  +20% (+5% to +35%)" in words and "  +0% (-20% to +20%)" in words
    assert "  +25% (-50% to +100%)" in words  # 0.05 / 0.2, interval -0.1 / 0.2 to 0.2 / 0.2
    assert words.index("winback__h10 · revenue") < words.index("winback__h10 · orders")
    assert "srm__h10 · orders" not in words  # no interval to draw
    assert {"Change in the outcome per person (% of the held-back group's)",
            "Experiment · outcome"} <= set(words)
    assert "<script>" not in str(built.html)
    words = _texts(ab)
    assert {"Subject test · open · Hi there", "  30.0% best", "  20.0%",
            "Rate of the test's metric (%)"} <= set(words)
    assert words.index("Subject test · open · Hello") < words.index(
        "Subject test · open · Hi there")


def test_actions_for_verdicts_to_act_on(settings):
    built = experiments.section(inputs(settings, tables()))
    assert [a.text for a in built.actions] == [
        "Keep winback__h10 going: it works (revenue +20% against those held back).",
        "Check how srm__h10 splits people: its groups are not the sizes planned, so its "
        "result cannot be trusted yet.",
        "Use Hi there from Subject test: the best open rate (30.0%; over 99% "
        "likely the best).",
    ]
    assert built.digest == tuple(a.text for a in built.actions)
    quiet = readouts().with_columns(verdict=pl.lit("too_few"))
    none = experiments.section(inputs(settings, {"reports.rpt_experiments": quiet}))
    assert none.actions == ()
    # The same winner from a test started more than four weeks before the report is old news.
    old = ab_tests().with_columns(started_on=pl.lit(date(2026, 9, 1)))
    stale = experiments.section(inputs(settings, {"reports.rpt_ab_tests": old}))
    assert stale.actions == ()


def test_readouts_without_interval_columns_are_told_in_words(settings):
    bare = readouts().drop("lift_abs", "lift_rel", "lift_low", "lift_high", "holdout_mean")
    built = experiments.section(inputs(settings, {"reports.rpt_experiments": bare}))
    assert _charts(str(built.html)) == []
    assert built.actions[0].text == "Keep winback__h10 going: it works."


def test_the_holdout_chart_keeps_to_the_conclusive_first(settings, monkeypatch):
    monkeypatch.setattr(experiments, "EFFECTS_DRAWN", 1)
    built = experiments.section(inputs(settings, {"reports.rpt_experiments": readouts()}))
    words = _texts(_charts(str(built.html))[0])
    assert "winback__h10 · revenue" in words and "winback__h10 · orders" not in words
