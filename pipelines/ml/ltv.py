"""Lifetime value: what each customer will spend over the horizon (a year), from XGBoost on
the RFM features and the buy-till-you-die expectations, beside its rivals: BG/NBD +
Gamma-Gamma alone (which is also among the model's inputs), order count and recent spend.

**The outcome window.** A year-long outcome needs a year of waiting, so with a year of
history or more the validation cutoff is the newest one at least a year old, and training uses
the cutoffs `ltv_training_gap_days` before it (two whole years before the run date would be
needed for training windows that end before the validation window starts, which a small shop
rarely has; the holdout customers are then left out of training, see `trainer`).

A younger shop has no cutoff with a known year: the model learns from the longest window the
history supports instead (`choose_window`): the windows tried are the distances from the run
date back to each cutoff, longest first, and the first whose validation cutoff has at least as
much history before it as the window after it, and a training cutoff before that, is learnt.
Below `ltv_min_label_days` (90 days) nothing is learnt and BG/NBD + Gamma-Gamma scores, saying
why. Predictions are carried to the horizon by `horizon_scaling`: the ratio of BG/NBD +
Gamma-Gamma's expected spend over the horizon to that over the window, summed over today's
customers (one factor for all, so the ranking published is the ranking measured; the factor
counts the customers BG/NBD expects to stop buying, which a plain horizon/window ratio would
not). When BG/NBD cannot be fit, the plain ratio is used and the note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.ml import trainer
from pipelines.ml.explain import phrase
from pipelines.ml.features import (
    BTYD_FEATURES,
    ENGAGEMENT_FEATURES,
    BtydFit,
    btyd_enrich,
    fit_records,
)
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


def _column(name: str) -> Callable[[pl.DataFrame], np.ndarray]:
    def score(frame: pl.DataFrame) -> np.ndarray:
        return frame.get_column(name).cast(pl.Float64).to_numpy()

    return score


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


def _reasons_of(*features: str) -> Callable[[pl.DataFrame], list[list[str]]]:
    def reasons(frame: pl.DataFrame) -> list[list[str]]:
        columns = [frame.get_column(f).to_list() for f in features]
        return [
            [phrase(f, v) for f, v in zip(features, values, strict=True)]
            for values in zip(*columns, strict=True)
        ]

    return reasons


# BG/NBD + Gamma-Gamma's expected spend over the year is the first rival: it also scores, as
# it is, when there is too little history to measure anything (0 for everyone when it cannot
# be fit; missing scores keep it from publishing in the model's place).
BASELINE_RULE = trainer.Baseline(
    BASELINE,
    _column("expected_value_365d"),
    _baseline_reasons,
    "BG/NBD + Gamma-Gamma's expected spend",
)
RIVALS: tuple[trainer.Baseline, ...] = (
    BASELINE_RULE,
    trainer.Baseline(
        "order_count",
        _column("orders_count"),
        _reasons_of("orders_count", "days_since_last_order", "avg_order_value"),
        "the order count so far",
    ),
    trainer.Baseline(
        "spend_365d",
        _column("revenue_365d"),
        _reasons_of("revenue_365d", "orders_365d", "days_since_last_order"),
        "spend in the last 365 days",
    ),
    trainer.Baseline(
        "spend_90d",
        _column("revenue_90d"),
        _reasons_of("revenue_90d", "orders_90d", "days_since_last_order"),
        "spend in the last 90 days",
    ),
)


def label_windows(
    cutoffs: list[date], logical_date: date, horizon_days: int, min_days: int
) -> list[int]:
    """Outcome windows to try, longest first: the horizon, then the distance from
    `logical_date` back to each cutoff that is shorter, down to `min_days`."""
    shorter = {(logical_date - c).days for c in cutoffs}
    return [
        horizon_days,
        *sorted((w for w in shorter if min_days <= w < horizon_days), reverse=True),
    ]


def choose_window(
    cutoffs: list[date],
    first_purchase: date,
    logical_date: date,
    horizon_days: int,
    gap_days: int,
    min_days: int,
) -> tuple[int, list[date], date]:
    """The outcome window to learn (days), its training cutoffs and validation cutoff.

    The horizon when a cutoff has a known horizon-long outcome and a training cutoff
    `gap_days` before it. Otherwise the longest shorter window (`label_windows`) whose
    validation cutoff has at least as much purchase history before it (since
    `first_purchase`) as the window after it, and a training cutoff `gap_days` before that
    with purchases behind it: features that have seen less of a customer than the outcome
    window asks about describe customers unlike today's. Raises `InsufficientHistoryError`
    when no window of at least `min_days` qualifies.
    """
    with_history = [c for c in cutoffs if c >= first_purchase]
    for window in label_windows(with_history, logical_date, horizon_days, min_days):
        try:
            training, validation = trainer.split_cutoffs(
                with_history, logical_date, window, gap_days
            )
        except trainer.InsufficientHistoryError:
            continue
        if window == horizon_days or (validation - first_purchase).days >= window:
            return window, training, validation
    history = (logical_date - first_purchase).days
    raise trainer.InsufficientHistoryError(
        f"{history} days of purchases (since {first_purchase}) hold no known outcome of "
        f"{min_days} days or more with as much history before it and a training cutoff "
        f"{gap_days} days earlier; about {2 * min_days} days are needed to learn lifetime value"
    )


def horizon_scaling(
    fit: BtydFit | str | None, current: pl.DataFrame, label_days: int, horizon_days: int
) -> trainer.Scaling:
    """How a prediction of spend over `label_days` is carried to `horizon_days`: by the ratio
    of BG/NBD + Gamma-Gamma's expected spend over the two, summed over `current` (today's
    customers, whose fit is `fit`), or, when BG/NBD could not be fit, by horizon/window,
    which assumes every customer keeps buying at their recent rate."""
    span = "a year" if horizon_days == 365 else f"{horizon_days} days"
    if label_days == horizon_days:
        return trainer.Scaling(label_days, horizon_days, 1.0, "none", "")
    learnt = f"{label_days}-day outcomes, scaled to {span}"
    if isinstance(fit, BtydFit) and current.height:
        over_horizon = float(fit.expected_value(current, horizon_days).sum())
        over_window = float(fit.expected_value(current, label_days).sum())
        if over_window > 0 and np.isfinite(over_horizon / over_window):
            factor = over_horizon / over_window
            return trainer.Scaling(
                label_days,
                horizon_days,
                factor,
                "bgnbd_expected_spend_ratio",
                f"{learnt} by BG/NBD + Gamma-Gamma's expected spend over {span} against "
                f"{label_days} days (x{factor:.2f})",
            )
    factor = horizon_days / label_days
    return trainer.Scaling(
        label_days,
        horizon_days,
        factor,
        "steady_rate",
        f"{learnt} assuming customers keep buying at their rate (x{factor:.2f}; "
        "BG/NBD could not be fit today)",
    )


def labelled_rows(
    features: pl.DataFrame,
    purchases: pl.DataFrame,
    logical_date: date,
    horizon_days: int,
    gap_days: int,
    min_label_days: int,
) -> trainer.Labelled:
    """The customers of the training and validation cutoffs with what they spent in the
    outcome window after each (`choose_window`), and those cutoffs: what a retrain as of
    `logical_date` learns from. Raises `InsufficientHistoryError` when there is too little."""
    if purchases.height == 0:
        raise trainer.InsufficientHistoryError("no purchases yet")
    cutoffs = sorted(set(features.get_column("as_of_date").to_list()))
    first = purchases.get_column("ordered_at").min().date()
    window, training, validation = choose_window(
        cutoffs, first, logical_date, horizon_days, gap_days, min_label_days
    )
    rows, fits = btyd_enrich(features.filter(pl.col("as_of_date").is_in([*training, validation])))
    return trainer.Labelled(
        value_labels(rows, purchases, window),
        training,
        validation,
        window,
        {"btyd": fit_records(fits)},
    )


def fit_and_score(
    features: pl.DataFrame,
    purchases: pl.DataFrame,
    logical_date: date,
    horizon_days: int,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    gap_days: int = 30,
    tolerance: float = 0.005,
    min_label_days: int = 90,
) -> trainer.Outcome:
    """Score every customer who has bought (as of `logical_date`) with their expected value
    over the next `horizon_days`. `features` are `marts.customer_features` (every cutoff),
    `purchases` those of `features.read_purchases` (for the labels); the buy-till-you-die
    columns are added here, for older cutoffs only when retraining."""
    current, current_fits = btyd_enrich(features.filter(pl.col("as_of_date") == logical_date))

    def labelled() -> trainer.Labelled:
        return labelled_rows(
            features, purchases, logical_date, horizon_days, gap_days, min_label_days
        )

    outcome = trainer.run(
        SPEC,
        RIVALS,
        current,
        labelled,
        logical_date,
        models_dir,
        threads,
        retrain_every_days,
        tolerance,
        lambda window: horizon_scaling(
            current_fits.get(logical_date), current, window, horizon_days
        ),
    )
    outcome.evaluation["btyd_scoring"] = fit_records(current_fits)
    bgnbd = outcome.evaluation.get("rivals", {}).get(BASELINE, {}).get("spearman")
    if outcome.version not in {r.name for r in RIVALS} and bgnbd is not None:
        outcome.note += (
            f"; BG/NBD + Gamma-Gamma's expectations are among the model's inputs "
            f"(alone they reach spearman {bgnbd:.3f})"
        )
    return outcome
