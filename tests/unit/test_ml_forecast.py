"""Weekly units per product, or the shop's total when the orders carry no product ids: the
weekly series, point-in-time features, the backtest against the seasonal naive forecast and the
recent mean, and a short history."""

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
    # The forecast to use is the best of the three on the backtest, whichever it is.
    best = min(("model", "xgboost"), ("baseline", "seasonal_naive"),
               ("recent_mean", "recent_mean"), key=lambda n: m[f"{n[0]}_mape"])
    assert m["chosen"] == best[1]
    assert result.note.endswith(f"use {units.TITLES[best[1]]}")
    rows = result.rows
    assert rows.height == 12 * 8 * 3
    assert sorted(rows["model"].unique()) == ["recent_mean", "seasonal_naive", "xgboost"]
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
    assert "30 weeks of history, fewer than the 72 the model needs" in result.note
    assert result.note.startswith("forecast units per product (3 products)")
    empty = units.forecast_units(lines_frame([]), DAY)
    assert empty.rows.height == 0


def test_mape_refuses_a_backtest_without_sales():
    from pipelines.ml.metrics import mape

    with pytest.raises(ValueError):
        mape(np.zeros(4), np.ones(4))


def without_skus(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.with_columns(sku=pl.lit(None, dtype=pl.String))


def test_orders_without_product_ids_forecast_the_shops_total_units():
    lines = shop(2, 110)
    result = units.forecast_units(without_skus(lines), DAY, weeks=8, threads=1)
    rows, m = result.rows, result.metrics
    assert rows["sku"].unique().to_list() == [units.ALL_PRODUCTS]
    assert rows.height == 8 * 3 and m["chosen"] == "xgboost"
    assert m["level"] == "total" and m["skus"] == 1 and m["history_weeks"] == 110
    assert result.note.startswith(
        "no product ids in the orders: forecast the shop's total units; 110 weeks of history: "
        "backtest MAPE"
    )
    # The one series is every product's units added up, week by week.
    _, per_product = units.weekly_units(lines, DAY)
    _, total = units.weekly_units(without_skus(lines).with_columns(sku=pl.lit("x")), DAY)
    np.testing.assert_allclose(total[0], np.nansum(per_product, axis=0))
    assert m["actual_units"] == pytest.approx(total[0, -8:].sum())
    for name in ("model", "baseline", "recent_mean"):
        assert 0 <= m[f"{name}_mape"] < 1 and m[f"{name}_wape"] >= 0
    # Seasonality carries over to the total: the gift peak is forecast above the first week.
    model = rows.filter(pl.col("model") == "xgboost")
    peak = model.filter(pl.col("week_start") == date(2026, 12, 6))["units_forecast"].item()
    first = model.filter(pl.col("week_start") == date(2026, 11, 1))["units_forecast"].item()
    assert peak > 1.5 * first


def weekly_lines(units_per_week: list[float]) -> pl.DataFrame:
    """One line without a product id per week, oldest first; the last week is week 0."""
    n = len(units_per_week)
    return without_skus(lines_frame([
        ("", DAY - timedelta(days=7 * (n - 1 - i) + 3), q) for i, q in enumerate(units_per_week)
    ]))


def test_a_short_total_history_gets_the_backtested_recent_mean_and_says_so():
    # 20 weeks: 11 of 10 units, one of 23, then 8 of 20 (the backtest's weeks).
    result = units.forecast_units(weekly_lines([10.0] * 11 + [23.0] + [20.0] * 8), DAY)
    m = result.metrics
    assert result.rows["model"].unique().to_list() == ["recent_mean"]
    assert result.rows["sku"].unique().to_list() == [units.ALL_PRODUCTS]
    # The mean of the 13 newest weeks: eight 20s, the 23 and four 10s ...
    assert result.rows["units_forecast"].to_list() == pytest.approx([(8 * 20 + 23 + 40) / 13] * 8)
    # ... and from before the backtest's weeks, the 12 known ones: 133/12 against 20 each week;
    # no year before, so the seasonal naive forecast is the last week's 23.
    assert m["recent_mean_mape"] == pytest.approx(abs(20 - 133 / 12) / 20)
    assert m["baseline_mape"] == pytest.approx(3 / 20)
    assert m["level"] == "total" and m["history_weeks"] == 20 and m["weeks_needed"] == 72
    assert result.note == (
        "no product ids in the orders: forecast the shop's total units; 20 weeks of history, "
        "fewer than the 72 the model needs: forecast by the mean of the last 13 weeks "
        f"(backtest MAPE {m['recent_mean_mape']:.3f}; last week's units 0.150)"
    )


def test_a_history_too_short_to_backtest_says_so():
    result = units.forecast_units(weekly_lines([5.0] * 10), DAY)
    assert result.rows.height == 8 and "recent_mean_mape" not in result.metrics
    assert result.note.endswith(
        "10 weeks of history, fewer than the 72 the model needs: forecast by the mean of the "
        "last 13 weeks (not backtested: that needs 16 weeks)"
    )


def test_lines_without_a_product_id_beside_ones_with_it_are_counted_not_forecast():
    lines = pl.concat([
        shop(3, 30, skus=2),
        without_skus(lines_frame([("", DAY - timedelta(days=2), 7.0), ("", DAY, 5.0)])),
        without_skus(lines_frame([("", DAY + timedelta(days=1), 100.0)])),  # not yet known
    ])
    result = units.forecast_units(lines, DAY)
    assert result.metrics["level"] == "product"
    assert result.metrics["units_without_product_id"] == 12.0
    assert set(result.rows["sku"]) == {"SKU-00", "SKU-01"}
    assert result.note.startswith(
        "forecast units per product (2 products), leaving out 12 units whose order lines have "
        "no product id; 30 weeks of history"
    )


def test_no_order_lines_forecast_nothing_and_say_so():
    result = units.forecast_units(without_skus(lines_frame([])), DAY)
    assert result.rows.height == 0
    assert result.note == "no order lines up to 2026-10-31: nothing to forecast"
