"""XGBoost on a GPU beside the CPU: the churn model's training fit, timed on each device.

Never required. Where no CUDA device can train (no GPU, or an XGBoost built without CUDA), the
bench says why and fits on the CPU only. XGBoost itself falls back to the CPU with a warning
when asked for a GPU it cannot find, so a device counts as used only when the fitted booster
reports it.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import xgboost as xgb

from pipelines.config import Settings
from pipelines.ml import churn, trainer
from pipelines.ml.features import read_features, read_purchases
from pipelines.warehouse import work_connection


def booster_device(booster: xgb.Booster) -> str:
    """The device a fitted booster ran on ("cpu" or "cuda[:n]")."""
    return json.loads(booster.save_config())["learner"]["generic_param"]["device"]


def cuda_unavailable() -> str | None:
    """None when XGBoost can train on a CUDA device here, else the reason it cannot."""
    if not xgb.build_info().get("USE_CUDA"):
        return "this XGBoost was built without CUDA"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback warning: the device check says it all
        probe = xgb.train(
            {"device": "cuda", "tree_method": "hist"},
            xgb.DMatrix(np.array([[0.0], [1.0]]), label=[0.0, 1.0]),
            num_boost_round=1,
        )
    if not booster_device(probe).startswith("cuda"):
        return "no CUDA device is visible (XGBoost fell back to the CPU)"
    return None


def fit_on_devices(
    spec: trainer.ModelSpec,
    labelled: pl.DataFrame,
    training: list[date],
    validation: date,
    devices: tuple[str, ...],
    threads: int,
) -> dict[str, dict]:
    """Fit `spec` once per device with otherwise identical parameters: seconds, the device
    the booster really used, its holdout AUC and the rounds early stopping kept."""
    fits: dict[str, dict] = {}
    for device in devices:
        on_device = replace(spec, params={**spec.params, "device": device})
        start = time.perf_counter()
        card, booster, _ = trainer.train(on_device, labelled, training, validation, threads)
        fits[device] = {
            "seconds": time.perf_counter() - start,
            "used": booster_device(booster),
            "auc": card.metrics["auc"],
            "best_iteration": card.metrics["best_iteration"],
        }
    return fits


def compare(settings: Settings, day: date) -> dict:
    """The churn model's retrain as of `day` on the CPU, and on the GPU when one can train."""
    reason = cuda_unavailable()
    with work_connection(settings) as con:
        features, orders = read_features(con), read_purchases(con)
    learnt = churn.labelled_rows(features, orders, day, settings.churn_horizon_days)
    labelled, training, validation = learnt.rows, learnt.training, learnt.validation
    # In the order the daily run trains on: row sampling follows the rows' order, and the
    # warehouse's tables have none of their own.
    labelled = labelled.sort(["as_of_date", "customer_key"])
    devices = ("cpu",) if reason else ("cpu", "cuda")
    return {
        "cuda": reason is None,
        "reason": reason,
        "rows": labelled.height,
        "fits": fit_on_devices(
            churn.SPEC, labelled, training, validation, devices, settings.ml_threads
        ),
    }
