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
