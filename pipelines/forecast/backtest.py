"""Rolling-origin backtest of the units forecasts, and the choice of the one to publish.

**Windows.** A window forecasts the `horizon` weeks after an origin from the weeks up to it,
as the forecast does. Origins step back `STEP` (4) weeks from the newest one whose weeks are
all known, until the windows' targets reach a year back: with 8-week forecasts that is 12
windows, each week of the last year forecast twice, at two horizons. A year because the
choice is applied to whatever season comes next: a backtest over the quiet months alone
picks the method that does best when nothing happens (the mean of the last weeks) and
publishes it flat through the peak. Four weeks because each window refits the model, and
twelve fits is what a daily run affords. Every method is refit or recomputed at each origin
from the weeks up to it only.

**Short histories** get fewer windows: a window needs as many weeks before its origin as it
forecasts, and a method is compared only on windows where it has what it needs
(`methods.first_origin`, `model.first_origin`). A method with fewer than `MIN_WINDOWS`
such windows is left out of the comparison and the figures say why (no seasonal rival
without a year of history); the rest are compared on the same windows. Windows in which
nothing sold measure nothing and are left out.

**Figures**, each the mean over windows of the figure of one window: WAPE (total absolute
error over total units, over product-weeks; the one that decides, since the percentage error
of a week of 1 or 2 units swings wildly), MAPE over the product-weeks that sold, bias (units
forecast over units sold, less 1) and the WAPE of the shop's weekly total (what the report
charts).

**The choice** (`choose`): the method with the lowest WAPE; the model only when it beats the
strongest rival. One exception, the season ahead. A forecast blind to last year (the mean of
the last weeks, or the model while its basis is that mean) does not publish over weeks ahead
whose last year departs from this year's level (the seasonal level forecast of the weekly
total against the blind one's, on average over the weeks) by more than either one's weekly
error on the backtest, unless the backtest shows it did best over those same weeks a year
ago on at least `MIN_WINDOWS` windows; the best forecast that follows last year publishes
instead, and the note says why. A
backtest that has not reached last year's weeks ahead (less than two years of history)
cannot vouch for a flat forecast over a season it never saw, and last year is the only
evidence of that season there is. Measured by `make bench-forecast` (bench/README.md) on a
shop with two years of history: the recent mean scored best over the backtest's year (WAPE
0.314, the model 0.339), then missed the 8 weeks that followed by 0.348 (bias -0.29: flat
through a peak 70% above its level), where the model missed by 0.238.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pipelines.forecast import methods
from pipelines.ml import metrics

STEP = 4
MIN_WINDOWS = 3

Forecaster = Callable[[int, int], np.ndarray]  # (origin, h) -> units per product


def origins(last: int, horizon: int) -> list[int]:
    """Window origins, newest first: `STEP` weeks apart from `last - horizon` until a window's
    first target is a year before the week after `last`, none before `horizon - 1`."""
    found = []
    origin = last - horizon
    while origin >= horizon - 1:
        found.append(origin)
        if origin + 1 <= last + 1 - methods.SEASON:
            break
        origin -= STEP
    return found


def window_figures(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """One window's figures; `actual` and `forecast` are products x weeks, NaN where a product
    was not on sale (left out)."""
    known = ~np.isnan(actual)
    a, f = actual[known], forecast[known]
    total = float(a.sum())
    weekly_actual = np.nansum(actual, axis=0)
    weekly_forecast = np.where(known, forecast, 0.0).sum(axis=0)
    with np.errstate(over="ignore"):  # a week of a fraction of a unit: a huge percentage
        mape = metrics.mape(a, f)
    return {
        "wape": metrics.wape(a, f),
        "mape": mape,
        "bias": float(f.sum()) / total - 1.0,
        "total_wape": metrics.wape(weekly_actual, weekly_forecast),
        "units": float(f.sum()),
    }


@dataclass
class Backtest:
    """The windows compared (their origins, newest first), each method's figures averaged over
    them and window by window, and why a method was left out."""

    windows: list[int]
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    per_window: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    not_backtested: dict[str, str] = field(default_factory=dict)
    actual_units: float = 0.0
    # Each method's (actual, forecast) per window, products x horizons: its errors, which
    # size its interval (`interval.py`).
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def over(self, windows: list[int]) -> dict[str, float]:
        """Each method's mean WAPE over some of the windows."""
        index = [self.windows.index(o) for o in windows]
        return {name: float(np.mean([rows[i]["wape"] for i in index]))
                for name, rows in self.per_window.items()}


def run(
    y: np.ndarray,
    horizon: int,
    candidates: dict[str, tuple[int, Callable[[int], Forecaster]]],
) -> Backtest:
    """Backtest each candidate method on the windows of `origins` it can be formed on.

    `candidates`: name -> (first origin it needs, a function that, given a window's origin,
    returns its forecaster: refit there for the model, the rule itself for the rivals). A
    method with fewer than `MIN_WINDOWS` windows is left out, the recent mean only when it
    has none; the others are compared on the windows they all have.
    """
    last = y.shape[1] - 1
    sold = [o for o in origins(last, horizon)
            if np.nansum(y[:, o + 1 : o + horizon + 1]) > 0]
    in_play, left_out = {}, {}
    for name, (first, make) in candidates.items():
        usable = [o for o in sold if o >= first]
        enough = 1 if name == methods.RECENT_MEAN else MIN_WINDOWS
        if len(usable) >= enough:
            in_play[name] = (first, make)
        else:
            left_out[name] = _why_not(first, len(usable), len(sold), enough, horizon)
    if not in_play:
        return Backtest(windows=[], not_backtested=left_out)
    start = max(first for first, _ in in_play.values())
    windows = [o for o in sold if o >= start]
    per_window: dict[str, list[dict[str, float]]] = {name: [] for name in in_play}
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in in_play}
    actual_units = 0.0
    for origin in windows:
        actual = y[:, origin + 1 : origin + horizon + 1]
        actual_units += float(np.nansum(actual))
        for name, (_, make) in in_play.items():
            forecaster = make(origin)
            forecast = np.column_stack([forecaster(origin, h) for h in range(1, horizon + 1)])
            per_window[name].append(window_figures(actual, forecast))
            pairs[name].append((actual, forecast))
    figures = {
        name: {key: float(np.mean([w[key] for w in rows])) for key in rows[0]}
        | {"windows": len(rows)}
        for name, rows in per_window.items()
    }
    return Backtest(windows=windows, figures=figures, per_window=per_window,
                    not_backtested=left_out, actual_units=actual_units, pairs=pairs)


