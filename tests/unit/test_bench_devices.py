"""The benchmark's CPU/GPU comparison reports the device XGBoost really used."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from bench.xgb_device import booster_device, cuda_unavailable, fit_on_devices
from pipelines.ml import trainer

DAY = date(2026, 10, 31)
CUTOFFS = [DAY - timedelta(days=30 * k) for k in range(8, -1, -1)]
SPEC = trainer.ModelSpec(
    name="churn",
    kind="binary",
    features=("signal", "noise"),
    label="y",
    params={"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3, "seed": 0},
    rounds=40,
    early_stopping=5,
)


def labelled() -> tuple[pl.DataFrame, list[date], date]:
    rng = np.random.default_rng(3)
    training, validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)
    frames = []
    for cutoff in [*training, validation]:
        signal, noise = rng.normal(size=(2, 400))
        frames.append(
            pl.DataFrame(
                {
                    "customer_key": [f"c{i}" for i in range(400)],
                    "as_of_date": [cutoff] * 400,
                    "signal": signal,
                    "noise": noise,
                    "y": signal + rng.normal(scale=0.5, size=400) > 0,
                }
            )
        )
    return pl.concat(frames), training, validation


def test_each_device_fit_learns_the_signal_and_says_where_it_ran():
    rows, training, validation = labelled()
    fits = fit_on_devices(SPEC, rows, training, validation, ("cpu", "cuda"), threads=1)
    assert fits["cpu"]["used"] == "cpu"
    assert fits["cpu"]["auc"] > 0.85
    assert 1 <= fits["cpu"]["best_iteration"] + 1 <= SPEC.rounds
    # Asked for a GPU: either one ran the fit, or XGBoost fell back and the bench must say so.
    if cuda_unavailable() is None:
        assert fits["cuda"]["used"].startswith("cuda")
    else:
        assert fits["cuda"]["used"] == "cpu"
        assert fits["cuda"]["auc"] == fits["cpu"]["auc"]


def test_a_cpu_booster_reports_the_cpu():
    rows, training, validation = labelled()
    _, booster, _ = trainer.train(SPEC, rows, training, validation, threads=1)
    assert booster_device(booster) == "cpu"
