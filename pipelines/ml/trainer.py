"""Train, validate, promote and score a model, the same way for churn, lifetime value and lead
conversion.

The life of a model version:

1. **train** on cutoffs whose outcome is known and whose outcome window closed before the
   validation cutoff's (`split_cutoffs`), with XGBoost's early stopping;
2. **validate** on the newest cutoff whose outcome is known, split in two halves by customer:
   the first stops the boosting and fits the calibration, the second (the *holdout*) is
   touched by nothing but the metrics;
3. **compare** on that same holdout with every simple rival that could publish instead
   (`rivals.py`: recency, order count, spend, BG/NBD) and with the version that scores today;
4. **promote** only when it beats the strongest rival and is no worse than the previous
   version by more than the tolerance. Otherwise the best ranking measured publishes: the
   previous version, or the strongest rival (in the model's units, its ranking unchanged), and
   the note says which and why. Only when nothing could be measured (too little history) does
   the first rival's rule score as it is.

The decision holds until the next retrain (`retrain_every_days`), so scores stay stable day
to day; `registry.set_current` keeps it with the figures behind it. When the training label
windows overlap the validation window in time (a year-long outcome on a short history), the
holdout customers are left out of training, so that no holdout outcome is learnt.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
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
from pipelines.ml import rivals as rival_rules
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


Baseline = rival_rules.Baseline


@dataclass(frozen=True)
class Scaling:
    """How predictions learnt on a shorter outcome window are carried to the horizon scores
    are for: multiplied by `factor`, for the reason `method` names."""

    label_days: int
    horizon_days: int
    factor: float
    method: str
    # In plain words, after "learnt from" or "measured on": "120-day outcomes, scaled to a
    # year by ..."; empty when nothing is scaled.
    words: str

    def record(self) -> dict:
        return {
            "label_days": self.label_days,
            "horizon_days": self.horizon_days,
            "factor": self.factor,
            "method": self.method,
        }


# The fewest positive and negative outcomes a classifier's holdout needs before its AUC decides
# anything. AUC's standard error (Hanley and McNeil, 1982) at an AUC of 0.7 is about 0.09 with
# 10 of the rarer outcome and grows fast below: wider than the gaps between a model and its
# rivals, so with fewer the comparison is noise and the version in use (or a rival) stays.
MIN_HOLDOUT_OUTCOMES = 10


@dataclass
class Labelled:
    """What a retrain learns from: labelled rows of the training and validation cutoffs, the
    outcome window the labels cover, and what to record beside the run (`context`)."""

    rows: pl.DataFrame
    training: list[date]
    validation: date
    label_days: int
    context: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What one scoring run did: the rows for `ml.scores` and the record for `ml.model_runs`."""

    scores: pl.DataFrame
    version: str  # what scored: a model version or a rival's name
    trained: bool = False  # a new version was trained in this run
    candidate: str | None = None  # the version evaluated for promotion in this run
    promoted: bool | None = None
    # candidate, rivals, baseline (the strongest rival), previous version, published (what
    # scored and its holdout figure), scaling.
    evaluation: dict = field(default_factory=dict)
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
    """Promote a candidate only if it beats the baseline (the strongest rival) and is at most
    `tolerance` below the previous version; the note says which comparison decided."""
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
    spec: ModelSpec,
    labelled: pl.DataFrame,
    training: list[date],
    validation: date,
    threads: int,
    holdout_out_of_training: bool = False,
) -> tuple[registry.ModelCard, xgb.Booster, pl.DataFrame]:
    """Fit the booster with early stopping, calibrate it, and measure it on the holdout.
    With `holdout_out_of_training`, the holdout customers' rows at the training cutoffs are
    left out too (needed when training outcomes overlap the validation window in time).
    Returns the card (metrics filled in), the booster and the holdout rows."""
    train_rows = labelled.filter(pl.col("as_of_date").is_in(training))
    stop_rows, holdout = halves(labelled.filter(pl.col("as_of_date") == validation))
    if holdout_out_of_training:
        train_rows = train_rows.join(holdout.select("customer_key"), on="customer_key", how="anti")
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
        held = int(holdout.get_column(spec.label).sum())
        if min(held, holdout.height - held) < MIN_HOLDOUT_OUTCOMES:
            raise InsufficientHistoryError(
                f"{spec.name}: the holdout has {held} positive and {holdout.height - held} "
                f"negative outcomes; a comparison with the rivals needs at least "
                f"{MIN_HOLDOUT_OUTCOMES} of each to mean anything"
            )
        positives = int(train_rows.get_column(spec.label).sum())
        params["scale_pos_weight"] = (train_rows.height - positives) / positives
    elif min(train_rows.height, stop_rows.height, holdout.height) < 20:
        raise InsufficientHistoryError(
            f"{spec.name}: too few customers to learn from ({train_rows.height} training rows)"
        )
    else:
        for name, rows in (("training", train_rows), ("validation", stop_rows)):
            # An amount that is the same for everyone (nobody bought again in the window,
            # as in a marketplace of one-time buyers) teaches nothing, and a log-link
            # objective fit to all zeros predicts minus infinity.
            if rows.get_column(spec.label).n_unique() < 2:
                raise InsufficientHistoryError(
                    f"{spec.name}: every {name} customer has the same outcome "
                    f"({rows.get_column(spec.label).first()}), so there is nothing to learn")
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
    factor: float = 1.0,
) -> pl.DataFrame:
    """`ml.scores` rows for `current` from a stored model, its predictions multiplied by
    `factor` (an amount carried to the horizon); refuses a model whose features or feature
    types differ from the table's."""
    registry.check_features(card, schema_of(current))
    raw, contributions = predict_with_contributions(
        booster, _dmatrix(spec, current, card.features), spec.params["objective"]
    )
    score = registry.calibrate(card, raw) * factor
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
    spec: ModelSpec,
    baseline: Baseline,
    current: pl.DataFrame,
    logical_date: date,
    calibration: dict | None = None,
    factor: float = 1.0,
) -> pl.DataFrame:
    """`ml.scores` rows from a rival's rule: as it is (0 where the rule has no score, as
    BG/NBD for everyone when it cannot be fit), or through the `calibration` fit when it was
    measured (then an amount is multiplied by `factor`, as the model's are)."""
    score = np.asarray(baseline.score(current), dtype=float)
    if calibration is None:
        score = np.where(np.isfinite(score), score, 0.0)
    else:
        score = rival_rules.apply(calibration, score)
        if spec.kind == "regression":
            score = score * factor
    return long_scores(
        spec.name,
        baseline.name,
        logical_date,
        current.get_column("customer_key"),
        pl.Series(score, dtype=pl.Float64),
        baseline.reasons(current),
    )


