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


def test_a_score_that_is_not_a_number_is_never_written():
    from datetime import date

    from pipelines.ml.scores import long_scores

    with pytest.raises(ValueError, match=r"ltv scored by v1: 1 of 2 scores are not numbers"):
        long_scores("ltv", "v1", date(2018, 8, 29), pl.Series(["a", "b"]),
                    pl.Series([1.0, float("nan")]), [[], []])


def test_an_amount_model_does_not_train_when_everyone_has_the_same_outcome():
    from datetime import date

    from pipelines.ml import trainer
    from pipelines.ml.ltv import SPEC

    days = [date(2018, 1, 1), date(2018, 2, 1)]
    rows = pl.DataFrame({
        "customer_key": [f"k{i}" for i in range(200)] * 2,
        "as_of_date": [days[0]] * 200 + [days[1]] * 200,
        **{f: [1.0] * 400 for f in SPEC.features},
        SPEC.label: [0.0] * 400,
    })
    with pytest.raises(trainer.InsufficientHistoryError, match="the same outcome"):
        trainer.train(SPEC, rows, [days[0]], days[1], threads=1)
