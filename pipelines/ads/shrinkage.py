"""Empirical-Bayes shrinkage of rates and means in small cells toward their group's overall
figure, so a cell of three people who all bought does not outrank one of three hundred.

Rates (conversions of people reached) use a beta-binomial model: each cell's true rate is drawn
from Beta(m c, (1 - m) c), where m is the group's pooled rate and the concentration c (how
many people's worth of evidence the prior carries) is fitted by maximising the beta-binomial
marginal likelihood of all the group's cells (scipy.stats.betabinom). When the cells differ no
more than chance would make them, the fit drives c to its upper bound and every cell gets the
group's rate; when they differ a lot, c is small and each cell keeps close to its own rate.

Means (value per converting customer) use the normal model with the DerSimonian-Laird
between-cell variance: a cell's mean is pulled toward the group's by s^2 / tau^2 customers'
worth of weight, s^2 the within-cell variance of one customer's value, tau^2 the variance of
the cells' true means.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import optimize, stats

# The concentration's search range, in people: below 0.1 the prior says nothing; above a
# million it is the group's rate for any cell a small business has.
MIN_CONCENTRATION = 0.1
MAX_CONCENTRATION = 1e6
INTERVAL = 0.8


def fit_concentration(successes: np.ndarray, trials: np.ndarray, means: np.ndarray) -> float:
    """The beta-binomial concentration c that best explains `successes` of `trials` per cell
    around each cell's group rate `means` (maximum marginal likelihood over log c). Cells
    whose group rate is 0 or 1 say nothing about c and are left out."""
    usable = (means > 0) & (means < 1) & (trials > 0)
    k, n, m = successes[usable], trials[usable], means[usable]
    if len(n) < 2:
        return MAX_CONCENTRATION

    def negative_log_likelihood(log_c: float) -> float:
        c = math.exp(log_c)
        return -float(stats.betabinom.logpmf(k, n, m * c, (1 - m) * c).sum())

    best = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(math.log(MIN_CONCENTRATION), math.log(MAX_CONCENTRATION)),
        method="bounded")
    return float(math.exp(best.x))


def shrink_rates(cells: pl.DataFrame, group: list[str], successes: str, trials: str,
                 fit_by: list[str] | None = None) -> pl.DataFrame:
    """`cells` with the pooled rate of their `group` (`prior_rate`), the concentration
    (`prior_strength`, in people) fitted over all the cells of each `fit_by` group (default:
    `group`; a wider one, such as all campaigns of a dimension, steadies the fit when each
    group has few cells), the shrunk rate (`rate_shrunk`, the posterior mean) and its 80%
    interval (`rate_low`, `rate_high`, posterior quantiles). A group with no success has rate
    0 and interval [0, 0]: nothing in it says otherwise. Cells with no trials get the prior."""
    bad = cells.filter((pl.col(successes) < 0) | (pl.col(successes) > pl.col(trials)))
    if bad.height:
        raise ValueError(f"shrink_rates: {successes} must be between 0 and {trials}; "
                         f"first bad cell: {bad.row(0, named=True)}")
    fit_by = fit_by if fit_by is not None else group
    if cells.is_empty():
        return cells.with_columns(
            prior_rate=pl.lit(None, pl.Float64), prior_strength=pl.lit(None, pl.Float64),
            rate_shrunk=pl.lit(None, pl.Float64), rate_low=pl.lit(None, pl.Float64),
            rate_high=pl.lit(None, pl.Float64))
    with_means = cells.with_columns(
        prior_rate=(pl.col(successes).sum().over(group)
                    / pl.col(trials).sum().over(group)).fill_nan(0.0))
    parts = []
    for _, part in with_means.group_by(fit_by, maintain_order=True):
        k = part[successes].to_numpy().astype(float)
        n = part[trials].to_numpy().astype(float)
        m = part["prior_rate"].to_numpy()
        c = fit_concentration(k, n, m)
        a, b = m * c + k, (1 - m) * c + (n - k)
        tail = (1 - INTERVAL) / 2
        inside = (m > 0) & (m < 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shrunk = np.where(inside, a / (a + b), m)
            low = np.where(inside, stats.beta.ppf(tail, a, b), m)
            high = np.where(inside, stats.beta.ppf(1 - tail, a, b), m)
        parts.append(part.with_columns(
            prior_strength=pl.lit(c), rate_shrunk=pl.Series(shrunk),
            rate_low=pl.Series(low), rate_high=pl.Series(high)))
    return pl.concat(parts)


def shrink_means(cells: pl.DataFrame, group: list[str], count: str, total: str,
                 total_squares: str) -> pl.DataFrame:
    """`cells` with, per `group`, the pooled mean of `total` / `count` (`prior_mean`) and each
    cell's mean shrunk toward it (`mean_shrunk`): (total + w m) / (count + w), w = s^2 / tau^2
    (DerSimonian-Laird tau^2; s^2 pooled from `total_squares`, the sum of squared values).
    A cell with no count gets the group's mean; a group with one cell keeps its own."""
    parts = []
    for _, part in cells.group_by(group, maintain_order=True):
        n = part[count].to_numpy().astype(float)
        y = part[total].to_numpy().astype(float)
        sq = part[total_squares].to_numpy().astype(float)
        m = float(y.sum() / n.sum()) if n.sum() else math.nan
        weight = _prior_weight(n, y, sq)
        if not n.sum():
            # No one to learn a mean from: unknown, not zero.
            parts.append(part.with_columns(prior_mean=pl.lit(None, pl.Float64),
                                           mean_shrunk=pl.lit(None, pl.Float64)))
            continue
        shrunk = (y + weight * m) / (n + weight) if math.isfinite(weight) else np.full_like(n, m)
        parts.append(part.with_columns(prior_mean=pl.lit(m), mean_shrunk=pl.Series(shrunk)))
    if not parts:
        return cells.with_columns(prior_mean=pl.lit(None, pl.Float64),
                                  mean_shrunk=pl.lit(None, pl.Float64))
    return pl.concat(parts)


def _prior_weight(n: np.ndarray, y: np.ndarray, sq: np.ndarray) -> float:
    """s^2 / tau^2 for the cells with a count: 0 (no pooling) for a single cell, infinity
    (full pooling) when the cells' means vary no more than chance."""
    has = n > 0
    n, y, sq = n[has], y[has], sq[has]
    if len(n) < 2:
        return 0.0
    means = y / n
    within_df = float((n - 1).sum())
    s2 = float((sq - n * means**2).sum() / within_df) if within_df > 0 else 0.0
    if s2 <= 0:
        return 0.0
    w = n / s2  # inverse variance of each cell's mean
    pooled = float((w * means).sum() / w.sum())
    q = float((w * (means - pooled) ** 2).sum())
    denominator = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (len(n) - 1)) / denominator) if denominator > 0 else 0.0
    return s2 / tau2 if tau2 > 0 else math.inf