def data_hash(labelled: pl.DataFrame) -> str:
    return hashlib.sha256(labelled.hash_rows(seed=1).to_numpy().tobytes()).hexdigest()


def own_baseline(card: registry.ModelCard, metric: str) -> dict:
    """The strongest rival that could publish, as measured beside `card` on its own holdout
    (its name and figures; empty when the card recorded none)."""
    measured = {k: v for k, v in (card.metrics.get("rivals") or {}).items()
                if "cannot_publish" not in v}
    best = rival_rules.strongest(measured, metric)
    return {"name": best, **measured[best]} if best else {}


def _decision_due(
    chosen: dict | None,
    in_use: registry.ModelCard | None,
    usable: bool,
    scorable: set[str],
    logical_date: date,
    retrain_every_days: int,
) -> bool:
    """True when the last decision no longer holds: none yet, made for a later date (a
    backfill), `retrain_every_days` old, or what it chose can no longer score (a model whose
    features changed, a rival not offered or unable to score every customer today)."""
    if chosen is None:
        return True
    decided = chosen.get("decided_for") or (in_use.trained_for if in_use else "")
    if not decided:
        return True
    age = (logical_date - date.fromisoformat(decided)).days
    if not 0 <= age < retrain_every_days:
        return True
    if chosen.get("rival"):
        return chosen["rival"] not in scorable
    return not usable