def _why_not(first: int, usable: int, sold: int, enough: int, horizon: int) -> str:
    if sold < enough:
        return f"the history holds {sold} backtest window(s) with sales, fewer than {enough}"
    return (f"it needs {first + 1} weeks of history before a window, which {usable} of the "
            f"{sold} windows have, fewer than {enough}")


def same_season(windows: list[int], last: int, horizon: int) -> list[int]:
    """The windows whose weeks overlap last year's weeks ahead (columns last + 1 .. last +
    horizon, a year earlier)."""
    first, final = last + 1 - methods.SEASON, last + horizon - methods.SEASON
    return [o for o in windows if o + 1 <= final and o + horizon >= first]


@dataclass
class Choice:
    published: str
    strongest_rival: str | None
    why: str


def choose(
    backtest: Backtest,
    model: str,
    blind: set[str],
    ahead: dict[str, np.ndarray],
    last: int,
    horizon: int,
) -> Choice:
    """The forecast to publish (see the module's docstring).

    `blind`: the methods whose forecast ignores last year (the recent mean, and the model
    while its basis is); `ahead`: each method's forecast of the shop's weekly total over the
    weeks ahead, for the methods that can make one (the seasonal level forecast among them
    when a year of history gives the weeks ahead a last year).
    """
    figures = backtest.figures
    rivals = [name for name in methods.RIVALS if name in figures]
    strongest = min(rivals, key=lambda n: figures[n]["wape"]) if rivals else None
    if model in figures and (strongest is None
                             or figures[model]["wape"] < figures[strongest]["wape"]):
        published = model
        why = (f"it beats the strongest rival, {methods.TITLES[strongest]}"
               if strongest else "it is the only forecast backtested")
    elif strongest is not None:
        published = strongest
        why = ("it scores best on the backtest, the model included" if model in figures
               else "it scores best on the backtest")
    else:
        published = methods.RECENT_MEAN
        why = "nothing could be backtested"
    if published not in blind or methods.SEASONAL_LEVEL not in ahead:
        return Choice(published, strongest, why)
    departure, most = _departure(ahead[published], ahead[methods.SEASONAL_LEVEL])
    # Either forecast's typical weekly error on the backtest: a departure within it may be
    # last year's noise, not its season.
    tolerance = max(figures.get(name, {}).get("total_wape", 0.0)
                    for name in (published, methods.SEASONAL_LEVEL))
    if not departure > tolerance:
        return Choice(published, strongest, why)
    same = same_season(backtest.windows, last, horizon)
    # What follows last year and scales it to this year's level; the plain same week last
    # year only beside the seasonal level forecast, backtested on the same windows.
    following = [n for n in (model, methods.SEASONAL_LEVEL) if n in figures and n not in blind]
    if methods.SEASONAL_LEVEL in figures and methods.SEASONAL_NAIVE in figures:
        following.append(methods.SEASONAL_NAIVE)
    ignores = (f"it ignores last year's weeks ahead, which depart from this year's level by "
               f"{departure:.0%} a week on average (up to {most:.0%}), more than the "
               f"{tolerance:.0%} either forecast missed the weekly total by on the backtest")
    # The flat forecast's record over last year's weeks ahead vouches for it only on as many
    # windows as judge any method: one or two windows of a season are a draw, and a day's
    # shift of the windows would flip the choice (measured: it did, at scale s).
    if len(same) >= MIN_WINDOWS:
        there = backtest.over(same)
        if min(there, key=there.__getitem__) in blind:
            return Choice(published, strongest, (
                f"{why}; {ignores}, but it also scored best over those weeks a year ago "
                f"({_windows(len(same))})"))
        reason = (f"over those weeks a year ago ({_windows(len(same))}) it scored "
                  f"{there[published]:.3f}, worse than a forecast that follows last year")
    elif same:
        reason = (f"the backtest reached those weeks a year ago in {_windows(len(same))}, "
                  f"fewer than the {MIN_WINDOWS} that judge a method")
    else:
        reason = "the backtest never reached those weeks a year ago"
    follows = (min(following, key=lambda n: figures[n]["wape"]) if following
               else methods.SEASONAL_LEVEL)
    best = "the best backtested" if follows in figures else "not backtested (too little history)"
    return Choice(follows, strongest, (
        f"{methods.TITLES.get(published, 'the model')} scored best on the backtest, but "
        f"{ignores}, and {reason}; of the forecasts that follow last year this is {best}"))


def _departure(flat: np.ndarray, seasonal: np.ndarray) -> tuple[float, float]:
    """How far the seasonal forecast of the weekly total departs from the flat one: the mean
    and the largest relative difference over the weeks ahead (0 when the flat one is 0)."""
    if not flat.sum() > 0:
        return 0.0, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.abs(np.where(flat > 0, seasonal / flat - 1.0, 0.0))
    return float(gaps.mean()), float(gaps.max())


def _windows(n: int) -> str:
    return f"{n} window" + ("" if n == 1 else "s")
