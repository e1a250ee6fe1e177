"""Weekly units per product, or the shop's total when the orders carry no product ids: the
weekly series, the simple rivals and the model reading nothing after their origin, the
rolling-origin backtest and the choice of what publishes, a yearly peak the published
forecast follows, and short histories."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.forecast import backtest, methods, model, units

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
            ("B", DAY - timedelta(days=20), 4.0),  # week -2, B's first sale, its first day
            ("A", DAY + timedelta(days=1), 99.0),  # after the run date: not yet known
        ]
    )
    skus, y = units.weekly_units(lines, DAY)
    assert skus == ["A", "B"]
    # Oldest week first; A was not on sale yet in week -2.
    np.testing.assert_array_equal(y, [[np.nan, 5.0, 3.0], [4.0, 0.0, 0.0]])
    assert units.week_start(DAY, 0) == date(2026, 10, 25)
    assert units.week_start(DAY, 1) == date(2026, 11, 1)


def test_a_first_week_the_lines_start_in_the_middle_of_is_left_out():
    # The history starts on the last day of week -2: that week holds one day of sales.
    lines = lines_frame([("A", DAY - timedelta(days=14), 1.0),
                         ("A", DAY - timedelta(days=7), 6.0), ("A", DAY, 7.0)])
    _, y = units.weekly_units(lines, DAY)
    assert y.tolist() == [[6.0, 7.0]]
    # A history of one partial week keeps it: there is nothing else.
    _, single = units.weekly_units(lines_frame([("A", DAY, 3.0)]), DAY)
    assert single.tolist() == [[3.0]]


def test_a_product_not_yet_on_sale_has_no_weeks_before_its_first_sale():
    lines = lines_frame([("A", DAY - timedelta(days=20), 1.0), ("B", DAY, 2.0)])
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


def test_every_method_reads_nothing_after_its_origin():
    _, y = units.weekly_units(shop(1, 110), DAY)
    origin = 90
    changed = y.copy()
    changed[:, origin + 1 :] = 1000.0
    for h in (1, 4, 8):
        for name, forecast in methods.FORECASTERS.items():
            np.testing.assert_array_equal(forecast(y, origin, h), forecast(changed, origin, h),
                                          err_msg=name)
        np.testing.assert_array_equal(
            model.features_at(y, origin, h), model.features_at(changed, origin, h))
    # The model refit at the origin learns from the weeks up to it only.
    fitted = model.fit(model.Design.build(y, 8), origin, 8, 1)
    refitted = model.fit(model.Design.build(changed, 8), origin, 8, 1)
    for h in (1, 8):
        np.testing.assert_allclose(model.predict(fitted, y, origin, h),
                                   model.predict(refitted, changed, origin, h))


def test_the_seasonal_level_scales_last_years_weeks_by_this_years_level():
    # One product: a year ago 10 a week with 30 in the target week; this month 20 a week.
    y = np.full((1, 70), 10.0)
    y[0, 60:] = 20.0
    y[0, 69 + 2 - 52] = 30.0
    assert methods.seasonal_level(y, 69, 2).tolist() == [60.0]
    assert methods.seasonal_naive(y, 69, 2).tolist() == [30.0]
    # The shop's shape and level, split by the products' shares of the last 13 weeks.
    two = np.vstack([y[0], y[0] * 3])
    np.testing.assert_allclose(methods.seasonal_level(two, 69, 2), [60.0, 180.0])
    # Before a year of history it cannot be formed: the recent mean stands in.
    assert methods.first_origin(methods.SEASONAL_LEVEL, 8) == 55
    assert methods.seasonal_level(y[:, :40], 39, 2).tolist() == [10.0]


def test_windows_step_back_four_weeks_over_the_last_year():
    assert backtest.origins(103, 8) == [95 - 4 * k for k in range(12)]
    # The oldest window's first week is a year before the week after the last one.
    assert backtest.origins(103, 8)[-1] + 1 == 104 - 52
    # A short history: as many as fit, each with as many weeks before it as it forecasts.
    assert backtest.origins(19, 8) == [11, 7]
    assert backtest.origins(14, 8) == []


def test_window_figures_are_wape_mape_bias_and_the_totals_wape():
    actual = np.array([[10.0, 0.0], [np.nan, 5.0]])  # product 2 not on sale in week 1
    forecast = np.array([[8.0, 1.0], [99.0, 10.0]])
    f = backtest.window_figures(actual, forecast)
    assert f["wape"] == pytest.approx((2 + 1 + 5) / 15)
    assert f["mape"] == pytest.approx((0.2 + 1.0) / 2)
    assert f["bias"] == pytest.approx(19 / 15 - 1)
    assert f["total_wape"] == pytest.approx((2 + 6) / 15)  # weeks: 8 vs 10, 11 vs 5


def test_the_model_publishes_only_when_it_beats_the_strongest_rival_on_every_window_mean():
    result = units.forecast_units(shop(2, 110), DAY, weeks=8)
    m = result.metrics
    assert m["windows"] == 12 and m["window_step_weeks"] == 4
    assert m["backtest_from"] == units.week_start(DAY, -51).isoformat()
    assert m["same_season_windows"] == 2
    assert set(m["rivals"]) == {"recent_mean", "seasonal_naive", "seasonal_level"}
    for figures in [*m["rivals"].values(), m["candidate"]]:
        assert figures["windows"] == 12
        assert 0 <= figures["wape"] < 1 and -1 <= figures["bias"] < 1
    strongest = min(m["rivals"], key=lambda n: m["rivals"][n]["wape"])
    assert m["baseline"]["name"] == strongest
    beats = m["candidate"]["wape"] < m["rivals"][strongest]["wape"]
    assert (m["published"]["name"] == "xgboost") == beats
    if not beats:
        assert m["published"]["name"] == strongest
    assert f"publishes {units.TITLES[m['published']['name']]}" in result.note
    assert "backtest WAPE over 12 windows of 8 weeks since" in result.note
    rows = result.rows
    assert rows.height == 12 * 8 * 4
    assert sorted(rows["model"].unique()) == [
        "recent_mean", "seasonal_level", "seasonal_naive", "xgboost"]
    assert rows["week_start"].unique().sort().to_list() == [
        units.week_start(DAY, h) for h in range(1, 9)
    ]
    assert (rows["units_forecast"] >= 0).all()
    # The forecast weeks run into the gift peak: what publishes expects more than the
    # recent level, as last year's weeks did.
    published = rows.filter(pl.col("model") == m["published"]["name"])
    peak = published.filter(pl.col("week_start") == date(2026, 12, 6))["units_forecast"].sum()
    first = published.filter(pl.col("week_start") == date(2026, 11, 1))["units_forecast"].sum()
    assert peak > 1.5 * first


def peaked_weeks(weeks: int, peak: float, growth: float, seed: int) -> list[float]:
    """Weekly units ending on `DAY`: a base of 200 a week growing by `growth` a year, Poisson
    noise, and `peak` more in the four weeks from the first Sunday of December."""
    rng = np.random.default_rng(seed)
    units_per_week = []
    for i in range(weeks):
        start = units.week_start(DAY, i - weeks + 1)
        base = 200.0 * (1 + growth) ** ((i - weeks + 1) / 52)
        in_peak = start.month == 12 and start.day <= 28
        units_per_week.append(float(rng.poisson(base * (1 + peak * in_peak))))
    return units_per_week


def weekly_lines(units_per_week: list[float], sku: str | None = None) -> pl.DataFrame:
    """One line per week (without a product id unless `sku`), on its first day, oldest
    first; the last week is week 0."""
    n = len(units_per_week)
    frame = lines_frame([
        (sku or "", units.week_start(DAY, i - n + 1), q) for i, q in enumerate(units_per_week)
    ])
    return frame if sku else without_skus(frame)


@pytest.mark.parametrize("weeks", [104, 120])
def test_a_yearly_peak_40_percent_above_the_base_is_followed_not_flattened(weeks):
    # Two years (the backtest cannot reach last December with a seasonal rival) and two
    # years and four months (it can): either way the published forecast rises over the
    # December weeks as last year's did, scaled by this year's level (10% growth).
    history = peaked_weeks(weeks, peak=0.4, growth=0.1, seed=weeks)
    result = units.forecast_units(weekly_lines(history), DAY)
    m = result.metrics
    published = (result.rows.filter(pl.col("model") == m["published"]["name"])
                 .sort("week_start")["units_forecast"].to_numpy())
    assert m["published"]["name"] != "recent_mean", result.note
    december = np.array([units.week_start(DAY, h).month == 12
                         and units.week_start(DAY, h).day <= 28 for h in range(1, 9)])
    ratio = published[december].mean() / published[~december].mean()
    assert 1.25 < ratio < 1.55, (ratio, result.note)
    # Last year's shape, this year's level: near 200 a week before December, 280 in it.
    assert published[~december].mean() == pytest.approx(200, rel=0.12)
    assert published[december].mean() == pytest.approx(280, rel=0.12)


def test_with_a_year_and_a_season_of_history_the_peak_is_followed_though_not_backtested():
    # 70 weeks: too few windows to backtest the seasonal level forecast, and the model's
    # basis is still the recent mean; the recent mean or the model wins the quiet windows.
    history = peaked_weeks(70, peak=0.4, growth=0.1, seed=1)
    result = units.forecast_units(weekly_lines(history), DAY)
    m = result.metrics
    assert m["windows"] == 3 and list(m["not_backtested"]) == ["seasonal_level"]
    assert m["published"] == {
        "name": "seasonal_level", "wape": None, "why": m["published"]["why"]}
    assert m["published"]["why"].endswith(
        "the backtest never reached those weeks a year ago; of the forecasts that follow last "
        "year this is not backtested (too little history)")
    published = (result.rows.filter(pl.col("model") == "seasonal_level")
                 .sort("week_start")["units_forecast"].to_numpy())
    december = np.array([units.week_start(DAY, h).month == 12
                         and units.week_start(DAY, h).day <= 28 for h in range(1, 9)])
    assert 1.25 < published[december].mean() / published[~december].mean() < 1.55


def test_without_a_season_ahead_the_backtests_choice_stands():
    history = peaked_weeks(104, peak=0.0, growth=0.0, seed=3)
    result = units.forecast_units(weekly_lines(history), DAY)
    m = result.metrics
    model_wins = m["candidate"]["wape"] < m["baseline"]["wape"]
    assert m["published"]["name"] == ("xgboost" if model_wins else m["baseline"]["name"]), (
        result.note)


def figures(**wapes: float) -> dict:
    return {name: {"wape": w, "total_wape": 0.1} for name, w in wapes.items()}


def test_the_choice_needs_the_model_to_beat_the_strongest_rival():
    result = backtest.Backtest(windows=[10, 6], figures=figures(
        xgboost=0.30, recent_mean=0.29, seasonal_naive=0.5))
    choice = backtest.choose(result, "xgboost", set(), {}, 20, 8)
    assert (choice.published, choice.strongest_rival) == ("recent_mean", "recent_mean")
    result.figures["xgboost"]["wape"] = 0.28
    choice = backtest.choose(result, "xgboost", set(), {}, 20, 8)
    assert choice.published == "xgboost"
    assert choice.why == "it beats the strongest rival, the mean of the last 13 weeks"


def season_backtest(windows: list[int], recent: list[float], level: list[float]
                    ) -> backtest.Backtest:
    per_window = {
        "recent_mean": [{"wape": w} for w in recent],
        "seasonal_level": [{"wape": w} for w in level],
    }
    return backtest.Backtest(
        windows=windows,
        figures={name: {"wape": float(np.mean([r["wape"] for r in rows])), "total_wape": 0.1}
                 for name, rows in per_window.items()},
        per_window=per_window,
    )


AHEAD = {"recent_mean": np.full(8, 100.0),
         "seasonal_level": np.array([100, 100, 120, 140, 140, 120, 100, 100.0])}


def test_a_forecast_blind_to_last_year_does_not_publish_over_a_season_the_backtest_never_saw():
    # last = 70: last year's weeks ahead are columns 19-26; the windows start at 40.
    result = season_backtest([62, 58, 54, 50, 46, 42], [0.2] * 6, [0.25] * 6)
    choice = backtest.choose(result, "xgboost", {"recent_mean"}, AHEAD, 70, 8)
    assert (choice.published, choice.strongest_rival) == ("seasonal_level", "recent_mean")
    assert "never reached those weeks a year ago" in choice.why
    assert ("depart from this year's level by 15% a week on average (up to 40%), more than the "
            "10% either forecast missed") in choice.why
    # Within either forecast's error on the weekly total, last year's weeks ahead are no season.
    result.figures["seasonal_level"]["total_wape"] = 0.16
    assert backtest.choose(result, "xgboost", {"recent_mean"}, AHEAD, 70, 8).published == (
        "recent_mean")


def test_over_a_season_the_backtest_reached_the_flat_forecast_must_have_won_there_too():
    # last = 103: last year's weeks ahead are 52-59, which the windows at 47, 51 and 55 overlap.
    windows = [95 - 4 * k for k in range(13)]
    lost_there = season_backtest(windows, [0.2] * 10 + [0.3, 0.4, 0.4], [0.25] * 13)
    choice = backtest.choose(lost_there, "xgboost", {"recent_mean"}, AHEAD, 103, 8)
    assert choice.published == "seasonal_level"
    assert "over those weeks a year ago (3 windows) it scored 0.367" in choice.why
    won_there = season_backtest(windows, [0.2] * 13, [0.25] * 13)
    choice = backtest.choose(won_there, "xgboost", {"recent_mean"}, AHEAD, 103, 8)
    assert choice.published == "recent_mean"
    assert "it also scored best over those weeks a year ago (3 windows)" in choice.why


def test_two_windows_of_last_years_season_do_not_vouch_for_a_flat_forecast():
    # Windows at 51 and 55 only: the flat forecast won there, on too little to judge it.
    windows = [95 - 4 * k for k in range(12)]
    won_there = season_backtest(windows, [0.2] * 12, [0.25] * 12)
    choice = backtest.choose(won_there, "xgboost", {"recent_mean"}, AHEAD, 103, 8)
    assert choice.published == "seasonal_level"
    assert ("the backtest reached those weeks a year ago in 2 windows, fewer than the 3 that "
            "judge a method") in choice.why


def test_a_short_history_gets_fewer_windows_and_no_seasonal_rival_and_says_why():
    result = units.forecast_units(shop(3, 30, skus=3), DAY, weeks=8)
    m = result.metrics
    assert result.rows["model"].unique().to_list() == ["recent_mean"]
    assert result.rows.height == 3 * 8
    # 30 weeks: windows at origins 21, 17, 13, 9 (each with 8 weeks before it).
    assert m["windows"] == 4 and set(m["rivals"]) == {"recent_mean"}
    assert m["published"]["name"] == "recent_mean" and m["season_known"] is False
    assert set(m["not_backtested"]) == {"seasonal_level", "seasonal_naive", "xgboost"}
    assert m["not_backtested"]["seasonal_naive"] == (
        "it needs 52 weeks of history before a window, which 0 of the 4 windows have, "
        "fewer than 3")
    assert "candidate" not in m
    assert result.note.startswith("forecast units per product (3 products); 30 weeks of "
                                  "history: backtest WAPE over 4 windows")
    assert "not backtested: last year's same weeks scaled by this year's level: it needs 56" \
        in result.note


def test_mape_refuses_a_backtest_without_sales():
    from pipelines.ml.metrics import mape

    with pytest.raises(ValueError):
        mape(np.zeros(4), np.ones(4))


def without_skus(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.with_columns(sku=pl.lit(None, dtype=pl.String))


def test_orders_without_product_ids_forecast_the_shops_total_units():
    lines = shop(2, 110)
    result = units.forecast_units(without_skus(lines), DAY, weeks=8)
    rows, m = result.rows, result.metrics
    assert rows["sku"].unique().to_list() == [units.ALL_PRODUCTS]
    assert rows.height == 8 * 4
    assert m["level"] == "total" and m["skus"] == 1 and m["history_weeks"] == 110
    assert result.note.startswith(
        "no product ids in the orders: forecast the shop's total units; 110 weeks of history: "
        "backtest WAPE over 12 windows"
    )
    # The one series is every product's units added up, week by week.
    _, per_product = units.weekly_units(lines, DAY)
    _, total = units.weekly_units(without_skus(lines).with_columns(sku=pl.lit("x")), DAY)
    np.testing.assert_allclose(total[0], np.nansum(per_product, axis=0))
    windows = [total[0, o + 1 : o + 9].sum() for o in backtest.origins(109, 8)]
    assert m["actual_units"] == pytest.approx(sum(windows))
    # Seasonality carries over to the total: the gift peak is forecast above the first week.
    published = rows.filter(pl.col("model") == m["published"]["name"])
    peak = published.filter(pl.col("week_start") == date(2026, 12, 6))["units_forecast"].item()
    first = published.filter(pl.col("week_start") == date(2026, 11, 1))["units_forecast"].item()
    assert peak > 1.5 * first


def test_a_short_total_history_gets_the_backtested_recent_mean_and_says_so():
    # 20 weeks: 11 of 10 units, one of 23, then 8 of 20.
    result = units.forecast_units(weekly_lines([10.0] * 11 + [23.0] + [20.0] * 8), DAY)
    m = result.metrics
    assert result.rows["model"].unique().to_list() == ["recent_mean"]
    assert result.rows["sku"].unique().to_list() == [units.ALL_PRODUCTS]
    # The mean of the 13 newest weeks: eight 20s, the 23 and four 10s ...
    assert result.rows["units_forecast"].to_list() == pytest.approx([(8 * 20 + 23 + 40) / 13] * 8)
    # ... backtested on two windows: from week 11 (its 12 weeks: 133/12) over eight 20s, and
    # from week 7 (8 weeks of 10) over three 10s, the 23 and four 20s.
    first = abs(20 - 133 / 12) / 20
    second = (3 * 0 + 13 + 4 * 10) / (30 + 23 + 80)
    assert m["windows"] == 2
    assert m["rivals"]["recent_mean"]["wape"] == pytest.approx((first + second) / 2)
    assert m["level"] == "total" and m["history_weeks"] == 20
    assert result.note.startswith(
        "no product ids in the orders: forecast the shop's total units; 20 weeks of history: "
        f"backtest WAPE over 2 windows of 8 weeks since {units.week_start(DAY, -11)}: "
        f"{m['rivals']['recent_mean']['wape']:.3f} for the mean of the last 13 weeks"
    )
    assert result.note.endswith("publishes the mean of the last 13 weeks: it scores best on "
                                "the backtest")


def test_a_history_too_short_to_backtest_says_so():
    result = units.forecast_units(weekly_lines([5.0] * 10), DAY)
    assert result.rows.height == 8 and result.metrics["windows"] == 0
    assert result.metrics["published"] == {"name": "recent_mean", "wape": None,
                                           "why": "nothing could be backtested"}
    assert "10 weeks of history: not backtested (too few weeks)" in result.note


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
    assert result.metrics["published"]["name"] == "recent_mean"


# Units sold in a week: none, or any amount up to 10,000 to the thousandth (what an order file
# holds; a week of 1e-308 units has no percentage error to speak of).
UNITS = st.one_of(st.just(0.0), st.floats(0, 1e4, allow_nan=False).map(lambda v: round(v, 3)))


def weeks_of(n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(UNITS, min_size=n, max_size=n)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 130).flatmap(weeks_of), min_size=1, max_size=3))
def test_forecasts_are_finite_and_never_negative_whatever_the_history(products):
    lines = pl.concat([weekly_lines(weeks, sku=f"P{i}") for i, weeks in enumerate(products)])
    result = units.forecast_units(lines, DAY)
    values = result.rows["units_forecast"].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    m = result.metrics
    assert m["published"]["name"] in set(result.rows["model"]) or result.rows.height == 0
    for figures in [*m["rivals"].values(), m.get("candidate", {"wape": 0.0})]:
        assert np.isfinite(figures["wape"]) and figures["wape"] >= 0
