"""Qini curves: how much of an outcome treating the top of a ranking adds, measured on the
units of randomised experiments (treated and held out), and the true gain where each person's
effect is known (a synthetic world's truth).

The curve at the top k units is the incremental outcome of treating them, per person of the
sample: g(k) = (Y_t(k) / N_t(k) - Y_c(k) / N_c(k)) * k / N, the treated units' mean outcome
less the held-out units' among the same top k, times the share targeted (the uplift curve of
Rzepakowski and Jaroszewicz; Radcliffe's Qini curve counts the same gain in treated units,
which makes the figures depend on the arms' sizes). At 100% it is the average effect. Tied
scores are one
block (the curve is drawn between block ends), so a rule with few distinct values (recency in
months) is neither flattered nor punished by the order of its ties. Ranking at random gives
the straight line from 0 to g(N); the Qini coefficient is the area between the curve and that
line (0 at random, larger is better), AUUC the area under the curve itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Qini:
    """One ranking's curve and its figures, per person of the sample, in the outcome's unit."""

    fraction: np.ndarray  # share of units targeted, 0..1
    gain: np.ndarray  # incremental outcome of treating them, per person of the sample
    qini: float  # area between the curve and random targeting's line
    auuc: float  # area under the curve

    def gain_at(self, share: float) -> float:
        """Incremental outcome per person of the sample from treating the top `share`."""
        return float(np.interp(share, self.fraction, self.gain))


def qini(outcome: np.ndarray, treated: np.ndarray, score: np.ndarray) -> Qini:
    """The Qini curve of ranking the units by `score`, highest first. `treated` is true for
    the treated arm, false for the held-out one; both arms must have units."""
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treated, dtype=bool)
    s = np.asarray(score, dtype=float)
    if not (len(y) == len(t) == len(s)):
        raise ValueError(f"{len(y)} outcomes, {len(t)} arms and {len(s)} scores must line up")
    if t.all() or not t.any():
        raise ValueError("a Qini curve needs units in both arms (treated and held out)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be numbers (rank the unscored at the bottom first)")
    order = np.argsort(-s, kind="stable")
    y, t, s = y[order], t[order], s[order]
    # The end of each block of tied scores.
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    n_t, n_c = np.cumsum(t)[ends], np.cumsum(~t)[ends]
    y_t, y_c = np.cumsum(y * t)[ends], np.cumsum(y * ~t)[ends]
    both = (n_t > 0) & (n_c > 0)
    # Before both arms have units among the top k the difference is unknown: 0 there.
    difference = np.divide(y_t, n_t, out=np.zeros(len(ends)), where=both) - np.divide(
        y_c, n_c, out=np.zeros(len(ends)), where=both)
    fraction = np.r_[0.0, (ends + 1) / len(y)]
    gain = np.r_[0.0, difference * fraction[1:]]
    auuc = float(np.trapezoid(gain, fraction))
    return Qini(fraction, gain, auuc - gain[-1] / 2, auuc)


def true_gain(effect: np.ndarray, score: np.ndarray, share: float) -> float:
    """The summed true effect of treating the top `share` of people by `score` (ties broken
    by position), where each person's effect is known: what a targeting rule would really
    have added."""
    effect = np.asarray(effect, dtype=float)
    k = round(share * len(effect))
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    return float(effect[order[:k]].sum())
