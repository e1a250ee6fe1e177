"""The forecast section: the published units forecast for the weeks ahead at the shop's total,
charted with the last 26 weeks, its 80% interval and last year's same weeks
(`reports.rpt_forecast_weekly`), and the method and why it publishes in words (the forecast
step's record in `ml.model_runs`)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from pipelines.report import svg
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Units forecast"
TABLE = "reports.rpt_forecast_weekly"

# Each forecast in plain words, as the report names the one it charts.
FORECAST_TITLES = {
    "xgboost": "the model (XGBoost correcting last year's same weeks scaled by this year's "
               "level, or the recent weekly mean before a year of history)",
    "seasonal_level": "last year's same weeks, scaled by how this year's sales compare with "
                      "last year's",
    "seasonal_naive": "the same week last year",
    "recent_mean": "the mean of the last 13 weeks",
}


def published(model_runs: pl.DataFrame | None, run_id: str) -> dict:
    """The forecast step's record of the run (the newest one when this run has none): its
    figures as recorded, `{}` without one."""
    if model_runs is None:
        return {}
    runs = model_runs.filter(pl.col("model") == "forecast_units")
    mine = runs.filter(pl.col("run_id") == run_id)
    latest = (mine if mine.height else runs.sort("as_of_date")).tail(1)
    if not latest.height:
        return {}
    return json.loads(latest.get_column("metrics")[0] or "{}")


def chart(weeks: pl.DataFrame, logical_date: date) -> svg.Chart:
    """History, forecast with its band, and last year's same weeks, units per week."""
    history = weeks.filter(~pl.col("is_forecast") & pl.col("units_actual").is_not_null())
    ahead = weeks.filter(pl.col("is_forecast"))
    last_year = weeks.filter(pl.col("units_last_year").is_not_null())
    fig, ax = svg.figure(7.0, 3.2)
    if last_year.height:
        ax.plot(last_year["week_start"].to_list(), last_year["units_last_year"].to_list(),
                color=svg.BEFORE, linewidth=1.2, label="same week last year")
    ax.plot(history["week_start"].to_list(), history["units_actual"].to_list(),
            color=svg.THIS, label="sold")
    banded = ahead.filter(pl.col("units_low").is_not_null())
    if banded.height:
        ax.fill_between(banded["week_start"].to_list(), banded["units_low"].to_list(),
                        banded["units_high"].to_list(), color=svg.ACCENT, alpha=0.18,
                        linewidth=0, label="80% range")
    # The forecast line starts at the last week sold, so the two read as one series.
    joined = pl.concat([history.tail(1).select("week_start", units="units_actual"),
                        ahead.select("week_start", units="units_forecast")])
    ax.plot(joined["week_start"].to_list(), joined["units"].to_list(), color=svg.ACCENT,
            linestyle="--", label="forecast")
    ax.axvline(logical_date, color="#bbbbbb", linewidth=0.8)
    ax.set_title("Units sold per week, and the weeks ahead")
    ax.set_xlabel("Week starting")
    ax.set_ylabel("Units per week")
    ax.yaxis.set_major_formatter(svg.FuncFormatter(lambda v, _p: svg.short_number(v)))
    # Head room for the legend above the highest line.
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.legend(loc="upper left", ncols=4)
    fig.autofmt_xdate()
    return svg.to_svg(fig, "forecast-units")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(weeks: pl.DataFrame) -> dict:
    """The figures the words say: units ahead, the same weeks last year, the change, and the
    weekly ranges."""
    ahead = weeks.filter(pl.col("is_forecast")).sort("week_start")
    total = float(ahead["units_forecast"].sum())
    known = ahead["units_last_year"].is_not_null().all() and ahead.height > 0
    last_year = float(ahead["units_last_year"].sum()) if known else None
    change = (total / last_year - 1.0) if last_year else None
    ranged = ahead.filter(pl.col("units_low").is_not_null())
    return {
        "weeks": ahead.height,
        "first": ahead["week_start"].min(),
        "last": ahead["week_end"].max(),
        "units": total,
        "last_year": last_year,
        "change": change,
        "peak_week": (ahead.sort("units_forecast").tail(1)["week_start"][0]
                      if ahead.height else None),
        "ranges": [
            {"week": r["week_start"], "units": r["units_forecast"], "low": r["units_low"],
             "high": r["units_high"], "last_year": r["units_last_year"]}
            for r in ahead.iter_rows(named=True)
        ],
        "has_ranges": ranged.height == ahead.height and ahead.height > 0,
    }


def section(inputs: ReportInputs) -> Section | None:
    weeks = inputs.table(TABLE)
    if weeks is None or weeks.filter(pl.col("is_forecast")).is_empty():
        return None
    weeks = weeks.sort("week_start")
    facts = summary(weeks)
    figures = published(inputs.table("ml.model_runs"), inputs.run_id)
    model = weeks.filter(pl.col("is_forecast"))["model"][0]
    method = FORECAST_TITLES.get(model, model)
    why = (figures.get("published") or {}).get("why") or ""
    period = f"{facts['first']:%d %b} to {facts['last']:%d %b %Y}"
    headline = (f"About {facts['units']:,.0f} units expected over the "
                f"{_plural(facts['weeks'], 'week')} from {period}")
    if facts["change"] is not None:
        direction = "more" if facts["change"] >= 0 else "fewer"
        headline += (f", {abs(facts['change']):.0%} {direction} than the same weeks last year "
                     f"({facts['last_year']:,.0f})")
    headline += "."
    analysts = {
        "windows": figures.get("windows"),
        "backtest_from": figures.get("backtest_from"),
        "wape": (figures.get("published") or {}).get("wape"),
        "note": figures.get("interval", {}).get("errors"),
    }
    html = render_part("forecast.html.j2", chart=chart(weeks, inputs.logical_date),
                       headline=headline, method=method, why=why, facts=facts,
                       analysts=analysts)
    return Section(key="forecast", title=f"Units expected in the next {facts['weeks']} weeks",
                   order=75, html=html, digest=(headline,))
