"""Train, validate, promote and score a model, the same way for churn, lifetime value and lead
conversion.

The life of a model version:

1. **train** on cutoffs whose outcome is known and whose outcome window closed before the
   validation cutoff's (`split_cutoffs`), with XGBoost's early stopping;
2. **validate** on the newest cutoff whose outcome is known, split in two halves by customer:
   the first stops the boosting and fits the calibration, the second (the *holdout*) is
   touched by nothing but the metrics;
3. **compare** on that same holdout with the baseline (a rule a marketer would use) and with
   the version that scores today;
4. **promote** only when it beats the baseline and is no worse than the previous version by
   more than the tolerance; otherwise the previous version keeps scoring (or the baseline, when
   there is none) and the note says why.

Retraining happens on a schedule (`retrain_every_days`), so scores stay stable day to day.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from pipelines.ml import metrics as m
from pipelines.ml import registry
from pipelines.ml.explain import reason_columns
from pipelines.ml.features import feature_matrix
from pipelines.ml.labels import labelled_cutoffs
from pipelines.ml.scores import REASONS, long_scores

log = logging.getLogger(__name__)


class InsufficientHistoryError(RuntimeError):
    """Too little history to learn the model; the previous version or the baseline scores."""


@dataclass(frozen=True)
class ModelSpec:
    """What differs between the models: features, label, objective and parameters."""

    name: str
    kind: str  # "binary" or "regression"
    features: tuple[str, ...]
    label: str
    params: dict
    monotone: dict[str, int] = field(default_factory=dict)
    rounds: int = 400
    early_stopping: int = 30
    # "up": reasons are what pushes the score up (why at risk); "both": what moves it most.
    reasons: str = "up"

    @property
    def metric(self) -> str:
        """The figure promotion compares."""
        return "auc" if self.kind == "binary" else "spearman"


@dataclass(frozen=True)
class Baseline:
    """The rule reported beside the model, and what scores when no model may."""

    name: str
    score: Callable[[pl.DataFrame], np.ndarray]
    reasons: Callable[[pl.DataFrame], list[list[str]]]


@dataclass
class Outcome:
    """What one scoring run did: the rows for `ml.scores` and the record for `ml.model_runs`."""

    scores: pl.DataFrame
    version: str  # what scored: a model version or the baseline's name
    trained: bool = False  # a new version was trained in this run
    candidate: str | None = None  # the version evaluated for promotion in this run
    promoted: bool | None = None
    evaluation: dict = field(default_factory=dict)  # candidate, baseline, previous metrics
    note: str = ""


def split_cutoffs(
    cutoffs: list[date], logical_date: date, horizon_days: int, gap_days: int | None = None
) -> tuple[list[date], date]:
    """Training cutoffs and the validation cutoff.

    Validation is the newest cutoff whose outcome is known by `logical_date`; training uses
    the cutoffs at least `gap_days` (default: the horizon) before it, so with the default no
    training label peeks into the validation window. A shorter gap is for long horizons
    (a year of value) where two whole windows of history are rarely there.
    """
    known = labelled_cutoffs(cutoffs, logical_date, horizon_days)
    if not known:
        raise InsufficientHistoryError(
            f"no cutoff has a known {horizon_days}-day outcome by {logical_date}"
        )
    validation = known[-1]
    training = labelled_cutoffs(known, validation, horizon_days if gap_days is None else gap_days)
    if not training:
        needed = horizon_days + (horizon_days if gap_days is None else gap_days)
        raise InsufficientHistoryError(
            f"need at least {needed} days of order history before {logical_date} to train "
            f"and validate a {horizon_days}-day model"
        )
    return training, validation


def due_for_training(
    in_use: registry.ModelCard | None,
    logical_date: date,
    retrain_every_days: int,
    schema: dict[str, str],
) -> bool:
    """True when there is no usable current model: none yet, trained for a later date (a
    backfill of an earlier day), `retrain_every_days` old or more, or its features are gone
    or changed type."""
    if in_use is None or not in_use.trained_for:
        return True
    age = (logical_date - date.fromisoformat(in_use.trained_for)).days
    return not (0 <= age < retrain_every_days) or bool(registry.mismatches(in_use, schema))


def schema_of(frame: pl.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.schema.items()}


def decide(
    metric: str,
    candidate: float,
    baseline: float | None,
    previous: float | None,
    tolerance: float,
    baseline_name: str = "baseline",
) -> tuple[bool, str]:
    """Promote a candidate only if it beats the baseline and is at most `tolerance` below the
    previous version; the note says which comparison decided."""
    parts = [f"{metric} {candidate:.3f}"]
    if baseline is not None:
        parts.append(f"{baseline_name} {baseline:.3f}")
    if previous is not None:
        parts.append(f"previous version {previous:.3f}")
    figures = ", ".join(parts)
    if baseline is not None and not candidate > baseline:
        return False, f"not promoted, it does not beat the {baseline_name} ({figures})"
    if previous is not None and candidate < previous - tolerance:
        return False, (
            f"not promoted, it is more than {tolerance:g} below the previous version ({figures})"
        )
    return True, f"promoted ({figures})"


def _dmatrix(
    spec: ModelSpec, frame: pl.DataFrame, features: tuple[str, ...] | list[str], label: bool = False
) -> xgb.DMatrix:
    x = feature_matrix(frame, tuple(features)).to_numpy()
    y = frame.get_column(spec.label).cast(pl.Float64).to_numpy() if label else None
    return xgb.DMatrix(x, label=y, feature_names=list(features), missing=np.nan)


def halves(valid_rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The validation cutoff's rows split by customer: (stop and calibrate, holdout)."""
    tagged = valid_rows.with_columns(_stop=pl.col("customer_key").hash(seed=7) % 2 == 0)
    return (
        tagged.filter(pl.col("_stop")).drop("_stop"),
        tagged.filter(~pl.col("_stop")).drop("_stop"),
    )


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """A logistic map of the booster's log-odds to probabilities, stored as a dense grid for
    `registry.calibrate`. Strictly increasing, so the calibrated score ranks customers exactly
    as the booster does (an isotonic step function would tie whole blocks of them)."""
    eps = 1e-6
    logit = np.log(np.clip(raw, eps, 1 - eps) / (1 - np.clip(raw, eps, 1 - eps)))
    fit = LogisticRegression(C=1e6).fit(logit.reshape(-1, 1), y)
    grid = np.unique(np.concatenate([[0.0, 1.0], np.quantile(raw, np.linspace(0, 1, 201))]))
    g = np.log(np.clip(grid, eps, 1 - eps) / (1 - np.clip(grid, eps, 1 - eps)))
    mapped = fit.predict_proba(g.reshape(-1, 1))[:, 1]
    if fit.coef_[0, 0] <= 0:
        raise InsufficientHistoryError(
            "the model's scores do not rise with the outcome on the "
            "validation customers; nothing to calibrate"
        )
    return [float(v) for v in grid], [float(v) for v in mapped]


