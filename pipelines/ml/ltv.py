"""Lifetime value: what each customer will spend in the next year, from XGBoost on the RFM
features and the buy-till-you-die summaries, with BG/NBD + Gamma-Gamma as the baseline.

A year-long outcome needs a year of waiting, so the validation cutoff is the newest one at
least a year old, and training uses the cutoffs `ltv_training_gap_days` before it. Two whole
years of history before the run date would be needed for training windows that end before
the validation window starts; a small shop rarely has them, so the windows overlap in time
(never in the customers' own features, which stop at each cutoff).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.ml import trainer
from pipelines.ml.explain import phrase
from pipelines.ml.features import BTYD_FEATURES, ENGAGEMENT_FEATURES, with_btyd
from pipelines.ml.labels import value_labels

MODEL = "ltv"
BASELINE = "bgnbd_gamma_gamma"

# Windowed RFM rather than lifetime totals: the model learns on cutoffs a year or more ago,
# when nobody had two years of history, and scores today when many do; lifetime counts and
# tenure would be read far outside the range they were learnt on. The BG/NBD summaries carry
# the whole history in a form that does not drift with its length. (Simulated shop, scale s:
# Spearman against next year's spend 0.694 windowed, 0.689 with lifetime totals.)
LTV_FEATURES: tuple[str, ...] = (
    "days_since_last_order",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "avg_order_value",
    "revenue_90d",
    "revenue_365d",
    "avg_days_between_orders",
    "is_email_subscribed",
    "repeat_order_value",
    *ENGAGEMENT_FEATURES,
    *BTYD_FEATURES,
)

SPEC = trainer.ModelSpec(
    name=MODEL,
    kind="regression",
    features=LTV_FEATURES,
    label="value_next",
    # Tweedie: most customers spend nothing next year, the rest a skewed amount; the log link
    # keeps predictions positive and the total unbiased.
    params={
        "objective": "reg:tweedie",
        "tweedie_variance_power": 1.5,
        "eval_metric": "tweedie-nloglik@1.5",
        "tree_method": "hist",
        "max_depth": 4,
        "eta": 0.05,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "min_child_weight": 5,
        "seed": 0,
    },
    monotone={"expected_value_365d": 1, "orders_365d": 1},
    rounds=600,
    reasons="both",
)


def _baseline_score(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column("expected_value_365d").cast(pl.Float64).fill_null(0.0).to_numpy()


def _baseline_reasons(frame: pl.DataFrame) -> list[list[str]]:
    return [
        [
            phrase("orders_count", n),
            phrase("days_since_last_order", d),
            phrase("expected_order_value", v),
        ]
        for n, d, v in zip(
            frame.get_column("orders_count").to_list(),
            frame.get_column("days_since_last_order").to_list(),
            frame.get_column("expected_order_value").to_list(),
            strict=True,
        )
    ]


BASELINE_RULE = trainer.Baseline(BASELINE, _baseline_score, _baseline_reasons)


def fit_and_score(
    features: pl.DataFrame,
    orders: pl.DataFrame,
    logical_date: date,
    horizon_days: int,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    gap_days: int = 30,
    tolerance: float = 0.005,
) -> trainer.Outcome:
    """Score every customer who has ordered (as of `logical_date`) with their expected value
    over the next `horizon_days`. `features` are `marts.customer_features` (every cutoff);
    the buy-till-you-die columns are added here, for older cutoffs only when retraining."""
    current = with_btyd(features.filter(pl.col("as_of_date") == logical_date), orders)

    def labelled() -> tuple[pl.DataFrame, list[date], date]:
        cutoffs = sorted(set(features.get_column("as_of_date").to_list()))
        training, validation = trainer.split_cutoffs(cutoffs, logical_date, horizon_days, gap_days)
        rows = with_btyd(
            features.filter(pl.col("as_of_date").is_in([*training, validation])), orders
        )
        return value_labels(rows, orders, horizon_days), training, validation

    return trainer.run(
        SPEC,
        BASELINE_RULE,
        current,
        labelled,
        logical_date,
        models_dir,
        threads,
        retrain_every_days,
        tolerance,
    )