def run(
    spec: ModelSpec,
    rivals: Sequence[Baseline],
    current: pl.DataFrame,
    labelled: Callable[[], Labelled],
    logical_date: date,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    tolerance: float = 0.005,
    to_horizon: Callable[[int], Scaling] | None = None,
) -> Outcome:
    """Score `current` (the rows to score as of `logical_date`) with the best ranking the
    holdout has seen: a model version, or one of `rivals` (the first also scores, as it is,
    when nothing can be measured).

    `labelled()` gives what a retrain learns from (`Labelled`); it is only called when a
    retrain is due, and raises `InsufficientHistoryError` when there is too little history.
    `to_horizon(label_days)` says how an amount learnt over `label_days` is carried to the
    horizon scores are for (regression only).
    """
    rivals = list(rivals)
    by_name = {r.name: r for r in rivals}
    metric = spec.metric
    current = current.sort("customer_key")
    schema = schema_of(current)
    chosen = registry.decision(models_dir, spec.name)
    in_use = registry.current(models_dir, spec.name)
    usable = in_use is not None and not registry.mismatches(in_use, schema)
    # A rival publishes only if it can score every customer today (BG/NBD may fail to fit).
    scorable = {
        r.name for r in rivals if np.isfinite(np.asarray(r.score(current), dtype=float)).all()
    }

    def scaling(label_days: int | None) -> Scaling | None:
        if spec.kind != "regression" or to_horizon is None or not label_days:
            return None
        return to_horizon(label_days)

    def with_scaling(
        evaluation: dict, scaled: Scaling | None, note: str, verb: str
    ) -> tuple[dict, str]:
        if scaled is None:
            return evaluation, note
        evaluation = {**evaluation, "scaling": scaled.record()}
        return evaluation, f"{note}; {verb} {scaled.words}" if scaled.words else note

    def model_outcome(card: registry.ModelCard, booster: xgb.Booster, note: str, **extra):
        scaled = scaling(card.label_days)
        evaluation, note = with_scaling(extra.pop("evaluation", {}), scaled, note, "learnt from")
        scores = score_with(
            spec, card, booster, current, logical_date, scaled.factor if scaled else 1.0
        )
        return Outcome(scores, card.version, evaluation=evaluation, note=note, **extra)

    def rival_outcome(rival: Baseline, cal: dict, label_days: int, note: str, **extra):
        scaled = scaling(label_days)
        evaluation, note = with_scaling(extra.pop("evaluation", {}), scaled, note, "measured on")
        scores = score_baseline(
            spec, rival, current, logical_date, cal, scaled.factor if scaled else 1.0
        )
        return Outcome(scores, rival.name, evaluation=evaluation, note=note, **extra)

    if not _decision_due(chosen, in_use, usable, scorable, logical_date, retrain_every_days):
        decided = chosen.get("decided_for") or in_use.trained_for
        stored = chosen.get("evaluation") or {
            "candidate": in_use.metrics,
            "published": {"name": in_use.version, metric: in_use.metrics.get(metric)},
        }
        why = chosen.get("note") or "the version in use"
        if chosen.get("rival"):
            return rival_outcome(
                by_name[chosen["rival"]],
                chosen["calibration"],
                chosen.get("label_days", 0),
                f"{chosen['rival']} scores, as decided on {decided}: {why}",
                evaluation=stored,
            )
        card, booster = registry.load(models_dir, spec.name, in_use.version)
        return model_outcome(
            card,
            booster,
            f"{card.version} scores, as decided on {decided}: {why}",
            evaluation=stored,
        )

    def keep_previous(note: str, **extra: object) -> Outcome:
        """Nothing measured today: the version in use keeps scoring (its figure is that of
        its own holdout), else the first rival's rule scores as it is."""
        if usable:
            card, booster = registry.load(models_dir, spec.name, in_use.version)
            extra.setdefault("evaluation", {"candidate": card.metrics})
            # The rivals it was measured against on its own holdout come with its figure, or
            # the record of a day that measured nothing has the model's figure and no rival's.
            extra["evaluation"].setdefault("baseline", own_baseline(card, metric))
            extra["evaluation"].setdefault("measured_on", card.validation_cutoff)
            extra["evaluation"]["published"] = {
                "name": card.version,
                metric: card.metrics.get(metric),
                "measured_on": card.validation_cutoff,
            }
            return model_outcome(
                card, booster, f"version {card.version} keeps scoring: {note}", **extra
            )
        fallback = rivals[0]
        evaluation = dict(extra.pop("evaluation", {}))
        figures = evaluation.get("rivals", {}).get(fallback.name, {})
        evaluation["published"] = {"name": fallback.name, metric: figures.get(metric)}
        return Outcome(
            score_baseline(spec, fallback, current, logical_date),
            fallback.name,
            evaluation=evaluation,
            note=f"scored by the {fallback.name} baseline: {note}",
            **extra,
        )

    try:
        learnt = labelled()
        rows = learnt.rows.sort(["as_of_date", "customer_key"])
        training, validation = learnt.training, learnt.validation
        version = registry.version_for(
            spec.name, spec.features, spec.params, spec.rounds, data_hash(rows)
        )
        stop, holdout = halves(rows.filter(pl.col("as_of_date") == validation))
        # Training outcomes that reach into the validation window would teach the model the
        # holdout customers' own outcomes, and flatter it against the rivals.
        separate = (validation - max(training)).days < learnt.label_days
        trained = not registry.model_dir(models_dir, spec.name, version).exists()
        if trained:
            card, booster, holdout = train(spec, rows, training, validation, threads, separate)
            card.version = version
            card.trained_for = logical_date.isoformat()
            card.label_days = learnt.label_days
            card.btyd = learnt.context.get("btyd", {})
            scaled = scaling(learnt.label_days)
            if scaled is not None:
                card.horizon_days, card.scaling = scaled.horizon_days, scaled.method
        else:
            card, booster = registry.load(models_dir, spec.name, version)
    except InsufficientHistoryError as exc:
        log.warning("%s: %s", spec.name, exc)
        return keep_previous(str(exc))

    measured = rival_rules.measure(
        spec.kind,
        spec.label,
        rivals,
        stop,
        holdout,
        lambda frame, score: score_metrics(spec, frame, score),
    )
    for name, figures in measured.items():
        if metric in figures and figures["calibration"] is None:
            figures["cannot_publish"] = figures.get("uncalibrated",
                                                    "its score falls as the outcome rises")
        elif metric in figures and name not in scorable:
            figures["cannot_publish"] = "it cannot score every customer today"
    best = rival_rules.strongest(
        {k: v for k, v in measured.items() if "cannot_publish" not in v}, metric
    )
    best_value = measured[best][metric] if best else None
    if trained:
        card.metrics["rivals"] = measured
        registry.save(models_dir, card, booster)
        log.info("trained %s %s: %s", spec.name, version, card.metrics)
    candidate = {k: v for k, v in card.metrics.items() if k not in ("rivals", "baseline")}
    evaluation: dict = {
        "candidate": candidate,
        "rivals": measured,
        "baseline": {"name": best, **measured[best]} if best else {},
        "label_days": learnt.label_days,
        "measured_on": card.validation_cutoff,
        **learnt.context,
    }
    previous_value = None
    if usable and in_use.version != version:
        prev_card, prev_booster = registry.load(models_dir, spec.name, in_use.version)
        if not registry.mismatches(prev_card, schema_of(holdout)):
            evaluation["previous"] = {
                "version": prev_card.version,
                **evaluate(spec, prev_card, prev_booster, holdout),
            }
            previous_value = evaluation["previous"][metric]
    promoted, note = decide(
        metric, candidate[metric], best_value, previous_value, tolerance, best or "baseline"
    )
    log.info("%s %s: %s", spec.name, version, note)
    decided = {"decided_for": logical_date.isoformat(), "label_days": learnt.label_days}
    if promoted:
        evaluation["published"] = {"name": version, metric: candidate[metric]}
        why = f"{version} {note}"
        outcome = model_outcome(
            card,
            booster,
            why,
            trained=trained,
            candidate=version,
            promoted=True,
            evaluation=evaluation,
        )
        registry.set_current(
            models_dir,
            spec.name,
            version,
            **decided,
            evaluation=outcome.evaluation,
            note=why,
        )
        return outcome
    extra = {"trained": trained, "candidate": version, "promoted": False}
    previous_wins = previous_value is not None and (best is None or previous_value >= best_value)
    if previous_wins:
        evaluation["published"] = {"name": in_use.version, metric: previous_value}
        prev_card, prev_booster = registry.load(models_dir, spec.name, in_use.version)
        why = f"version {in_use.version} keeps scoring: candidate {version} {note}"
        outcome = model_outcome(
            prev_card,
            prev_booster,
            why,
            evaluation=evaluation,
            **extra,
        )
        registry.set_current(
            models_dir,
            spec.name,
            in_use.version,
            **decided,
            evaluation=outcome.evaluation,
            note=why,
        )
        return outcome
    if best is not None:
        rival = by_name[best]
        evaluation["published"] = {"name": best, metric: best_value}
        beaten = f"{metric} {best_value:.3f} against the model's {candidate[metric]:.3f}"
        if previous_value is not None:
            beaten += f" and the version in use's {previous_value:.3f}"
        why = (
            f"{best} publishes: {rival.described} ranks the held-out customers better than "
            f"candidate {version} ({beaten}), so its scores are the best ranking there is"
        )
        outcome = rival_outcome(
            rival,
            measured[best]["calibration"],
            learnt.label_days,
            why,
            evaluation=evaluation,
            **extra,
        )
        registry.set_current(
            models_dir,
            spec.name,
            in_use.version if usable else None,
            **decided,
            rival=best,
            calibration=measured[best]["calibration"],
            evaluation=outcome.evaluation,
            note=why,
        )
        return outcome
    return keep_previous(f"candidate {version} {note}", evaluation=evaluation, **extra)
