"""Weekly units per product for the next weeks: the model (`model.py`) beside three simple
rivals (`methods.py`: the mean of the last 13 weeks, the same week last year, and last year's
same weeks scaled by this year's level), all backtested over rolling origins (`backtest.py`);
the one with the best backtest publishes, the model only when it beats the strongest rival.

Weeks are 7-day blocks ending on the run date: week 0 is the 7 days up to and including the
logical date, week 1 the 7 days after it, and so on; a week is named by its first day.
Anchoring the weeks on the run date means no week is ever half observed, but for the first
week of the history when the lines start after its first day: it is left out (it would read
as a slow week).

Orders without product ids (a generic orders file with no `product_id` column) are forecast as
one series, the shop's total units, under the product key `ALL_PRODUCTS`; the same methods and
backtest apply. When some lines carry a product id and others do not, products are forecast
and the note counts the units left out. A history too short for a method leaves it out of the
backtest and the figures say why; the mean of the last 13 weeks always forecasts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.forecast import backtest, interval, methods, model
from pipelines.ml.registry import version_for

log = logging.getLogger(__name__)

MODEL = model.MODEL
TITLES = {MODEL: model.TITLE, **methods.TITLES}
# The product key of the one series forecast when no order line carries a product id.
ALL_PRODUCTS = "(all products)"
METRIC = "wape"


def model_version() -> str:
    """The model's version: what it is (features, parameters), not what it learnt; the
    forecast refits every run."""
    return f"{MODEL}-{version_for(model.FEATURES, model.PARAMS, model.ROUNDS)}"


@dataclass
class Forecast:
    """The forecast rows for `ml.forecast`, the shop's weekly total for `ml.forecast_total`
    and the backtest's figures."""

    rows: pl.DataFrame
    total: pl.DataFrame = field(default_factory=lambda: _total_frame([], date(1970, 1, 1)))
    metrics: dict = field(default_factory=dict)
    note: str = ""


def week_start(logical_date: date, week: int) -> date:
    """First day of week `week` (0 = the 7 days ending on `logical_date`)."""
    return logical_date + timedelta(days=7 * week - 6)


