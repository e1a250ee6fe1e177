"""The units model: XGBoost that corrects a simple forecast, one booster for every horizon
h = 1..H, refit every run.

Its basis is the seasonal level forecast (`methods.seasonal_level`) once the model has a
quarter of origins with that basis to learn from (`seasonal_from`), the recent mean before.
The basis enters as the base margin of a Poisson objective (log link), so the trees learn
multiplicative corrections to it, and the features are scale-free: the product's recent weeks
relative to its 13-week mean, the horizon, and which basis the row has. Last year's shape
reaches the forecast through the basis only, never as a feature: trees cannot extrapolate,
so a feature whose value ahead lies beyond any seen in training (a peak higher than any the
shop had with a known year before it) would get the correction learnt at the edge of its
range. Before this design the booster read raw levels and last year's units as features and
stayed flat through last year's peak in a growing shop (the levels ahead were above every
level it had learnt from).

Trained on every origin from `FIRST_ORIGIN` on whose target week is known; the newest
`horizon` target weeks stop the boosting (a split in time), and the booster is then refit on
every row with that many rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from pipelines.forecast import methods

MODEL = "xgboost"
TITLE = "the model"
FEATURES: tuple[str, ...] = (
    "horizon", "lag_1", "mean_4", "mean_26", "history_mean", "seasonal_basis",
)  # fmt: skip
PARAMS = {
    "objective": "count:poisson",
    "eval_metric": "poisson-nloglik",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.1,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "min_child_weight": 5,
    "seed": 0,
}
ROUNDS = 300
EARLY_STOPPING = 20
# The first origin of a training row: two months of weeks behind its features.
FIRST_ORIGIN = 8
# Half a year of training origins before the weeks that stop the boosting.
TRAINING_ORIGINS = 26
# A feature relative to the 13-week mean is capped here: a week a thousand times the mean
# tells the trees no more than one that is, and the booster works in 32-bit floats.
MAX_RELATIVE = 1e3
# A quarter of origins with a seasonal basis before the model uses it: corrections learnt
# on the recent mean alone (a growing shop's "more than the last 13 weeks") would be applied
# on top of a basis that already carries them.
SEASONAL_ORIGINS = 13


def first_origin(horizon: int) -> int:
    """The first origin at which the model has `TRAINING_ORIGINS` origins to learn from and
    `horizon` newer target weeks to stop on."""
    return FIRST_ORIGIN + TRAINING_ORIGINS + horizon


def seasonal_from(horizon: int) -> int:
    """The first origin at which the model's basis is the seasonal level forecast."""
    return methods.first_origin(methods.SEASONAL_LEVEL, horizon) + SEASONAL_ORIGINS + horizon


