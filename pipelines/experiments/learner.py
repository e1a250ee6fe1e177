"""The uplift learner: an X-learner (Kuenzel et al., 2019) on XGBoost, fit on the units of
randomised experiments (treated and held out) with an outcome each.

1. Two outcome models, one per arm: mu_t(x) on the treated, mu_c(x) on the held out.
2. Imputed effects: a treated unit's outcome less mu_c of it, mu_t of a held-out unit less
   its outcome; one effect model per arm learns them (tau_t, tau_c).
3. The uplift is tau = p * tau_c + (1 - p) * tau_t, p the treated share: the larger arm's
   effect model, trained on the other arm's outcome model, gets the weight.

Why not the plain two-model (T-)learner: its uplift is the difference of two models that each
fit the outcome's level, whose errors do not cancel, and with a 10% holdout the held-out
model learns from a tenth of the data; the X-learner's second stage learns the difference
itself. Measured both ways on the Hillstrom e-mail test and on synthetic effects (bench/README).

All boosters use squared error, so each feature's contributions are additive in the output:
the uplift's contributions are the same weighted sum of the effect models' ones, and they
give the reasons in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import xgboost as xgb

from pipelines.ml.features import feature_matrix

PARAMS = {
    "objective": "reg:squarederror",
    "tree_method": "hist",
    # Shallow, slow and heavily regularised: an effect is a small difference buried in the
    # noise of each person's outcome, and a deep tree fits the noise.
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.9,
    "min_child_weight": 20,
    "lambda": 10.0,
    "seed": 0,
}
ROUNDS = 400
EARLY_STOPPING = 30
# The part of each arm's units that stops the boosting (chosen by a hash of the key).
STOP_SHARE = 0.2
STAGES = ("outcome_treated", "outcome_holdout", "effect_treated", "effect_holdout")


@dataclass
class Learner:
    """A fitted X-learner: its four boosters by stage, the features and the treated share."""

    boosters: dict[str, xgb.Booster]
    features: tuple[str, ...]
    treated_share: float
    method: str = "x"

    def _matrix(self, frame: pl.DataFrame) -> xgb.DMatrix:
        x = feature_matrix(frame, self.features).to_numpy()
        return xgb.DMatrix(x, feature_names=list(self.features), missing=np.nan)

    def predict(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each row's uplift (the outcome's expected change if treated) and its contributions
        by feature (rows x features + 1, the bias last), which sum to it."""
        matrix = self._matrix(frame)

        def contributions(stage: str) -> np.ndarray:
            return self.boosters[stage].predict(matrix, pred_contribs=True)

        if self.method == "t":
            contrib = contributions("outcome_treated") - contributions("outcome_holdout")
        else:
            p = self.treated_share
            contrib = p * contributions("effect_holdout") + (1 - p) * contributions(
                "effect_treated"
            )
        return contrib.sum(axis=1, dtype=np.float64), contrib


def _stop_mask(keys: pl.Series) -> np.ndarray:
    return (keys.cast(pl.String).hash(seed=23) % 1000 < int(STOP_SHARE * 1000)).to_numpy()


def _fit(
    x: np.ndarray, y: np.ndarray, stop: np.ndarray, features: tuple[str, ...], threads: int
) -> xgb.Booster:
    def matrix(rows: np.ndarray) -> xgb.DMatrix:
        return xgb.DMatrix(x[rows], label=y[rows], feature_names=list(features), missing=np.nan)

    booster = xgb.train(
        {**PARAMS, "nthread": threads},
        matrix(~stop),
        num_boost_round=ROUNDS,
        evals=[(matrix(stop), "stop")],
        early_stopping_rounds=EARLY_STOPPING,
        verbose_eval=False,
    )
    # Keep only the trees early stopping chose, so predictions need no iteration range.
    return booster[: int(booster.best_iteration) + 1]


def fit(
    units: pl.DataFrame,
    features: tuple[str, ...],
    outcome: str,
    treated: str = "is_treated",
    key: str = "customer_key",
    method: str = "x",
    threads: int = 1,
) -> Learner:
    """Fit the learner on `units`: one row per unit with `features`, the `outcome` (a number)
    and `treated` (true: treated arm, false: held out). `method` "x" (the X-learner) or "t"
    (the two-model learner, kept to measure against). Raises ValueError when an arm is empty."""
    if method not in ("x", "t"):
        raise ValueError(f"method must be 'x' or 't', got {method!r}")
    t = units.get_column(treated).cast(pl.Boolean).to_numpy()
    if t.all() or not t.any():
        raise ValueError("the uplift learner needs units in both arms (treated and held out)")
    x = feature_matrix(units, features).to_numpy()
    y = units.get_column(outcome).cast(pl.Float64).to_numpy()
    stop = _stop_mask(units.get_column(key))
    boosters = {
        "outcome_treated": _fit(x[t], y[t], stop[t], features, threads),
        "outcome_holdout": _fit(x[~t], y[~t], stop[~t], features, threads),
    }
    if method == "x":

        def predict(stage: str, rows: np.ndarray) -> np.ndarray:
            matrix = xgb.DMatrix(x[rows], feature_names=list(features), missing=np.nan)
            return boosters[stage].predict(matrix)

        imputed_t = y[t] - predict("outcome_holdout", t)
        imputed_c = predict("outcome_treated", ~t) - y[~t]
        boosters["effect_treated"] = _fit(x[t], imputed_t, stop[t], features, threads)
        boosters["effect_holdout"] = _fit(x[~t], imputed_c, stop[~t], features, threads)
    return Learner(boosters, tuple(features), float(t.mean()), method)
