"""Comparisons with earlier publishes: row-count change, freshness, PSI drift."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.quality.checks import PublishedHistory, check_checks, metrics_for, psi

RC = {"row_count_change": {"min_ratio": 0.5, "max_ratio": 3.0, "severity": "error"}}


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    before = rng.beta(2, 5, 5000)
    assert psi(before, before) == pytest.approx(0.0, abs=1e-9)
    assert psi(before, rng.beta(2, 5, 5000)) < 0.05
    assert psi(before, np.clip(before + 0.3, 0, 1)) > 0.25


def test_a_score_of_a_few_levels_drifts_by_who_holds_each_level_not_by_the_levels_values():
    # The click-level rival: three rates, re-estimated each day.
    before = np.repeat([0.012, 0.049, 0.21], [800, 150, 50])
    moved_rates = np.repeat([0.013, 0.047, 0.19], [800, 150, 50])  # 1.30 on value bins
    assert psi(before, moved_rates) == pytest.approx(0.0, abs=1e-9)
    shifted = np.repeat([0.013, 0.051, 0.19], [500, 300, 200])
    assert psi(before, shifted) > 0.25


def test_row_count_ratio_is_against_the_median_of_trailing_publishes():
    history = PublishedHistory(row_counts={"marts.t": [100, 1000, 90, 110, 100]})
    frame = pl.DataFrame({"x": range(40)})
    (metric,) = metrics_for("marts.t", frame, RC, history, dt.date(2026, 1, 1))
    assert metric.value == pytest.approx(0.4)
    assert "median 100" in metric.context


def test_no_earlier_publish_means_no_baseline_not_a_failure():
    (metric,) = metrics_for("marts.t", pl.DataFrame({"x": [1]}), RC, PublishedHistory(),
                            dt.date(2026, 1, 1))
    assert metric.value is None and "no earlier publish" in metric.context


def test_freshness_lag_counts_days_from_the_latest_event_to_the_run_date():
    frame = pl.DataFrame({"at": [dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC),
                                 dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)]})
    checks = {"freshness": {"column": "at", "max_lag_days": 3, "severity": "error"}}
    (metric,) = metrics_for("marts.t", frame, checks, PublishedHistory(), dt.date(2026, 1, 15))
    assert metric.value == 10 and metric.max_value == 3


@pytest.mark.parametrize(("raw", "message"), [
    ({"speed": {}}, "unknown check 'speed'"),
    ({"freshness": {"column": "at"}}, "missing keys \\['max_lag_days'\\]"),
    ({"drift": {"column": "p", "max_psi": 0.2, "severity": "fatal"}}, "severity"),
])
def test_malformed_checks_name_the_file_and_the_check(raw, message):
    with pytest.raises(ValueError, match=message):
        check_checks(Path("suite.json"), raw)


def test_drift_by_group_compares_each_model_with_its_own_last_publish(tmp_path):
    import duckdb

    from pipelines.quality.checks import read_history

    rng = np.random.default_rng(1)
    churn, value = rng.beta(2, 5, 2000), rng.gamma(2, 100, 2000)
    published = tmp_path / "published.duckdb"
    con = duckdb.connect(str(published))
    con.execute("create schema ml")
    con.register("before", pl.DataFrame({
        "model": ["churn"] * 2000 + ["ltv"] * 2000,
        "score": np.concatenate([churn, value])}).to_arrow())
    con.execute("create table ml.scores as select * from before")
    con.close()
    history = read_history(published, [("ml.scores", "score", "model")])
    checks = {"drift": {"column": "score", "by": "model", "max_psi": 0.25, "severity": "error"}}

    def drift(churn_now: np.ndarray, value_now: np.ndarray):
        frame = pl.DataFrame({"model": ["churn"] * len(churn_now) + ["ltv"] * len(value_now),
                              "score": np.concatenate([churn_now, value_now])})
        (metric,) = metrics_for("ml.scores", frame, checks, history, dt.date(2026, 1, 1))
        return metric

    same = drift(rng.beta(2, 5, 2000), rng.gamma(2, 100, 2000))
    assert same.value < 0.05
    # Amounts shifted by half: mixed into one column with the probabilities this would hide
    # in the amounts' own bins; by model it is plain.
    shifted = drift(rng.beta(2, 5, 2000), rng.gamma(2, 150, 2000))
    assert shifted.value > 0.1 and "model = ltv" in shifted.context
    # A model with nothing published before (lead) has no baseline and is skipped.
    frame = pl.DataFrame({"model": ["lead"] * 10, "score": np.linspace(0, 1, 10)})
    (metric,) = metrics_for("ml.scores", frame, checks, history, dt.date(2026, 1, 1))
    assert metric.value is None and "no earlier publish" in metric.context


def test_drift_baseline_is_absent_only_when_the_table_or_column_is(tmp_path):
    import duckdb

    from pipelines.quality.checks import read_history

    published = tmp_path / "published.duckdb"
    con = duckdb.connect(str(published))
    con.execute("create schema ml")
    con.execute("create table ml.scores as select 0.5 as score")
    con.close()
    history = read_history(published, [("ml.scores", "score"), ("ml.scores", "gone"),
                                       ("ml.missing", "score")])
    assert list(history.previous_values) == [("ml.scores", "score")]


def test_a_drift_baseline_that_cannot_be_read_fails_closed(tmp_path):
    import duckdb

    from pipelines.quality.checks import read_history

    published = tmp_path / "published.duckdb"
    con = duckdb.connect(str(published))
    con.execute("create schema ml")
    con.execute("create view ml.scores as select cast('not a number' as double) as score")
    con.close()
    with pytest.raises(duckdb.Error):
        read_history(published, [("ml.scores", "score")])
