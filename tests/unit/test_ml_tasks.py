"""What a scoring task records in `ml.model_runs`: every rival's figure, the strongest rival,
and the figure of what was published."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from pipelines.config import REPO_ROOT, Settings
from pipelines.ml import tasks
from pipelines.ml.scores import long_scores
from pipelines.ml.trainer import Outcome
from pipelines.warehouse import work_connection

DAY = date(2026, 10, 31)


def outcome(version: str, evaluation: dict) -> Outcome:
    keys = pl.Series(["a", "b", "c"])
    scores = long_scores("ltv", version, DAY, keys, pl.Series([1.0, 2.0, 3.0]), [["a reason"]] * 3)
    return Outcome(scores, version, True, "cand1", False, evaluation, "order_count publishes")


def test_a_published_rival_is_recorded_with_its_figure_and_every_rivals(tmp_path):
    settings = Settings(home=tmp_path)
    evaluation = {
        "candidate": {"spearman": 0.52},
        "rivals": {
            "bgnbd_gamma_gamma": {"spearman": 0.43, "calibration": {"kind": "scale", "scale": 1}},
            "order_count": {"spearman": 0.58, "calibration": {"kind": "scale", "scale": 2}},
            "spend_90d": {"error": "it gives every holdout customer the same score"},
        },
        "baseline": {"name": "order_count", "spearman": 0.58},
        "published": {"name": "order_count", "spearman": 0.58},
        "label_days": 120,
        "scaling": {"label_days": 120, "horizon_days": 365, "factor": 2.7, "method": "m"},
        "btyd_scoring": {str(DAY): {"bgnbd": {"r": 0.7, "alpha": 60.0, "a": 0.1, "b": 2.0}}},
    }
    summary = tasks.write_scores(settings, "run1", DAY, "ltv", outcome("order_count", evaluation))
    assert summary["published"] == 0.58 and summary["strongest_rival"] == "order_count"

    with work_connection(settings) as con:
        row = con.sql(
            "select version, model_value, baseline, baseline_value, published_value, metrics "
            "from ml.model_runs where run_id = 'run1' and model = 'ltv'"
        ).fetchall()[0]
    assert row[:5] == ("order_count", 0.52, "order_count", 0.58, 0.58)
    metrics = json.loads(row[5])
    assert metrics["rivals"]["bgnbd_gamma_gamma"]["spearman"] == 0.43
    assert metrics["rivals"]["spend_90d"] == {
        "error": "it gives every holdout customer the same score"
    }
    assert metrics["scaling"]["factor"] == 2.7
    assert metrics["btyd_scoring"][str(DAY)]["bgnbd"]["alpha"] == 60.0


def test_the_model_runs_suite_checks_exactly_the_tables_columns():
    suite = json.loads((REPO_ROOT / "expectations" / "model_runs.json").read_text())
    (columns,) = [
        e["kwargs"]["column_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_table_columns_to_match_set"
    ]
    assert sorted(columns) == sorted(tasks.RUNS_COLUMNS)
    assert "published_value" in columns
