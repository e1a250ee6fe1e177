"""Weekly units per product: the weekly series, point-in-time features, the backtest against
the seasonal naive forecast, and a short history."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.forecast import units

DAY = date(2026, 10, 31)


def lines_frame(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"sku": pl.String, "order_date": pl.Date, "quantity": pl.Float64}, orient="row"
    )


def test_weeks_end_on_the_run_date_and_start_with_the_first_sale():
    lines = lines_frame(
        [
            ("A", DAY, 2.0),
            ("A", DAY - timedelta(days=6), 1.0),  # both in week 0
            ("A", DAY - timedelta(days=7), 5.0),  # week -1
            ("B", DAY - timedelta(days=20), 4.0),  # week -2, B's first sale
            ("A", DAY + timedelta(days=1), 99.0),  # after the run date: not yet known
        ]
    )
    skus, y = units.weekly_units(lines, DAY)
    assert skus == ["A", "B"]
    # Oldest week first; A was not on sale yet in week -2.
    np.testing.assert_array_equal(y, [[np.nan, 5.0, 3.0], [4.0, 0.0, 0.0]])
    assert units.week_start(DAY, 0) == date(2026, 10, 25)
    assert units.week_start(DAY, 1) == date(2026, 11, 1)


def test_a_product_not_yet_on_sale_has_no_weeks_before_its_first_sale():
    lines = lines_frame([("A", DAY - timedelta(days=14), 1.0), ("B", DAY, 2.0)])
    _, y = units.weekly_units(lines, DAY)
    assert np.isnan(y[1, 0]) and np.isnan(y[1, 1]) and y[1, 2] == 2.0
    assert y[0].tolist() == [1.0, 0.0, 0.0]


def shop(seed: int, weeks: int, skus: int = 12) -> pl.DataFrame:
    """Daily Poisson sales per product: a level per product that grows, and a gift peak
    around early December."""
    rng = np.random.default_rng(seed)
    start = DAY - timedelta(days=7 * weeks - 1)
    days = np.arange(7 * weeks)
    doy = np.array([(start + timedelta(days=int(d))).timetuple().tm_yday for d in days])
    season = 1 + 1.5 * np.exp(-0.5 * ((doy - 340) / 12.0) ** 2)
    rows = []
    for s in range(skus):
        level = rng.uniform(0.5, 4.0) * (1 + days / (7 * weeks))
        sold = rng.poisson(level * season)
        rows += [
            (f"SKU-{s:02d}", start + timedelta(days=int(d)), float(q))
            for d, q in zip(days, sold, strict=True)
            if q
        ]
    return lines_frame(rows)


def test_features_at_an_origin_read_nothing_after_it():
    _, y = units.weekly_units(shop(1, 110), DAY)
    origin = 80
    changed = y.copy()
    changed[:, origin + 1 :] = 1000.0
    for h in (1, 4, 8):
        np.testing.assert_array_equal(
            units.features_at(y, origin, h), units.features_at(changed, origin, h)
        )


def test_the_model_beats_the_seasonal_naive_forecast_on_the_backtest():
    result = units.forecast_units(shop(2, 110), DAY, weeks=8, threads=1)
    m = result.metrics
    assert m["backtest_from"] == units.week_start(DAY, -7).isoformat()
    assert m["model_mape"] < m["baseline_mape"] and m["model_wape"] < m["baseline_wape"]
    assert "use the model" in result.note
    rows = result.rows
    assert rows.height == 12 * 8 * 2
    assert sorted(rows["model"].unique()) == ["seasonal_naive", "xgboost"]
    assert rows["week_start"].unique().sort().to_list() == [
        units.week_start(DAY, h) for h in range(1, 9)
    ]
    assert (rows["units_forecast"] >= 0).all()
    # The forecast weeks run into the gift peak: the model expects more than the recent level.
    model = rows.filter(pl.col("model") == "xgboost")
    peak = model.filter(pl.col("week_start") == date(2026, 12, 6))["units_forecast"].sum()
    first = model.filter(pl.col("week_start") == date(2026, 11, 1))["units_forecast"].sum()
    assert peak > 1.5 * first


def test_a_short_history_gets_the_recent_mean_and_says_why():
    result = units.forecast_units(shop(3, 30, skus=3), DAY, weeks=8)
    assert result.rows["model"].unique().to_list() == ["recent_mean"]
    assert result.rows.height == 3 * 8
    assert "needs 72 weeks" in result.note and "there are 30" in result.note
    empty = units.forecast_units(lines_frame([]), DAY)
    assert empty.rows.height == 0


def test_mape_refuses_a_backtest_without_sales():
    from pipelines.ml.metrics import mape

    with pytest.raises(ValueError):
        mape(np.zeros(4), np.ones(4))
