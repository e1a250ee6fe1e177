"""Churn: will an active customer (a purchase within the last year) buy nothing in the next
90 days? XGBoost on the RFM features and the BG/NBD summaries, a calibrated probability,
measured against its rivals (`baseline.py`): days since the last order, and BG/NBD's chance
that the customer is still around (p_alive), which is also among the model's inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipelines.ml import baseline, trainer
from pipelines.ml.features import (
    CHURN_FEATURES,
    CHURN_MONOTONE,
    ENGAGEMENT_FEATURES,
    btyd_enrich,
    fit_records,
)
from pipelines.ml.labels import active, churn_labels

MODEL = "churn"
# eta 0.1: at scale m, 0.05 used all 400 rounds without stopping early; 0.1 stops at 237
# trees with the same holdout AUC (0.8026), and every score's reasons walk every tree.
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.1,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "min_child_weight": 5,
    "seed": 0,
}
ROUNDS = 400
EARLY_STOPPING = 30

# The RFM features, email, web and survey engagement, and what BG/NBD, fit on the same
# cutoff, makes of each customer's rhythm.
# Not the social features (features.SOCIAL_FEATURES): measured on the bench world at scale s
# (seed 42, 2026-10-31, `python -m bench.social_features --part churn`), the same features
# table and labels trained with and without them over XGBoost seeds 0-4 gave a
# churn AUC against the truth of 0.8094 without and 0.8096 with (+0.0002, seed sd 0.0006;
# paired bootstrap of the 4,648 customers, 95%: -0.0005 to +0.0009) and a holdout AUC of
# 0.8057 against 0.8058: no gain beyond noise. Only 5% of active customers have a social
# account identity links to them, and the simulated world's engagement does not stop when a
# customer leaves.
MODEL_FEATURES: tuple[str, ...] = (
    *CHURN_FEATURES,
    *ENGAGEMENT_FEATURES,
    "p_alive",
    "expected_orders_90d",
)

SPEC = trainer.ModelSpec(
    name=MODEL,
    kind="binary",
    features=MODEL_FEATURES,
    label="churned",
    params=PARAMS,
    monotone={**CHURN_MONOTONE, "p_alive": -1, "expected_orders_90d": -1},
    rounds=ROUNDS,
    early_stopping=EARLY_STOPPING,
)


def fit_and_score(
    features: pl.DataFrame,
    purchases: pl.DataFrame,
    logical_date: date,
    horizon_days: int,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    tolerance: float = 0.005,
) -> trainer.Outcome:
    """Score today's active customers with the current churn model, training (and possibly
    promoting) a new one first when the current one is `retrain_every_days` old.

    `features` are `marts.customer_features` (every cutoff), `purchases` those of
    `features.read_purchases` (for the labels); the buy-till-you-die columns are added
    here, for the older cutoffs only when a retrain needs them. Each cutoff's fit uses all
    customers who had bought by then, not only the active ones.
    """
    today, fits = btyd_enrich(features.filter(pl.col("as_of_date") == logical_date))
    outcome = trainer.run(
        SPEC,
        baseline.CHURN_RIVALS,
        active(today),
        lambda: labelled_rows(features, purchases, logical_date, horizon_days),
        logical_date,
        models_dir,
        threads,
        retrain_every_days,
        tolerance,
    )
    outcome.evaluation["btyd_scoring"] = fit_records(fits)
    return outcome


def labelled_rows(
    features: pl.DataFrame, purchases: pl.DataFrame, logical_date: date, horizon_days: int
) -> trainer.Labelled:
    """The active customers of the training and validation cutoffs with their churn label,
    and those cutoffs: what a retrain as of `logical_date` learns from."""
    cutoffs = sorted(set(active(features).get_column("as_of_date").to_list()))
    training, validation = trainer.split_cutoffs(cutoffs, logical_date, horizon_days)
    rows, fits = btyd_enrich(features.filter(pl.col("as_of_date").is_in([*training, validation])))
    return trainer.Labelled(
        churn_labels(active(rows), purchases, horizon_days),
        training,
        validation,
        horizon_days,
        {"btyd": fit_records(fits)},
    )
