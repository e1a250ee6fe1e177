"""The forecast section: the published forecast's chart (history, forecast, its 80% band,
last year's line) and its words: units ahead against the same weeks last year, the method,
why it publishes, and no band where the method could not be tried on enough past weeks."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

import polars as pl

from pipelines.report import forecast
from tests.unit.report_inputs import inputs, text

DAY = date(2026, 10, 31)


def weeks(low: float | None = 90.0, last_year: float | None = 80.0,
          model: str = "seasonal_level") -> pl.DataFrame:
    rows = []
    for w in range(-25, 9):
        start = DAY + timedelta(days=7 * w - 6)
        ahead = w > 0
        rows.append({
            "week_start": start, "week_end": start + timedelta(days=6), "is_forecast": ahead,
            "units_actual": None if ahead else 100.0, "units_forecast": 120.0 if ahead else None,
            "units_low": low if ahead else None,
            "units_high": (150.0 if low is not None else None) if ahead else None,
            "units_last_year": last_year, "model": model if ahead else None,
            "as_of_date": DAY})
    return pl.DataFrame(rows, schema_overrides={"units_low": pl.Float64,
                                                "units_high": pl.Float64,
                                                "units_last_year": pl.Float64})


def test_the_section_charts_history_forecast_band_and_last_year_and_says_the_change(settings):
    part = forecast.section(inputs(settings, {"reports.rpt_forecast_weekly": weeks()}))
    assert part.key == "forecast" and part.order == 75
    page = unescape(text(part.html))
    # 8 weeks of 120 against 8 of 80 a year earlier.
    headline = ("About 960 units expected over the 8 weeks from 01 Nov to 26 Dec 2026, 50% "
                "more than the same weeks last year (640).")
    assert headline in page and part.digest == (headline,)
    assert "90 to 150" in page and "should land inside it about 80% of the time" in page
    svg = str(part.html)
    for label in ("same week last year", "sold", "80% range", "forecast", "Units per week",
                  "Week starting"):
        assert f">{label}<" in svg
    assert "<path" in svg and 'id="forecast-units"' in svg


def test_without_a_band_or_last_year_the_words_say_so(settings):
    part = forecast.section(inputs(settings, {
        "reports.rpt_forecast_weekly": weeks(low=None, last_year=None, model="recent_mean")}))
    page = unescape(text(part.html))
    assert "About 960 units expected over the 8 weeks from 01 Nov to 26 Dec 2026." in page
    assert "last year" not in page.split("Forecast by")[0]
    assert "No range is shown" in page and "80% range" not in str(part.html)
    assert "Forecast by the mean of the last 13 weeks." in page


def test_no_forecast_weeks_is_nothing_to_show(settings):
    history = weeks().filter(~pl.col("is_forecast"))
    assert forecast.section(inputs(settings, {"reports.rpt_forecast_weekly": history})) is None
    assert forecast.section(inputs(settings, {})) is None
