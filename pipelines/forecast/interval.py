"""The 80% interval of a units forecast, from the method's own backtest errors at each horizon.

**Construction.** For a method and a horizon h, the backtest's windows hold what the method
forecast h weeks ahead and what then sold. The error of one such forecast is the ratio of
units sold to units forecast; the interval of a forecast f at horizon h is f times the 10th
and the 90th percentile of those ratios (`LOW`, `HIGH`).

Why this construction:
- **The method's own errors**, refit at each origin from the weeks before it, are what its
  forecast ahead will meet: they carry the series' noise, the method's bias and how wrong it
  goes when the season turns, without assuming a distribution the weekly units of a shop do
  not follow (they are skewed, zero-heavy and seasonal). A parametric interval from a model's
  residuals in sample would be narrower than its errors out of sample.
- **Per horizon**, because errors grow with the distance ahead: week 8 is forecast from
  older weeks than week 1.
- **Ratios, not differences**: the errors are scaled as the series is, so the interval of a
  shop selling twice as much is twice as wide, and the errors of a quiet spring still size
  the interval of a December forecast twice as high. The same ratios also carry from one
  product to another of a different size. Their limit: every product's errors are pooled, so
  a product much smaller than most (whose weeks swing more, relatively) gets an interval too
  narrow, a much larger one too wide; the coverage over all product-weeks is what is
  measured (bench/README.md).
- **Empirical quantiles at Weibull plotting positions** (the k-th smallest of n errors
  stands at k / (n + 1)): the shop's total has one error per window (12 a year), and with
  so few the usual interpolation (k - 1) / (n - 1) gives an interval that holds, out of
  sample, about 68% of new errors rather than 80% (12 errors: ranks 2.1 to 10.9 of 13 gaps);
  at k / (n + 1) the expected share between the two quantiles is 80% for any n at least 9.
  Below 9 the quantiles are the smallest and the largest error, which hold (n - 1) / (n + 1)
  of new ones: fewer than `MIN_ERRORS` (7, an expected 75%) give no interval (null) rather
  than a narrower one.

A forecast of 0 (nothing sold lately) has a ratio that means nothing and gets the interval
[0, 0]; forecasts of 0 are left out of the ratios for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW, HIGH = 0.10, 0.90
COVERAGE = HIGH - LOW
MIN_ERRORS = 7


@dataclass(frozen=True)
class Ratios:
    """The `LOW` and `HIGH` quantiles of actual over forecast at each horizon 1..H (index
    h - 1); NaN where a horizon has fewer than `MIN_ERRORS` errors."""

    low: np.ndarray
    high: np.ndarray

    def apply(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval of `forecast` (... x horizons, the last axis the horizon 1..H)."""
        return forecast * self.low, forecast * self.high


def ratios(windows: list[tuple[np.ndarray, np.ndarray]], horizon: int) -> Ratios:
    """Quantiles of actual / forecast per horizon over the (actual, forecast) pairs of the
    backtest's windows, each products x horizons, NaN where a product was not on sale (left
    out), pooled over products and windows."""
    low, high = np.full(horizon, np.nan), np.full(horizon, np.nan)
    for h in range(horizon):
        errors = []
        for actual, forecast in windows:
            a, f = actual[:, h], forecast[:, h]
            keep = ~np.isnan(a) & (f > 0)
            errors.append(a[keep] / f[keep])
        pooled = np.concatenate(errors) if errors else np.zeros(0)
        if len(pooled) >= MIN_ERRORS:
            low[h], high[h] = np.quantile(pooled, [LOW, HIGH], method="weibull")
    return Ratios(low, high)


def totals(windows: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same windows at the shop's total: one row, the week's units summed over the
    products on sale."""
    out = []
    for actual, forecast in windows:
        known = ~np.isnan(actual)
        out.append((np.nansum(actual, axis=0)[None, :],
                    np.where(known, forecast, 0.0).sum(axis=0)[None, :]))
    return out


def covered(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of the known actuals inside [low, high] (NaN when none is known)."""
    known = ~np.isnan(actual) & ~np.isnan(low)
    if not known.any():
        return float("nan")
    inside = (actual[known] >= low[known]) & (actual[known] <= high[known])
    return float(inside.mean())
