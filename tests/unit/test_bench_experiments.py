"""The experiments harness's scoring: the treated arm's true lift and the summary figures."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from bench import experiments as ex

DAY = dt.date(2026, 10, 31)


def test_itt_truth_averages_the_counted_treated_units_with_the_unreached_at_zero() -> None:
    assignments = pl.DataFrame({
        "experiment_id": ["e"] * 5,
        "customer_key": ["a", "b", "c", "d", "h"],
        "arm": ["treatment"] * 4 + ["holdout"],
        "entered_on": [DAY] * 4 + [DAY],
        "outcome_days": [28] * 5,
        "left_on": [None, None, None, DAY, None],
    })  # fmt: skip
    keys = pl.DataFrame({"customer_key": ["a", "b", "c", "d", "h"], "person_id": [1, 2, 3, 4, 5]})
    treated = pl.DataFrame({
        "experiment_id": ["e", "e", "e"], "person_id": [1, 2, 4],
        **{o: [0.3, 0.6, 9.0] for o in ex.OUTCOMES},
    })  # fmt: skip
    # c was not reached (0), d left (not counted), the holdout never counts.
    out = ex._itt_truth(assignments, treated, keys, DAY + dt.timedelta(days=28))
    row = out.filter(pl.col("outcome") == "orders").row(0, named=True)
    assert row["itt_true_lift"] == pytest.approx(0.3) and row["itt_units"] == 3
    # Before the window is complete nobody counts.
    assert ex._itt_truth(assignments, treated, keys, DAY + dt.timedelta(days=27)).height == 0


def test_power_of_a_readout() -> None:
    # The verdict's false-positive rate: 97.5% likely better, either way.
    assert ex._power(0.0, 1.0) == pytest.approx(0.05)
    assert ex._power(2.802, 1.0) == pytest.approx(0.8, abs=1e-3)
    assert ex._power(None, 1.0) == 0.0


def test_summary_counts_coverage_sign_and_srm() -> None:
    rows = [
        # covered, powered, sign right
        {"experiment_id": "a", "outcome": "orders", "lift_abs": 1.0, "lift_low": 0.5,
         "lift_high": 1.5, "itt_true_lift": 0.9, "true_lift": 2.0, "verdict": "treatment_better"},
        # not covered, powered, sign wrong
        {"experiment_id": "b", "outcome": "orders", "lift_abs": -1.0, "lift_low": -1.5,
         "lift_high": -0.5, "itt_true_lift": 0.9, "true_lift": 0.9, "verdict": "holdout_better"},
        # covered, not powered
        {"experiment_id": "c", "outcome": "orders", "lift_abs": 0.0, "lift_low": -5.0,
         "lift_high": 5.0, "itt_true_lift": 0.1, "true_lift": 0.1, "verdict": "too_few"},
    ]  # fmt: skip
    for row in rows:
        row["seed"] = 1
    runs = [{"rows": rows, "aa": {}, "uplift": {},
             "srm": [{"experiment_id": "a", "units": 2000, "real_p": 0.5, "injected_p": 1e-6},
                     {"experiment_id": "b", "units": 100, "real_p": 0.0001,
                      "injected_p": 0.3}]}]  # fmt: skip
    s = ex.summarise(runs)
    assert s["experiments"] == 3 and s["coverage_itt"] == pytest.approx(2 / 3)
    assert s["winners"] == 2 and s["winners_sign_right"] == pytest.approx(0.5)
    assert s["coverage_reached"] == pytest.approx(1 / 3)
    assert s["powered"] == 2 and s["sign_right_powered"] == pytest.approx(0.5)
    assert s["srm_injected_flagged"] == pytest.approx(0.5)
    assert s["srm_injected_flagged_1700"] == 1.0 and s["srm_real_false_flags"] == 1
