"""The rivals' map into the model's units: an amount never below zero, no map where the
window holds no spend or the score falls as the outcome rises, and the reason said."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.ml import rivals


def test_an_amount_rival_scales_to_the_total_and_never_goes_below_zero():
    cal = rivals.calibration("regression", np.array([10.0, 30.0, -5.0]), np.array([20, 60, 0]))
    assert cal == {"kind": "scale", "scale": pytest.approx(80 / 35)}
    assert rivals.apply(cal, np.array([10.0, -5.0])).tolist() == [pytest.approx(800 / 35), 0.0]


def test_no_spend_in_the_window_means_no_money_to_scale_to():
    score, y = np.array([10.0, 30.0]), np.array([0.0, 0.0])
    assert rivals.calibration("regression", score, y) is None
    assert rivals.uncalibrated("regression", score, y) == (
        "the outcome window holds no spend to put its scores in money")


def test_a_probability_rival_that_falls_with_the_outcome_has_no_map():
    score, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 0, 0])
    assert rivals.calibration("binary", score, y) is None
    assert rivals.uncalibrated("binary", score, y) == "its score falls as the outcome rises"


def test_measure_records_why_a_rival_cannot_be_put_in_money():
    frame = pl.DataFrame({"spend": [5.0, 10.0, 20.0], "value_next": [0.0, 0.0, 0.0]})
    rule = rivals.Baseline("spend", lambda f: f.get_column("spend").to_numpy(),
                           lambda f: [[]] * f.height)
    measured = rivals.measure("regression", "value_next", [rule], frame, frame,
                              lambda f, s: {"total": float(np.sum(s))})
    assert measured["spend"]["calibration"] is None
    assert measured["spend"]["uncalibrated"].startswith("the outcome window holds no spend")
