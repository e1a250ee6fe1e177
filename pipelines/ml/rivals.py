"""The simple rivals every model is measured against: rules a marketer would use (days since
the last order, order count, last year's spend) and the buy-till-you-die models alone.

Each rival is measured on the same holdout as the model. A rival that ranks the holdout better
than the model is what publishes: its scores are put in the model's units (a probability, an
amount) by a monotone map fit on the validation customers the holdout leaves (a logistic curve,
or one scale factor), so it publishes exactly the ranking that was measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Baseline:
    """A rule reported beside a model; the first of a model's rivals also scores when there
    is too little history to measure anything."""

    name: str
    score: Callable[[pl.DataFrame], np.ndarray]
    reasons: Callable[[pl.DataFrame], list[list[str]]]
    words: str = ""  # the rule in plain words, for notes

    @property
    def described(self) -> str:
        return self.words or self.name


def uncalibrated(kind: str, score: np.ndarray, y: np.ndarray) -> str:
    """Why `calibration` finds no map from (score, y), in words for the run's note."""
    if kind != "binary" and float(np.asarray(y, dtype=float).sum()) <= 0:
        return "the outcome window holds no spend to put its scores in money"
    return "its score falls as the outcome rises"


def calibration(kind: str, score: np.ndarray, y: np.ndarray) -> dict | None:
    """A monotone map from the rival's score to the model's units, fit on (score, y): for a
    binary outcome a logistic curve, for an amount one factor that makes the total come out
    right. None when the score does not rise with the outcome (it cannot rank anyone), or
    when nobody spent anything in the window (no amount to scale to)."""
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    if kind == "binary":
        if len(np.unique(y)) < 2 or np.ptp(score) == 0:
            return None
        centre, spread = float(score.mean()), float(score.std())
        fit = LogisticRegression(C=1e6).fit(((score - centre) / spread).reshape(-1, 1), y)
        coef = float(fit.coef_[0, 0]) / spread
        if coef <= 0:
            return None
        return {
            "kind": "logistic",
            "coef": coef,
            "intercept": float(fit.intercept_[0]) - coef * centre,
        }
    total = float(score.sum())
    if total <= 0 or float(y.sum()) <= 0:
        return None
    return {"kind": "scale", "scale": float(y.sum()) / total}


def apply(cal: dict, score: np.ndarray) -> np.ndarray:
    """The rival's score in the model's units, through `calibration`'s map."""
    score = np.asarray(score, dtype=float)
    if cal["kind"] == "logistic":
        return 1.0 / (1.0 + np.exp(-(cal["coef"] * score + cal["intercept"])))
    # An expected amount is never below zero: a customer whose returns outweigh their
    # purchases (net spend below zero) is worth nothing, not less; the ranking above is kept.
    return np.clip(score * cal["scale"], 0.0, None)


def measure(
    kind: str,
    label: str,
    rivals: Sequence[Baseline],
    stop: pl.DataFrame,
    holdout: pl.DataFrame,
    metrics: Callable[[pl.DataFrame, np.ndarray], dict],
) -> dict[str, dict]:
    """Each rival's metrics on `holdout` (computed on its calibrated score, so Brier and
    totals mean what the model's do) and its `calibration`, fit on `stop`. A rival whose score
    is the same for every holdout customer, or not a number, gets an `error` instead."""
    out: dict[str, dict] = {}
    y_stop = stop.get_column(label).cast(pl.Float64).to_numpy()
    for rival in rivals:
        raw_hold = np.asarray(rival.score(holdout), dtype=float)
        raw_stop = np.asarray(rival.score(stop), dtype=float)
        if not (np.isfinite(raw_hold).all() and np.isfinite(raw_stop).all()):
            out[rival.name] = {"error": "its score is missing for some customers"}
            continue
        if len(raw_hold) == 0 or np.ptp(raw_hold) == 0:
            out[rival.name] = {"error": "it gives every holdout customer the same score"}
            continue
        cal = calibration(kind, raw_stop, y_stop)
        # An uncalibrated rival ranks as its raw score does; metrics are rank-based but for
        # Brier and totals, which then describe the raw score.
        shown = apply(cal, raw_hold) if cal is not None else raw_hold
        out[rival.name] = {**metrics(holdout, shown), "calibration": cal}
        if cal is None:
            out[rival.name]["uncalibrated"] = uncalibrated(kind, raw_stop, y_stop)
    return out


def strongest(measured: dict[str, dict], metric: str) -> str | None:
    """The rival with the best `metric` (the first listed among equals), or None."""
    best = None
    for name, figures in measured.items():
        if metric in figures and (best is None or figures[metric] > measured[best][metric]):
            best = name
    return best
