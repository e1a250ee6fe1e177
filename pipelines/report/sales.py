"""The sales section: revenue and orders by week against the same weeks a year earlier, and
new against returning customers, from `reports.rpt_weekly_kpis` (complete weeks only)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from pipelines.report.plots.sales import against_last_year, new_and_returning
from pipelines.report.sections import ReportInputs, Section, money, number, render_part

TITLE = "Sales by week"
WEEKS = 52  # a year of weeks: the season shows, and each has last year's beside it
KPIS = ("revenue", "orders", "new_customers", "returning_customers")


def complete_weeks(kpis: pl.DataFrame, logical_date, weeks: int = WEEKS) -> pl.DataFrame:
    """The last `weeks` weeks that ended by `logical_date`, one column per KPI of KPIS (and
    `<kpi>_last_year`), oldest first; `unit` holds revenue's currency."""
    # The model says which weeks are complete; a publication without the column, by the
    # same rule (the week's Sunday is on or before the report's date).
    complete = (pl.col("is_complete_week") if "is_complete_week" in kpis.columns
                else pl.col("week_start") <= logical_date - timedelta(days=6))
    done = kpis.filter(pl.col("kpi").is_in(KPIS), complete)
    if done.is_empty():
        return pl.DataFrame()
    last = sorted(done["week_start"].unique().to_list())[-weeks:]
    done = done.filter(pl.col("week_start").is_in(last))
    wide = done.pivot(on="kpi", index="week_start", values=["value", "value_last_year"])
    wide = wide.rename({c: _name(c) for c in wide.columns if c != "week_start"})
    for kpi in KPIS:
        for column in (kpi, f"{kpi}_last_year"):
            if column not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64).alias(column))
    currency = done.filter(pl.col("kpi") == "revenue")["unit"].drop_nulls()
    return wide.sort("week_start").with_columns(
        unit=pl.lit(currency[0] if currency.len() else None, pl.String))


def _name(pivoted: str) -> str:
    # polars names pivoted columns "<values>_<kpi>": value_revenue, value_last_year_revenue.
    if pivoted.startswith("value_last_year_"):
        return pivoted.removeprefix("value_last_year_") + "_last_year"
    return pivoted.removeprefix("value_")


def change(now: float | None, before: float | None) -> str:
    """'+8% on the same week last year', or '' when last year is unknown or nothing."""
    if now is None or not before:
        return ""
    return f"{(now - before) / abs(before):+.0%} on the same week last year"


def headline(weeks: pl.DataFrame) -> str:
    """The last complete week in one sentence."""
    row = weeks.row(-1, named=True)
    parts = [f"Week of {row['week_start']:%d %b %Y}: revenue "
             f"{money(row['revenue'], row['unit'])}"]
    said = change(row["revenue"], row["revenue_last_year"])
    parts[0] += f" ({said})" if said else ""
    orders = row["orders"]
    count = "n/a" if orders is None else number(orders)
    orders_said = change(orders, row["orders_last_year"])
    noun = "order" if orders == 1 else "orders"
    parts.append(f"{count} {noun}" + (f" ({orders_said})" if orders_said else ""))
    return ", ".join(parts) + "."


def section(inputs: ReportInputs) -> Section | None:
    kpis = inputs.table("reports.rpt_weekly_kpis")
    if kpis is None:
        return None
    weeks = complete_weeks(kpis, inputs.logical_date)
    if weeks.is_empty():
        return None
    currency = weeks["unit"][0] or inputs.currency
    span = (f"the {weeks.height} weeks from {weeks['week_start'][0]:%d %b %Y} "
            f"to the week of {weeks['week_start'][-1]:%d %b %Y}")

    def series(kpi: str) -> pl.DataFrame:
        return weeks.select("week_start", value=pl.col(kpi),
                            value_last_year=pl.col(f"{kpi}_last_year"))

    charts = [
        against_last_year(series("revenue"), title="Revenue by week, returns deducted",
                          axis_title="Revenue", currency=currency, money=True,
                          chart_id="sales-revenue"),
        against_last_year(series("orders"), title="Orders by week", axis_title="Orders",
                          currency=currency, money=False, chart_id="sales-orders"),
        new_and_returning(weeks, title="Customers who ordered: new and returning, by week",
                          chart_id="sales-customers"),
    ]
    said = headline(weeks)
    return Section(key="sales", title=TITLE, order=20,
                   html=render_part("sales.html.j2", headline=said, span=span, charts=charts),
                   digest=(said,))