def features_at(y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """Feature rows (one per product) in `FEATURES` order but the last (the basis), from
    columns up to `origin` only: the last week and the means of 4 and 26 weeks and of the
    whole history, each over the 13-week mean (NaN where that is 0)."""
    known = y[:, : origin + 1]
    level = methods.window_mean(known, origin, methods.RECENT_WEEKS)
    with np.errstate(divide="ignore", invalid="ignore"):
        def relative(values: np.ndarray) -> np.ndarray:
            return np.where(level > 0, np.minimum(values / level, MAX_RELATIVE), np.nan)

        return np.column_stack([
            np.full(y.shape[0], float(horizon)),
            relative(methods.column(known, origin)),
            relative(methods.window_mean(known, origin, 4)),
            relative(methods.window_mean(known, origin, 26)),
            relative(methods.window_mean(known, origin, origin + 1)),
        ])  # fmt: skip


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(values)


@dataclass
class Rows:
    """Model rows for some (origin, h): features, the log of both bases (-inf where a basis is
    0; the seasonal one NaN where it cannot be formed), and each row's target week."""

    x: np.ndarray
    recent: np.ndarray
    seasonal: np.ndarray
    week: np.ndarray

    @classmethod
    def at(cls, y: np.ndarray, origin: int, horizon: int) -> Rows:
        seasonal = (
            _log(methods.seasonal_level(y, origin, horizon))
            if origin >= methods.first_origin(methods.SEASONAL_LEVEL, horizon)
            else np.full(y.shape[0], np.nan)
        )
        return cls(features_at(y, origin, horizon),
                   _log(methods.recent_mean(y, origin, horizon)), seasonal,
                   np.full(y.shape[0], origin + horizon))

    def matrix(self, seasonal: bool) -> tuple[np.ndarray, np.ndarray]:
        """Features with the basis flag, and the log basis: the seasonal one where `seasonal`
        and it can be formed, else the recent mean."""
        use = np.full(len(self.recent), seasonal) & ~np.isnan(self.seasonal)
        margin = np.where(use, self.seasonal, self.recent)
        return np.column_stack([self.x, use.astype(float)]), margin


@dataclass
class Design:
    """Training rows for every (origin, h) whose target week is known, built once and shared
    by every fit of a backtest: a row's features read nothing after its origin, so a fit at
    origin o may take every row whose target week is at most o."""

    rows: Rows
    target: np.ndarray

    @classmethod
    def build(cls, y: np.ndarray, horizon: int) -> Design:
        parts, targets = [], []
        last = y.shape[1] - 1
        for start in range(FIRST_ORIGIN, last):
            for h in range(1, min(horizon, last - start) + 1):
                rows = Rows.at(y, start, h)
                target = y[:, start + h]
                keep = ~np.isnan(target)
                parts.append(Rows(rows.x[keep], rows.recent[keep], rows.seasonal[keep],
                                  rows.week[keep]))
                targets.append(target[keep])
        if not parts:
            return cls(Rows(np.zeros((0, len(FEATURES) - 1)), np.zeros(0), np.zeros(0),
                            np.zeros(0, dtype=np.int64)), np.zeros(0))
        return cls(
            Rows(np.vstack([p.x for p in parts]), np.concatenate([p.recent for p in parts]),
                 np.concatenate([p.seasonal for p in parts]),
                 np.concatenate([p.week for p in parts])),
            np.concatenate(targets),
        )


@dataclass
class Fitted:
    booster: xgb.Booster | None  # None: no rows to learn a correction from, the basis alone
    rounds: int
    seasonal: bool  # whether its basis is the seasonal level forecast


def _matrix(x: np.ndarray, margin: np.ndarray, label: np.ndarray | None = None) -> xgb.DMatrix:
    return xgb.DMatrix(x, label=label, base_margin=margin, feature_names=list(FEATURES))


def fit(design: Design, origin: int, horizon: int, threads: int) -> Fitted:
    """Boost on the rows whose target week is at most `origin` and whose basis is positive:
    those of the newest `horizon` weeks stop the boosting, then the booster is refit on them
    all with the rounds chosen. Without rows on either side of that split there is nothing
    to learn a correction from, and the model is its basis."""
    seasonal = origin >= seasonal_from(horizon)
    x, margin = design.rows.matrix(seasonal)
    rows = (design.rows.week <= origin) & np.isfinite(margin)
    x, margin, target = x[rows], margin[rows], design.target[rows]
    stop = design.rows.week[rows] > origin - horizon
    if stop.all() or not stop.any():
        return Fitted(booster=None, rounds=0, seasonal=seasonal)
    params = {**PARAMS, "nthread": threads}
    early = xgb.train(
        params,
        _matrix(x[~stop], margin[~stop], target[~stop]),
        num_boost_round=ROUNDS,
        evals=[(_matrix(x[stop], margin[stop], target[stop]), "stop")],
        early_stopping_rounds=EARLY_STOPPING,
        verbose_eval=False,
    )
    rounds = early.best_iteration + 1
    booster = xgb.train(params, _matrix(x, margin, target), num_boost_round=rounds)
    return Fitted(booster=booster, rounds=rounds, seasonal=seasonal)


def predict(fitted: Fitted, y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """Units forecast for column origin + `horizon` from `origin`, per product: 0 where the
    basis is 0 (nothing sold lately)."""
    x, margin = Rows.at(y, origin, horizon).matrix(fitted.seasonal)
    finite = np.isfinite(margin)
    margin = np.where(finite, margin, 0.0)
    if fitted.booster is None:
        return np.where(finite, np.exp(margin), 0.0)
    predicted = fitted.booster.predict(_matrix(x, margin))
    return np.where(finite, predicted, 0.0)