def evaluate(
    spec: ModelSpec, card: registry.ModelCard, booster: xgb.Booster, rows: pl.DataFrame
) -> dict:
    """The model's metrics on `rows` (labelled), computed on the score as published."""
    score = registry.calibrate(card, booster.predict(_dmatrix(spec, rows, card.features)))
    return score_metrics(spec, rows, score)


def score_metrics(spec: ModelSpec, rows: pl.DataFrame, score: np.ndarray) -> dict:
    """Metrics of `score` against the label of `rows`; Brier and calibration only where the
    score is a probability (a baseline's rule may rank without being one)."""
    y = rows.get_column(spec.label).cast(pl.Float64).to_numpy()
    if spec.kind == "binary":
        probability = score if len(score) and score.min() >= 0 and score.max() <= 1 else None
        return m.classification(y.astype(np.int64), score, probability)
    return m.regression(y, score)


def train(
    spec: ModelSpec, labelled: pl.DataFrame, training: list[date], validation: date, threads: int
) -> tuple[registry.ModelCard, xgb.Booster, pl.DataFrame]:
    """Fit the booster with early stopping, calibrate it, and measure it on the holdout.
    Returns the card (metrics filled in), the booster and the holdout rows."""
    train_rows = labelled.filter(pl.col("as_of_date").is_in(training))
    stop_rows, holdout = halves(labelled.filter(pl.col("as_of_date") == validation))
    params = {
        **spec.params,
        "nthread": threads,
        "monotone_constraints": "("
        + ",".join(str(spec.monotone.get(f, 0)) for f in spec.features)
        + ")",
    }
    if spec.kind == "binary":
        for name, rows in (
            ("training", train_rows),
            ("validation", stop_rows),
            ("holdout", holdout),
        ):
            labels = rows.get_column(spec.label)
            if rows.height == 0 or labels.n_unique() < 2:
                raise InsufficientHistoryError(
                    f"{spec.name}: the {name} customers have only one outcome ({rows.height} rows)"
                )
        positives = int(train_rows.get_column(spec.label).sum())
        params["scale_pos_weight"] = (train_rows.height - positives) / positives
    elif min(train_rows.height, stop_rows.height, holdout.height) < 20:
        raise InsufficientHistoryError(
            f"{spec.name}: too few customers to learn from ({train_rows.height} training rows)"
        )
    booster = xgb.train(
        params,
        _dmatrix(spec, train_rows, spec.features, label=True),
        num_boost_round=spec.rounds,
        evals=[(_dmatrix(spec, stop_rows, spec.features, label=True), "validation")],
        early_stopping_rounds=spec.early_stopping,
        verbose_eval=False,
    )
    best = int(booster.best_iteration)
    # Keep only the trees early stopping chose, so scoring needs no iteration range.
    booster = booster[: best + 1]
    raw_stop = booster.predict(_dmatrix(spec, stop_rows, spec.features))
    y_stop = stop_rows.get_column(spec.label).cast(pl.Float64).to_numpy()
    card = registry.ModelCard(
        model=spec.name,
        version="",
        features=list(spec.features),
        feature_types=registry.feature_types(labelled, spec.features),
        training_cutoffs=[c.isoformat() for c in training],
        validation_cutoff=validation.isoformat(),
        params=params,
        kind=spec.kind,
    )
    if spec.kind == "binary":
        card.calibration_x, card.calibration_y = _platt(raw_stop, y_stop)
    else:
        predicted = float(raw_stop.sum())
        card.calibration_scale = float(y_stop.sum()) / predicted if predicted > 0 else 1.0
    card.metrics = {
        **evaluate(spec, card, booster, holdout),
        "best_iteration": best,
        "train_rows": int(train_rows.height),
        "validation_rows": int(stop_rows.height),
        "holdout_rows": int(holdout.height),
    }
    return card, booster, holdout


