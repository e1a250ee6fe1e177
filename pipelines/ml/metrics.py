"""How good a score is on customers whose outcome is known: one function per kind of model.

Every figure here is computed on the validation holdout the model never saw, and the same
function scores the baselines and the previous model version, so they compare like for like.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

BINS = 10


def decile_of(score: np.ndarray) -> np.ndarray:
    """1..10 by ascending score (10 = highest tenth), ties broken by position, as the scores
    table does."""
    n = len(score)
    order = np.argsort(score, kind="stable")
    decile = np.empty(n, dtype=np.int64)
    decile[order] = np.arange(n) * BINS // max(n, 1) + 1
    return decile


def top_decile(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Lift (rate in the top tenth over the overall rate) and capture (share of all positives,
    or of all value, found in the top tenth)."""
    top = decile_of(score) == BINS
    total = float(y.sum())
    rate = float(y.mean()) if len(y) else 0.0
    top_rate = float(y[top].mean()) if top.any() else 0.0
    return {
        "lift_top_decile": top_rate / rate if rate else 0.0,
        "capture_top_decile": float(y[top].sum()) / total if total else 0.0,
    }


def calibration_table(y: np.ndarray, probability: np.ndarray) -> list[dict[str, float]]:
    """Per decile of predicted probability: customers, mean predicted, observed rate."""
    decile = decile_of(probability)
    return [
        {
            "decile": int(d),
            "n": int((decile == d).sum()),
            "predicted": float(probability[decile == d].mean()),
            "observed": float(y[decile == d].mean()),
        }
        for d in range(1, BINS + 1)
        if (decile == d).any()
    ]


def classification(y: np.ndarray, score: np.ndarray, probability: np.ndarray | None = None) -> dict:
    """AUC, PR-AUC, lift and capture from the ranking `score`; Brier and the calibration table
    from `probability` (the calibrated score) when given."""
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"need both outcomes to score a classifier, got {len(y)} rows "
            f"with only {np.unique(y).tolist()}"
        )
    out: dict = {
        "auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "positive_rate": float(y.mean()),
        "rows": len(y),
        **top_decile(y, score),
    }
    if probability is not None:
        probability = np.asarray(probability, dtype=float)
        out["brier"] = float(brier_score_loss(y, probability))
        out["calibration"] = calibration_table(y, probability)
    return out


def regression(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """Spearman rank correlation, mean absolute error, total predicted against actual, the
    top decile's lift and capture of value, and the decile table (mean predicted and actual
    per decile of prediction)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    decile = decile_of(predicted)
    rho = spearmanr(actual, predicted).statistic if len(actual) > 1 else float("nan")
    return {
        "spearman": float(rho) if np.isfinite(rho) else 0.0,
        "mae": float(np.mean(np.abs(actual - predicted))),
        "total_predicted": float(predicted.sum()),
        "total_actual": float(actual.sum()),
        "rows": len(actual),
        **top_decile(actual, predicted),
        "deciles": [
            {
                "decile": int(d),
                "n": int((decile == d).sum()),
                "predicted": float(predicted[decile == d].mean()),
                "actual": float(actual[decile == d].mean()),
            }
            for d in range(1, BINS + 1)
            if (decile == d).any()
        ],
    }


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over the points whose actual is not zero (a zero actual
    has no percentage error)."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    nonzero = actual != 0
    if not nonzero.any():
        raise ValueError("MAPE needs at least one non-zero actual")
    return float(np.mean(np.abs(actual[nonzero] - forecast[nonzero]) / np.abs(actual[nonzero])))


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: total absolute error over total actual."""
    actual = np.asarray(actual, dtype=float)
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - np.asarray(forecast, dtype=float)).sum()) / total if total else 0.0