def weekly_units(lines: pl.DataFrame, logical_date: date) -> tuple[list[str], np.ndarray]:
    """Units per product and week up to week 0, as (skus, matrix): one row per sku, one column
    per week, oldest first (the last column is week 0). Weeks before a product's first sale
    are NaN (it was not on sale), weeks after it without sales are 0. The first week is left
    out when the lines start after its first day and later weeks exist.

    `lines` has sku, order_date and quantity (cancelled lines already left out).
    """
    known = lines.filter(pl.col("order_date") <= logical_date)
    weekly = (
        known.with_columns(
            ago=((pl.lit(logical_date) - pl.col("order_date")).dt.total_days() // 7).cast(pl.Int64)
        )
        .group_by("sku", "ago")
        .agg(pl.col("quantity").sum().cast(pl.Float64).alias("units"))
    )
    if weekly.height == 0:
        return [], np.zeros((0, 0))
    skus = sorted(weekly.get_column("sku").unique().to_list())
    n_weeks = int(weekly.get_column("ago").max()) + 1
    matrix = np.zeros((len(skus), n_weeks))
    row = {s: i for i, s in enumerate(skus)}
    rows = np.array([row[s] for s in weekly.get_column("sku").to_list()])
    cols = n_weeks - 1 - weekly.get_column("ago").to_numpy()
    matrix[rows, cols] = weekly.get_column("units").to_numpy()
    first = np.argmax(matrix > 0, axis=1)
    matrix[np.arange(n_weeks)[None, :] < first[:, None]] = np.nan
    starts = known.get_column("order_date").min()
    if n_weeks > 1 and starts > week_start(logical_date, 1 - n_weeks):
        matrix = matrix[:, 1:]
    return skus, matrix


ROWS_SCHEMA = {
    "sku": pl.String,
    "week_start": pl.Date,
    "units_forecast": pl.Float64,
    "units_low": pl.Float64,
    "units_high": pl.Float64,
    "model": pl.String,
}
TOTAL_SCHEMA = {**{k: v for k, v in ROWS_SCHEMA.items() if k != "sku"},
                "is_published": pl.Boolean}


def _frame(rows: list[tuple], logical_date: date) -> pl.DataFrame:
    return (
        pl.DataFrame(rows, schema=ROWS_SCHEMA, orient="row")
        .with_columns(as_of_date=pl.lit(logical_date))
        .sort("sku", "week_start", "model")
    )


def _total_frame(rows: list[tuple], logical_date: date) -> pl.DataFrame:
    return (
        pl.DataFrame(rows, schema=TOTAL_SCHEMA, orient="row")
        .with_columns(as_of_date=pl.lit(logical_date))
        .sort("week_start", "model")
    )


def _nan_to_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _intervals(result: backtest.Backtest, ahead: dict[str, np.ndarray], selling: np.ndarray,
               weeks: int) -> tuple[dict, dict]:
    """Per method in `ahead`: its forecast with the interval (products x weeks: forecast,
    low, high) and its shop total (weeks: the same three), the interval from the method's own
    backtest errors (`interval.py`), NaN where it was not backtested."""
    per_product, total = {}, {}
    for name, forecast in ahead.items():
        pairs = result.pairs.get(name, [])
        sold = forecast[selling]
        week_total = sold.sum(axis=0)
        if pairs:
            product_ratios = interval.ratios(pairs, weeks)
            total_ratios = interval.ratios(interval.totals(pairs), weeks)
        else:
            product_ratios = total_ratios = interval.Ratios(np.full(weeks, np.nan),
                                                            np.full(weeks, np.nan))
        per_product[name] = (sold, *product_ratios.apply(sold))
        total[name] = (week_total, *total_ratios.apply(week_total))
    return per_product, total


def forecast_level(lines: pl.DataFrame, logical_date: date) -> tuple[pl.DataFrame, dict]:
    """The lines to forecast and what they are: per product when any line up to
    `logical_date` has a product id (lines without one are left out and counted), else the
    shop's total as one series named `ALL_PRODUCTS`. Returns the lines and the figures
    `level` ("product" or "total") and `units_without_product_id`."""
    known = lines.filter(pl.col("order_date") <= logical_date)
    with_sku = known.filter(pl.col("sku").is_not_null())
    if known.height and with_sku.height == 0:
        return known.with_columns(sku=pl.lit(ALL_PRODUCTS)), {
            "level": "total", "units_without_product_id": 0.0}
    left_out = float(known.filter(pl.col("sku").is_null()).get_column("quantity").sum() or 0)
    return with_sku, {"level": "product", "units_without_product_id": left_out}


def _what(level: dict, skus: int, n_weeks: int) -> str:
    """The first part of the note: what is forecast, from how much history."""
    if level["level"] == "total":
        what = "no product ids in the orders: forecast the shop's total units"
    else:
        what = f"forecast units per product ({skus:,} products)"
        left_out = level["units_without_product_id"]
        if left_out:
            what += f", leaving out {left_out:,.0f} units whose order lines have no product id"
    return f"{what}; {n_weeks} weeks of history"


def _candidates(y: np.ndarray, weeks: int, threads: int) -> dict:
    """Each method's first origin and, per window origin, its forecaster: the rivals are
    rules; the model is refit at each origin on the rows whose targets it knew (built once,
    when first needed)."""
    found = {}
    for name in methods.RIVALS:
        forecast = methods.FORECASTERS[name]
        found[name] = (methods.first_origin(name, weeks),
                       lambda origin, forecast=forecast: (lambda o, h: forecast(y, o, h)))
    design: list[model.Design] = []

    def refit(origin: int):
        if not design:
            design.append(model.Design.build(y, weeks))
        fitted = model.fit(design[0], origin, weeks, threads)
        return _Refit(fitted, y)

    found[MODEL] = (model.first_origin(weeks), refit)
    return found


@dataclass
class _Refit:
    """The model refit at an origin, as a forecaster (origin, h) -> units per product."""

    fitted: model.Fitted
    y: np.ndarray

    def __call__(self, origin: int, horizon: int) -> np.ndarray:
        return model.predict(self.fitted, self.y, origin, horizon)


def _ahead(y: np.ndarray, weeks: int, candidates: dict, result: backtest.Backtest
           ) -> tuple[dict[str, np.ndarray], int | None]:
    """The weeks ahead (products x weeks) by every method that can forecast them, the model
    only when it was backtested, and the model's boosting rounds."""
    last = y.shape[1] - 1
    ahead, rounds = {}, None
    for name, (first, make) in candidates.items():
        if last < first or (name == MODEL and name not in result.figures):
            continue
        forecaster = make(last)
        ahead[name] = np.column_stack([forecaster(last, h) for h in range(1, weeks + 1)])
        if isinstance(forecaster, _Refit):
            rounds = forecaster.fitted.rounds
    return ahead, rounds


def _figures(level: dict, y: np.ndarray, skus: int, logical_date: date, weeks: int,
             result: backtest.Backtest, choice: backtest.Choice, ahead: dict) -> dict:
    """What `ml.model_runs` records: the history, the windows (named by their first week),
    every rival's figures, what was left out and why, the strongest rival, what published."""
    last = y.shape[1] - 1
    starts = [week_start(logical_date, o + 1 - last).isoformat() for o in result.windows]
    strongest = choice.strongest_rival
    return {
        **level,
        "history_weeks": last + 1,
        "skus": skus,
        "horizon_weeks": weeks,
        "metric": METRIC,
        "windows": len(result.windows),
        "window_step_weeks": backtest.STEP,
        "window_starts": starts,
        "backtest_from": min(starts) if starts else None,
        "actual_units": result.actual_units,
        "season_known": methods.SEASONAL_LEVEL in ahead,
        "same_season_windows": len(backtest.same_season(result.windows, last, weeks)),
        "rivals": {n: f for n, f in result.figures.items() if n != MODEL},
        "not_backtested": result.not_backtested,
        "baseline": {"name": strongest, **result.figures[strongest]} if strongest else {},
        "published": {"name": choice.published,
                      METRIC: result.figures.get(choice.published, {}).get(METRIC),
                      "why": choice.why},
    }


def _note(what: str, figures: dict, result: backtest.Backtest, choice: backtest.Choice) -> str:
    if not result.windows:
        tested = "not backtested (too few weeks)"
    else:
        scores = ", ".join(
            f"{result.figures[name][METRIC]:.3f} for {TITLES[name]}"
            for name in sorted(result.figures, key=lambda n: result.figures[n][METRIC])
        )
        tested = (f"backtest WAPE over {len(result.windows)} windows of "
                  f"{figures['horizon_weeks']} weeks since {figures['backtest_from']}: {scores}")
    left_out = "; ".join(f"{TITLES[name]}: {why}" for name, why in result.not_backtested.items())
    if left_out:
        tested += f" (not backtested: {left_out})"
    return f"{what}: {tested}; publishes {TITLES[choice.published]}: {choice.why}"


def forecast_units(
    lines: pl.DataFrame, logical_date: date, weeks: int = 8, threads: int = 1
) -> Forecast:
    """Forecast the next `weeks` weeks for every product sold in the last year (or the shop's
    total, see `forecast_level`) with every method the history allows, backtest them over
    rolling origins and choose the one to publish (`backtest.choose`)."""
    series, level = forecast_level(lines, logical_date)
    skus, y = weekly_units(series, logical_date)
    if not skus:
        note = f"no order lines up to {logical_date.isoformat()}: nothing to forecast"
        log.info("units forecast: %s", note)
        figures = {**level, "history_weeks": 0, "skus": 0, "horizon_weeks": weeks,
                   "metric": METRIC, "windows": 0, "rivals": {}, "not_backtested": {},
                   "baseline": {},
                   "published": {"name": methods.RECENT_MEAN, METRIC: None, "why": note}}
        return Forecast(rows=_frame([], logical_date), total=_total_frame([], logical_date),
                        metrics=figures, note=note)
    last = y.shape[1] - 1
    candidates = _candidates(y, weeks, threads)
    result = backtest.run(y, weeks, candidates)
    ahead, rounds = _ahead(y, weeks, candidates, result)
    # The model ignores last year while its basis does (before `model.seasonal_from`).
    blind = {methods.RECENT_MEAN} | ({MODEL} if last < model.seasonal_from(weeks) else set())
    choice = backtest.choose(result, MODEL, blind, {n: f.sum(axis=0) for n, f in ahead.items()},
                             last, weeks)
    figures = _figures(level, y, len(skus), logical_date, weeks, result, choice, ahead)
    if MODEL in result.figures:
        figures["candidate"] = {"version": model_version(), "boosting_rounds": rounds,
                                **result.figures[MODEL]}
    selling = np.nansum(y[:, max(last - methods.SEASON + 1, 0) :], axis=1) > 0
    per_product, total = _intervals(result, ahead, selling, weeks)
    kept = [skus[i] for i in np.flatnonzero(selling)]
    rows = [
        (sku, week_start(logical_date, h), float(f[j, h - 1]),
         _nan_to_none(low[j, h - 1]), _nan_to_none(high[j, h - 1]), name)
        for name, (f, low, high) in per_product.items()
        for h in range(1, weeks + 1)
        for j, sku in enumerate(kept)
    ]
    total_rows = [
        (week_start(logical_date, h), float(f[h - 1]), _nan_to_none(low[h - 1]),
         _nan_to_none(high[h - 1]), name, name == choice.published)
        for name, (f, low, high) in total.items()
        for h in range(1, weeks + 1)
    ]
    figures["interval"] = {"coverage": interval.COVERAGE, "low_quantile": interval.LOW,
                           "high_quantile": interval.HIGH, "errors": "actual over forecast, "
                           "per horizon, from the method's own backtest windows"}
    note = _note(_what(level, len(skus), last + 1), figures, result, choice)
    log.info("units forecast: %s", note)
    return Forecast(rows=_frame(rows, logical_date), total=_total_frame(total_rows, logical_date),
                    metrics=figures, note=note)
