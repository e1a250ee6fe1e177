"""The forecast's 80% interval from its own backtest errors: out of sample, on series with
known noise, it holds about 80% of what then sells, per product and at the shop's total."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.forecast import backtest, interval, methods

WEEKS = 8
HISTORY = 104


def shop(rng: np.random.Generator, products: int, weeks: int, levels: np.ndarray,
         sigma: float) -> np.ndarray:
    """Weekly units: each product's steady level times lognormal noise (median 1)."""
    return levels[:, None] * rng.lognormal(0.0, sigma, size=(products, weeks))


def recent_mean_only(y: np.ndarray) -> backtest.Backtest:
    forecast = methods.FORECASTERS[methods.RECENT_MEAN]
    return backtest.run(y, WEEKS, {methods.RECENT_MEAN: (
        0, lambda origin: (lambda o, h: forecast(y, o, h)))})


def test_the_interval_covers_about_80_percent_of_new_weeks_per_product():
    rng = np.random.default_rng(7)
    products = 200
    levels = rng.uniform(20, 200, size=products)
    y = shop(rng, products, HISTORY + WEEKS, levels, sigma=0.3)
    history, future = y[:, :HISTORY], y[:, HISTORY:]
    result = recent_mean_only(history)
    ratios = interval.ratios(result.pairs[methods.RECENT_MEAN], WEEKS)
    forecast = np.column_stack([methods.recent_mean(history, HISTORY - 1, h)
                                for h in range(1, WEEKS + 1)])
    low, high = ratios.apply(forecast)
    coverage = interval.covered(future, low, high)
    assert 0.75 <= coverage <= 0.85
    # The band is the noise's, not a guess: lognormal(0, 0.3) has its 10th and 90th
    # percentiles at exp(-+1.28 * 0.3) = 0.68 and 1.47, and the 13-week mean adds a little.
    assert 0.60 <= np.mean(ratios.low) <= 0.72 and 1.40 <= np.mean(ratios.high) <= 1.60


def test_the_shop_totals_interval_covers_about_80_percent_over_many_shops():
    # One error per window at the total (12 windows): each shop's interval is coarse, the
    # share of new weeks it holds over many shops is what its construction promises.
    rng = np.random.default_rng(11)
    inside = []
    for _ in range(150):
        levels = rng.uniform(5, 50, size=20)
        y = shop(rng, 20, HISTORY + WEEKS, levels, sigma=0.4)
        # A shop-wide weekly swing every product shares, so the total is not near-constant.
        y *= rng.lognormal(0.0, 0.15, size=HISTORY + WEEKS)[None, :]
        history, future = y[:, :HISTORY], y[:, HISTORY:]
        result = recent_mean_only(history)
        pairs = interval.totals(result.pairs[methods.RECENT_MEAN])
        assert len(pairs) == 12
        ratios = interval.ratios(pairs, WEEKS)
        total = np.full(WEEKS, methods.recent_mean(history, HISTORY - 1, 1).sum())
        low, high = ratios.apply(total)
        inside.append(interval.covered(future.sum(axis=0), low, high))
    assert 0.74 <= float(np.mean(inside)) <= 0.86


def test_too_few_errors_give_no_interval_and_a_zero_forecast_a_zero_one():
    actual = np.array([[10.0, 12.0]])
    pairs = [(actual, np.array([[10.0, 0.0]]))] * (interval.MIN_ERRORS - 1)
    ratios = interval.ratios(pairs, 2)
    assert np.isnan(ratios.low).all() and np.isnan(ratios.high).all()
    ratios = interval.ratios([(np.array([[10.0, 10.0]]) * k, np.array([[10.0, 10.0]]))
                              for k in np.linspace(0.5, 1.5, 11)], 2)
    low, high = ratios.apply(np.array([0.0, 20.0]))
    assert low[0] == high[0] == 0.0
    # Weibull positions: of 11 ratios 0.5, 0.6 .. 1.5 the 10th percentile is the 1.2th
    # smallest (0.52), the 90th the 10.8th (1.48).
    assert low[1] == pytest.approx(20 * 0.52) and high[1] == pytest.approx(20 * 1.48)


def test_the_forecast_carries_each_rows_interval_and_the_totals_own():
    from datetime import date, timedelta

    import polars as pl

    from pipelines.forecast import units

    rng = np.random.default_rng(3)
    day = date(2026, 10, 31)
    weeks = 50
    levels = np.array([30.0, 60.0, 90.0, 15.0, 45.0])
    y = shop(rng, len(levels), weeks, levels, sigma=0.3).round()
    lines = pl.DataFrame(
        [(f"P{i}", day - timedelta(days=7 * (weeks - 1 - w)), float(y[i, w]))
         for i in range(len(levels)) for w in range(weeks) if y[i, w] > 0],
        schema={"sku": pl.String, "order_date": pl.Date, "quantity": pl.Float64},
        orient="row")
    result = units.forecast_units(lines, day, weeks=8)
    # 50 weeks: the recent mean's 9 windows give the total an interval too (7 or more).
    assert result.metrics["windows"] == 9
    rows = result.rows.filter(pl.col("model") == "recent_mean")
    assert rows["units_low"].null_count() == 0
    assert (rows["units_low"] <= rows["units_forecast"]).all()
    assert (rows["units_forecast"] <= rows["units_high"]).all()
    total = result.total
    assert set(total.filter(pl.col("is_published"))["model"]) == {"recent_mean"}
    summed = rows.group_by("week_start").agg(pl.col("units_forecast", "units_low").sum())
    joined = total.filter(pl.col("model") == "recent_mean").join(
        summed, on="week_start", suffix="_products")
    assert joined.height == 8
    np.testing.assert_allclose(joined["units_forecast"], joined["units_forecast_products"])
    # Products' misses partly cancel in the total: its band is narrower than their sum's.
    assert (joined["units_low"] > joined["units_low_products"]).all()
