"""The simple forecasts of weekly units the model is measured against, and the model's basis.

Each takes the units matrix `y` (one row per product, one column per week, oldest first; NaN
before a product's first sale), an origin column and a horizon h, and returns the forecast of
column origin + h for every product, reading only columns up to the origin. `first_origin`
says from which origin a method has what it needs, so a backtest never forms a method on data
it would not have had.

- **recent mean**: the mean weekly units of the last 13 weeks. Blind to the season.
- **seasonal naive**: the product's units in the same week a year earlier.
- **seasonal level** (the level-adjusted seasonal naive): the shop's total units in the same
  week a year earlier, scaled by how the shop's level of the last 4 weeks compares with the
  same 4 weeks a year earlier, and split among products by their share of the last 13 weeks'
  units. Last year's shape and this year's level both come from the shop's total because a
  product's week is mostly noise (a product selling 20 units a week varies by a fifth from
  week to week by chance alone), and its share from 13 weeks for the same reason. A month for
  the level ratio: long enough that one odd week moves it little, short enough to carry
  little of last year's trend into this year's. Its limit: a product whose season differs
  from the shop's (a Christmas line in a shop that peaks in spring) gets the shop's shape;
  the seasonal naive forecast keeps each product's own.

A product whose method cannot be formed (not on sale a year earlier, no units in the shop's
weeks a year earlier, or a level that moved more than `MAX_LEVEL_RATIO`-fold in the year)
gets its recent mean, so every method forecasts every product.
"""

from __future__ import annotations

import numpy as np

SEASON = 52  # weeks in a year
RECENT_WEEKS = 13
LEVEL_WEEKS = 4
# A shop whose level moved more than fivefold in a year (a launch, a closure) has no last year
# that says anything about this one's season: the seasonal level forecast is not formed.
MAX_LEVEL_RATIO = 5.0

RECENT_MEAN = "recent_mean"
SEASONAL_NAIVE = "seasonal_naive"
SEASONAL_LEVEL = "seasonal_level"
RIVALS = (SEASONAL_LEVEL, SEASONAL_NAIVE, RECENT_MEAN)
# Rivals whose forecast follows last year's weeks: what a forecast over a season the backtest
# never reached must be (see `backtest.choose`).
SEASONAL = (SEASONAL_LEVEL, SEASONAL_NAIVE)
TITLES = {
    RECENT_MEAN: f"the mean of the last {RECENT_WEEKS} weeks",
    SEASONAL_NAIVE: "the same week last year",
    SEASONAL_LEVEL: "last year's same weeks scaled by this year's level",
}


def window_mean(y: np.ndarray, end: int, width: int) -> np.ndarray:
    """Mean of columns end-width+1 .. end per row, over the known ones (NaN where none is)."""
    start = max(end - width + 1, 0)
    if end < 0 or start > end:
        return np.full(y.shape[0], np.nan)
    window = y[:, start : end + 1]
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(window), axis=1)
        return np.where(counts > 0, np.nansum(window, axis=1) / np.maximum(counts, 1), np.nan)


def column(y: np.ndarray, index: int) -> np.ndarray:
    """Column `index` of `y`, NaN when it is outside the matrix."""
    if 0 <= index < y.shape[1]:
        return y[:, index]
    return np.full(y.shape[0], np.nan)


def first_origin(method: str, horizon: int) -> int:
    """The first origin column from which `method` forecasts `horizon` weeks from what it needs:
    a week for the recent mean; the week a year before the first target for the seasonal naive
    forecast; and for the seasonal level also the `LEVEL_WEEKS` weeks up to the origin a year
    earlier."""
    if method == RECENT_MEAN:
        return 0
    if method == SEASONAL_NAIVE:
        return SEASON - 1
    if method == SEASONAL_LEVEL:
        return SEASON + LEVEL_WEEKS - 1
    raise ValueError(f"unknown forecast method {method!r}; known: {', '.join(RIVALS)}")


def recent_mean(y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """Each product's mean weekly units of the `RECENT_WEEKS` weeks up to `origin` (0 for a
    product not yet on sale)."""
    return np.nan_to_num(window_mean(y[:, : origin + 1], origin, RECENT_WEEKS))


def seasonal_naive(y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """Each product's units in the week a year before the target; its recent mean when it was
    not on sale then."""
    last_year = column(y[:, : origin + 1], origin + horizon - SEASON)
    return np.where(np.isnan(last_year), recent_mean(y, origin, horizon), last_year)


def seasonal_level(y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """The shop's units in the week a year before the target, times the shop's level of the
    last `LEVEL_WEEKS` weeks over the same weeks a year earlier, split by each product's share
    of the last `RECENT_WEEKS` weeks' units; the recent mean where that cannot be formed."""
    known = y[:, : origin + 1]
    total = np.nansum(known, axis=0, keepdims=True)
    last_year = column(total, origin + horizon - SEASON)[0]
    now = window_mean(total, origin, LEVEL_WEEKS)[0]
    then = window_mean(total, origin - SEASON, LEVEL_WEEKS)[0]
    recent = recent_mean(y, origin, horizon)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = now / then
    if not (np.isfinite(last_year) and np.isfinite(ratio)
            and 1 / MAX_LEVEL_RATIO <= ratio <= MAX_LEVEL_RATIO):
        return recent
    shares = recent / recent.sum() if recent.sum() > 0 else np.zeros_like(recent)
    return shares * last_year * ratio


FORECASTERS = {
    RECENT_MEAN: recent_mean,
    SEASONAL_NAIVE: seasonal_naive,
    SEASONAL_LEVEL: seasonal_level,
}
