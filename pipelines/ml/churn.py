"""Churn: train on past cutoffs whose outcome is known, validate on the latest such cutoff,
score today's active customers with a calibrated probability, a decile and three reasons."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from pipelines.ml import registry
from pipelines.ml.explain import top_reasons
from pipelines.ml.features import CHURN_FEATURES, CHURN_MONOTONE, feature_matrix
from pipelines.ml.labels import active, churn_labels, labelled_cutoffs

log = logging.getLogger(__name__)

MODEL = "churn"
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.05,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "min_child_weight": 5,
    "seed": 0,
}
ROUNDS = 400
EARLY_STOPPING = 30


@dataclass
class ChurnResult:
    scores: pl.DataFrame
    card: registry.ModelCard
    trained: bool


def split_cutoffs(
    cutoffs: list[date], logical_date: date, horizon_days: int
) -> tuple[list[date], date]:
    """Training cutoffs and the validation cutoff.

    Validation is the newest cutoff whose outcome is known; training uses only cutoffs whose
    outcome window closed before it, so no training label peeks into the validation window.
    """
    known = labelled_cutoffs(cutoffs, logical_date, horizon_days)
    if not known:
        raise InsufficientHistoryError(
            f"no cutoff has a known {horizon_days}-day outcome by {logical_date}"
        )
    validation = known[-1]
    training = labelled_cutoffs(known, validation, horizon_days)
    if not training:
        raise InsufficientHistoryError(
            f"need at least {2 * horizon_days} days of order history before {logical_date} "
            "to train and validate a churn model"
        )
    return training, validation


class InsufficientHistoryError(RuntimeError):
    """Too little history to learn churn; the recency rule scores instead."""


def _dmatrix(frame: pl.DataFrame, label: str | None = None) -> xgb.DMatrix:
    x = feature_matrix(frame, CHURN_FEATURES).to_numpy()
    y = frame.get_column(label).cast(pl.Int8).to_numpy() if label else None
    return xgb.DMatrix(x, label=y, feature_names=list(CHURN_FEATURES), missing=np.nan)


def train(
    labelled: pl.DataFrame, training: list[date], validation: date, threads: int
) -> tuple[registry.ModelCard, xgb.Booster]:
    """Fit the booster with early stopping and class weights, then an isotonic calibration."""
    train_rows = labelled.filter(pl.col("as_of_date").is_in(training))
    valid_rows = labelled.filter(pl.col("as_of_date") == validation)
    positives = int(train_rows.get_column("churned").sum())
    negatives = train_rows.height - positives
    if positives == 0 or negatives == 0:
        raise InsufficientHistoryError("training window has only one outcome class")
    params = {
        **PARAMS,
        "nthread": threads,
        "scale_pos_weight": negatives / positives,
        "monotone_constraints": "(" + ",".join(
            str(CHURN_MONOTONE.get(f, 0)) for f in CHURN_FEATURES) + ")",
    }
    # Half the validation customers stop the boosting, the other half calibrate and score it.
    half = valid_rows.with_columns(
        stop=pl.col("customer_key").hash(seed=7) % 2 == 0
    )
    stop_rows, holdout = half.filter(pl.col("stop")), half.filter(~pl.col("stop"))
    booster = xgb.train(
        params,
        _dmatrix(train_rows, "churned"),
        num_boost_round=ROUNDS,
        evals=[(_dmatrix(stop_rows, "churned"), "validation")],
        early_stopping_rounds=EARLY_STOPPING,
        verbose_eval=False,
    )
    raw = booster.predict(_dmatrix(holdout), iteration_range=(0, booster.best_iteration + 1))
    y = holdout.get_column("churned").cast(pl.Int8).to_numpy()
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    probability = iso.predict(raw)
    recency = holdout.get_column("days_since_last_order").cast(pl.Float64).to_numpy()
    metrics = {
        "auc": float(roc_auc_score(y, raw)),
        "pr_auc": float(average_precision_score(y, raw)),
        "brier": float(brier_score_loss(y, probability)),
        "baseline_recency_auc": float(roc_auc_score(y, recency)),
        "best_iteration": int(booster.best_iteration),
        "train_rows": int(train_rows.height),
        "validation_rows": int(holdout.height),
        "churn_rate_validation": float(y.mean()),
    }
    card = registry.ModelCard(
        model=MODEL,
        version="",
        features=list(CHURN_FEATURES),
        feature_types={f: "float" for f in CHURN_FEATURES},
        training_cutoffs=[c.isoformat() for c in training],
        validation_cutoff=validation.isoformat(),
        params=params,
        metrics=metrics,
        calibration_x=[float(v) for v in iso.X_thresholds_],
        calibration_y=[float(v) for v in iso.y_thresholds_],
    )
    # Keep only the trees early stopping chose, so scoring needs no iteration range.
    return card, booster[: booster.best_iteration + 1]


def deciles(probability: pl.Series, keys: pl.Series) -> pl.Series:
    """1..10 by descending risk order: decile 10 holds the riskiest tenth."""
    frame = pl.DataFrame({"p": probability, "k": keys}).with_row_index("i")
    ranked = frame.sort(["p", "k"], descending=[False, False]).with_row_index("r")
    n = max(frame.height, 1)
    ranked = ranked.with_columns(decile=(pl.col("r") * 10 // n + 1).cast(pl.Int32))
    return ranked.sort("i").get_column("decile")


def score(
    card: registry.ModelCard, booster: xgb.Booster, current: pl.DataFrame
) -> pl.DataFrame:
    """Calibrated churn probability, decile and three reasons for each row of `current`."""
    registry.check_features(card, current.columns)
    matrix = _dmatrix(current)
    raw = booster.predict(matrix)
    probability = registry.calibrate(card, raw)
    contributions = booster.predict(matrix, pred_contribs=True)
    reasons = top_reasons(contributions, current, CHURN_FEATURES)
    probability_series = pl.Series("churn_probability", probability, dtype=pl.Float64)
    return pl.DataFrame(
        {
            "customer_key": current.get_column("customer_key"),
            "as_of_date": current.get_column("as_of_date"),
            "model_version": [card.version] * current.height,
            "churn_probability": probability_series,
            "churn_decile": deciles(probability_series, current.get_column("customer_key")),
            "reason_1": [r[0] for r in reasons],
            "reason_2": [r[1] for r in reasons],
            "reason_3": [r[2] for r in reasons],
        }
    )


def due_for_training(in_use: registry.ModelCard | None, logical_date: date,
                     retrain_every_days: int, columns: list[str]) -> bool:
    """True when there is no usable current model: none yet, trained for a later date (a
    backfill of an earlier day), `retrain_every_days` old or more, or its features are gone."""
    if in_use is None or not in_use.trained_for:
        return True
    age = (logical_date - date.fromisoformat(in_use.trained_for)).days
    return not (0 <= age < retrain_every_days) or not set(in_use.features) <= set(columns)


def fit_and_score(
    features: pl.DataFrame,
    orders: pl.DataFrame,
    logical_date: date,
    horizon_days: int,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
) -> ChurnResult:
    """Score today's active customers with the current churn model, training a new one first
    when there is none yet or the current one is `retrain_every_days` old. Retraining on a
    schedule, not every day, keeps scores stable from one day to the next."""
    population = active(features)
    current = population.filter(pl.col("as_of_date") == logical_date).sort("customer_key")
    in_use = registry.current(models_dir, MODEL)
    if not due_for_training(in_use, logical_date, retrain_every_days, current.columns):
        card, booster = registry.load(models_dir, MODEL, in_use.version)
        return ChurnResult(scores=score(card, booster, current), card=card, trained=False)
    cutoffs = sorted(set(population.get_column("as_of_date").to_list()))
    training, validation = split_cutoffs(cutoffs, logical_date, horizon_days)
    labelled = churn_labels(
        population.filter(pl.col("as_of_date").is_in([*training, validation])),
        orders,
        horizon_days,
    ).sort(["as_of_date", "customer_key"])
    data_hash = hashlib.sha256(labelled.hash_rows(seed=1).to_numpy().tobytes()).hexdigest()
    version = registry.version_for(MODEL, CHURN_FEATURES, PARAMS, ROUNDS, data_hash)
    folder = registry.model_dir(models_dir, MODEL, version)
    trained = not folder.exists()
    if trained:
        card, booster = train(labelled, training, validation, threads)
        card.version = version
        card.trained_for = logical_date.isoformat()
        registry.save(models_dir, card, booster)
        log.info("trained churn %s: %s", version, card.metrics)
    registry.set_current(models_dir, MODEL, version)
    card, booster = registry.load(models_dir, MODEL, version)
    return ChurnResult(scores=score(card, booster, current), card=card, trained=trained)