# The booster's output from its margin, for the objectives the models use.
INVERSE_LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "binary:logistic": expit,
    "reg:tweedie": np.exp,
    "count:poisson": np.exp,
    "reg:squarederror": lambda margin: margin,
}


def predict_with_contributions(
    booster: xgb.Booster, matrix: xgb.DMatrix, objective: str
) -> tuple[np.ndarray, np.ndarray]:
    """The booster's predictions and each feature's contribution to them (rows x features +
    1, the last column the bias).

    Per-path contributions (Saabas), not exact TreeSHAP: the same feature leads a customer's
    reasons four times in five at scale m, at a thirtieth of the cost (exact took 48 s for 48k
    customers on one thread, which would be minutes at 1M). They sum to the margin, so the
    prediction comes from them instead of a second pass over every tree.
    """
    contributions = booster.predict(matrix, pred_contribs=True, approx_contribs=True)
    link = INVERSE_LINKS.get(objective)
    if link is None:
        return booster.predict(matrix), contributions
    return link(contributions.sum(axis=1, dtype=np.float64)), contributions


def score_with(
    spec: ModelSpec,
    card: registry.ModelCard,
    booster: xgb.Booster,
    current: pl.DataFrame,
    logical_date: date,
) -> pl.DataFrame:
    """`ml.scores` rows for `current` from a stored model; refuses a model whose features or
    feature types differ from the table's."""
    registry.check_features(card, schema_of(current))
    raw, contributions = predict_with_contributions(
        booster, _dmatrix(spec, current, card.features), spec.params["objective"]
    )
    score = registry.calibrate(card, raw)
    reasons = reason_columns(
        contributions, current, tuple(card.features), REASONS, direction=spec.reasons
    )
    return long_scores(
        spec.name,
        card.version,
        logical_date,
        current.get_column("customer_key"),
        pl.Series(score, dtype=pl.Float64),
        reasons,
    )


