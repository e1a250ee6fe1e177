"""The models section in plain words: better than the simple rule by how much, on how many
customers and over which period, or plainly not (and then the rule scores); jargon only for
analysts; a model's row is taken whole from one run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
from report_inputs import ESCAPED, HOSTILE, inputs, text

from pipelines.config import Settings
from pipelines.report.models import latest_runs, section


def run(model: str, run_id: str, day: date, **values) -> dict:
    base = {"run_id": run_id, "model": model, "version": "v" + "ab12" * 4,
            "as_of_date": day, "trained": True, "scored_rows": 100, "metrics": "{}",
            "note": "", "candidate_version": None, "promoted": True, "metric": None,
            "model_value": None, "baseline": None, "baseline_value": None,
            "previous_value": None, "published_value": None}
    return base | values


CHURN_METRICS = json.dumps({
    "candidate": {"auc": 0.78, "holdout_rows": 1234}, "label_days": 90,
    "measured_on": "2026-07-31", "baseline": {"name": "recency_rule", "auc": 0.71},
    "published": {"name": "vab12ab12ab12ab12", "auc": 0.78},
})
LTV_METRICS = json.dumps({
    "candidate": {"spearman": 0.50, "holdout_rows": 900}, "label_days": 365,
    "measured_on": "2025-10-31", "baseline": {"name": "bgnbd_gamma_gamma", "spearman": 0.55},
    "published": {"name": "bgnbd_gamma_gamma", "spearman": 0.55},
})


def runs() -> pl.DataFrame:
    day = date(2026, 10, 31)
    return pl.DataFrame([
        run("churn", "r1", day, metric="auc", model_value=0.78, baseline="recency_rule",
            baseline_value=0.71, metrics=CHURN_METRICS, note=HOSTILE),
        run("ltv", "r1", day, version="bgnbd_gamma_gamma", metric="spearman",
            model_value=0.50, baseline="bgnbd_gamma_gamma", baseline_value=0.55,
            metrics=LTV_METRICS, promoted=False),
    ])


def build(frame: pl.DataFrame, run_id: str = "r1"):
    return section(inputs(Settings(home=Path("/nonexistent")), {"ml.model_runs": frame},
                          run_id=run_id))


def test_a_model_that_wins_says_by_how_much_on_whom_and_when():
    part = build(runs())
    page = text(part.html).replace("&#39;", "'")
    assert ("Who will leave. Ranks who will leave better than 'days since the last order' by 7 "
            "in 100 pairs: of 100 pairs of one who left and one who stayed, it picks the right "
            "one 78 times, the rule 71. Checked on 1,234 customers as of 2026-07-31, against "
            "whether they ordered in the 90 days after.") in page
    assert part.digest and part.digest[0].startswith("Who will leave: Ranks who will leave")


def test_a_model_that_loses_says_so_and_that_the_rule_scores():
    page = text(build(runs()).html).replace("&#39;", "'")
    assert ("What customers will spend. Does not order customers by spend better than 'each "
            "customer's own buying rhythm and order value' (0.50 against 0.55, where 1 is the "
            "true order); so the rule 'each customer's own buying rhythm and order value' "
            "scores today.") in page


def test_jargon_only_in_the_collapsed_part_for_analysts():
    html = build(runs()).html
    words, analysts = html.split("<details", 1)
    for jargon in ("auc", "spearman", "bgnbd", "recency_rule", "vab12ab12"):
        assert jargon not in words.lower(), jargon
        assert jargon in analysts.lower(), jargon
    assert "<details" in html and " open" not in analysts.split(">", 1)[0]
    assert HOSTILE not in html and ESCAPED in analysts  # the note is data: escaped


def test_a_rerun_takes_each_models_row_whole_from_one_run():
    # The day's first run measured churn; the rerun's row has no figures for it yet. The
    # table shows one run's row per model, never one run's version with another's figures.
    day = date(2026, 10, 31)
    frame = pl.concat([runs(), pl.DataFrame([
        run("churn", "r2", day, version="vnew", metric="auc", model_value=0.8,
            baseline="recency_rule", baseline_value=0.7, metrics=CHURN_METRICS),
        run("lead", "r0", date(2026, 10, 30), metric="auc", model_value=0.6,
            baseline="click_level_rate", baseline_value=0.65),
    ])], how="vertical_relaxed")
    latest = latest_runs(frame, "r2").sort("model")
    assert latest.get_column("run_id").to_list() == ["r2", "r0", "r1"]
    assert latest.filter(pl.col("model") == "churn").get_column("version")[0] == "vnew"


def test_nothing_recorded_is_nothing_to_show():
    assert build(runs().head(0)) is None


def test_too_little_history_and_a_forecast_kept_for_its_season_say_so_plainly():
    day = date(2026, 10, 31)
    forecast = json.dumps({"windows": 11, "horizon_weeks": 8, "backtest_from": "2025-11-30",
                           "skus": 60, "published": {"name": "xgboost", "wape": 0.93}})
    frame = pl.DataFrame([
        run("lead", "r1", day, version="click_level_rate", metric="auc",
            note="lead: the holdout has 4 positive and 46 negative outcomes",
            metrics=json.dumps({"published": {"name": "click_level_rate", "auc": None}})),
        run("forecast_units", "r1", day, version="xgboost-62", metric="wape",
            model_value=0.929, baseline="recent_mean", baseline_value=0.928, metrics=forecast),
    ])
    html = build(frame).html
    page = text(html.split("<details", 1)[0]).replace("&#39;", "'")
    assert ("Which leads will buy. Too few known outcomes yet to check a model; the rule 'how "
            "much the lead clicks our emails' scores.") in page
    assert ("Units sold per week. Does not forecast weekly units closer than 'the mean of the "
            "last 13 weeks' (off by 93% of the units sold against 93%); the model is used all "
            "the same, as it follows last year's seasons and the rule does not. Checked on 11 "
            "past stretches of 8 weeks since 2025-11-30, over 60 products.") in page
    assert "holdout" not in page  # the note's words are for analysts
