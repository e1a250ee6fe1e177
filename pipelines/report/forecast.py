"""The forecast section: units expected in the next 8 weeks (ported from the old page; the
forecast helper replaces it with its chart)."""

from __future__ import annotations

import json

import polars as pl
from markupsafe import Markup

from pipelines.report.charts import bar_chart
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Forecast"

# Each forecast in plain words, as the report names the one it charts.
FORECAST_TITLES = {
    "xgboost": "the model (XGBoost correcting last year's same weeks scaled by this year's "
               "level, or the recent weekly mean before a year of history)",
    "seasonal_level": "last year's same weeks, scaled by how this year's sales compare with "
                      "last year's",
    "seasonal_naive": "the same week last year",
    "recent_mean": "the mean of the last 13 weeks",
}


def forecast_shown(forecast: pl.DataFrame, model_runs: pl.DataFrame, run_id: str
                   ) -> tuple[str, str, pl.DataFrame]:
    """The forecast that publishes (recorded in the run's `forecast_units` metrics as
    `published`, `chosen` in older runs): its name, why it publishes (in words, empty for
    older runs), and its weekly units over all products."""
    runs = model_runs.filter(pl.col("model") == "forecast_units")
    mine = runs.filter(pl.col("run_id") == run_id)
    latest = (mine if mine.height else runs.sort("as_of_date")).tail(1)
    figures = json.loads(latest.get_column("metrics")[0] or "{}") if latest.height else {}
    published = figures.get("published") or {}
    name = published.get("name") or figures.get("chosen")
    if name is None:  # a run from before the choice was recorded
        name = "xgboost" if "xgboost" in forecast.get_column("model").to_list() else "recent_mean"
    return (name, published.get("why") or "",
            forecast.filter(pl.col("model") == name).select("week_start", "units"))


def section(inputs: ReportInputs) -> Section | None:
    if not inputs.has("ml.forecast") or not inputs.has("ml.model_runs"):
        return None
    forecast = inputs.con.sql("select model, week_start, sum(units_forecast) as units "
                              "from ml.forecast group by 1, 2 order by 1, 2").pl()
    if forecast.is_empty():
        return None
    name, why, weekly = forecast_shown(forecast, inputs.table("ml.model_runs"), inputs.run_id)
    if weekly.is_empty():
        return None
    chart = Markup(bar_chart(
        [d.strftime("%d %b") for d in weekly.get_column("week_start")],
        weekly.get_column("units").to_list(),
        "Units expected per week (all products), by week start", value_format="{:,.0f}",
    ))
    html = render_part("forecast.html.j2", chart=chart,
                       method=FORECAST_TITLES.get(name, name), why=why)
    return Section(key="forecast", title="Units expected in the next 8 weeks", order=75,
                   html=html)