def score_baseline(
    spec: ModelSpec, baseline: Baseline, current: pl.DataFrame, logical_date: date
) -> pl.DataFrame:
    return long_scores(
        spec.name,
        baseline.name,
        logical_date,
        current.get_column("customer_key"),
        pl.Series(baseline.score(current), dtype=pl.Float64),
        baseline.reasons(current),
    )


def data_hash(labelled: pl.DataFrame) -> str:
    return hashlib.sha256(labelled.hash_rows(seed=1).to_numpy().tobytes()).hexdigest()


def run(
    spec: ModelSpec,
    baseline: Baseline,
    current: pl.DataFrame,
    labelled: Callable[[], tuple[pl.DataFrame, list[date], date]],
    logical_date: date,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    tolerance: float = 0.005,
) -> Outcome:
    """Score `current` (the rows to score as of `logical_date`) with the model that may.

    `labelled()` gives the labelled rows of every cutoff with a known outcome, the training
    cutoffs and the validation cutoff; it is only called when a retrain is due, and raises
    `InsufficientHistoryError` when there is too little history.
    """
    current = current.sort("customer_key")
    schema = schema_of(current)
    in_use = registry.current(models_dir, spec.name)
    usable = in_use is not None and not registry.mismatches(in_use, schema)
    if usable and not due_for_training(in_use, logical_date, retrain_every_days, schema):
        card, booster = registry.load(models_dir, spec.name, in_use.version)
        return Outcome(
            score_with(spec, card, booster, current, logical_date),
            card.version,
            trained=False,
            evaluation={"candidate": card.metrics},
        )

    def keep_previous(note: str, **extra: object) -> Outcome:
        if usable:
            card, booster = registry.load(models_dir, spec.name, in_use.version)
            return Outcome(
                score_with(spec, card, booster, current, logical_date),
                card.version,
                note=f"version {card.version} keeps scoring: {note}",
                **extra,
            )
        return Outcome(
            score_baseline(spec, baseline, current, logical_date),
            baseline.name,
            note=f"scored by the {baseline.name} baseline: {note}",
            **extra,
        )

    try:
        rows, training, validation = labelled()
        rows = rows.sort(["as_of_date", "customer_key"])
        version = registry.version_for(
            spec.name, spec.features, spec.params, spec.rounds, data_hash(rows)
        )
        trained = not registry.model_dir(models_dir, spec.name, version).exists()
        if trained:
            card, booster, holdout = train(spec, rows, training, validation, threads)
            card.version = version
            card.trained_for = logical_date.isoformat()
            card.metrics["baseline"] = {
                "name": baseline.name,
                **score_metrics(spec, holdout, baseline.score(holdout)),
            }
            registry.save(models_dir, card, booster)
            log.info("trained %s %s: %s", spec.name, version, card.metrics)
        else:
            card, booster = registry.load(models_dir, spec.name, version)
            holdout = halves(rows.filter(pl.col("as_of_date") == validation))[1]
    except InsufficientHistoryError as exc:
        log.warning("%s: %s", spec.name, exc)
        return keep_previous(str(exc))

    evaluation = {"candidate": card.metrics, "baseline": card.metrics.get("baseline", {})}
    previous_value = None
    if usable and in_use.version != version:
        prev_card, prev_booster = registry.load(models_dir, spec.name, in_use.version)
        if not registry.mismatches(prev_card, schema_of(holdout)):
            evaluation["previous"] = {
                "version": prev_card.version,
                **evaluate(spec, prev_card, prev_booster, holdout),
            }
            previous_value = evaluation["previous"][spec.metric]
    promoted, note = decide(
        spec.metric,
        card.metrics[spec.metric],
        evaluation["baseline"].get(spec.metric),
        previous_value,
        tolerance,
        baseline.name,
    )
    log.info("%s %s: %s", spec.name, version, note)
    if not promoted:
        return keep_previous(
            f"candidate {version} {note}",
            trained=trained,
            candidate=version,
            promoted=False,
            evaluation=evaluation,
        )
    registry.set_current(models_dir, spec.name, version)
    return Outcome(
        score_with(spec, card, booster, current, logical_date),
        version,
        trained=trained,
        candidate=version,
        promoted=True,
        evaluation=evaluation,
        note=f"{version} {note}",
    )
