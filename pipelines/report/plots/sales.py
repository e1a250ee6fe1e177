"""Sales charts: a KPI by week against the same weeks a year earlier; new and returning
customers by week."""

from __future__ import annotations

import polars as pl
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from pipelines.report.svg import BEFORE, THIS, Chart, figure, money_axis, to_svg

WEEK_AXIS = "Week starting (Monday)"


def _date_axis(ax) -> None:
    locator = AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))


def against_last_year(weeks: pl.DataFrame, *, title: str, axis_title: str,
                      currency: str | None, money: bool, chart_id: str) -> Chart:
    """`weeks` (week_start, value, value_last_year) as this year's line against last year's
    dashed one; `money` draws the axis in `currency`."""
    fig, ax = figure(7.0, 2.8)
    ax.plot(weeks["week_start"].to_list(), weeks["value"].to_list(), color=THIS,
            marker="o", markersize=3, label="This year")
    last = weeks.filter(pl.col("value_last_year").is_not_null())
    if last.height:
        ax.plot(last["week_start"].to_list(), last["value_last_year"].to_list(), color=BEFORE,
                linestyle="--", label="Same week a year earlier")
    ax.set_title(title)
    ax.set_xlabel(WEEK_AXIS)
    ax.set_ylabel(axis_title)
    ax.set_ylim(bottom=min(0, *(weeks["value"].drop_nulls().to_list() or [0])))
    if money:
        money_axis(ax, currency)
    _date_axis(ax)
    ax.legend(loc="best")
    return to_svg(fig, chart_id)


def new_and_returning(weeks: pl.DataFrame, *, title: str, chart_id: str) -> Chart:
    """`weeks` (week_start, new_customers, returning_customers) as stacked bars."""
    fig, ax = figure(7.0, 2.6)
    days = weeks["week_start"].to_list()
    new = weeks["new_customers"].fill_null(0).to_list()
    returning = weeks["returning_customers"].fill_null(0).to_list()
    ax.bar(days, returning, width=5, color=THIS, label="Returning customers")
    ax.bar(days, new, width=5, bottom=returning, color="#E69F00", label="New customers")
    ax.set_title(title)
    ax.set_xlabel(WEEK_AXIS)
    ax.set_ylabel("Customers who ordered")
    tallest = max((a + b for a, b in zip(new, returning, strict=True)), default=0)
    ax.set_ylim(0, max(tallest, 1) * 1.3)  # room for the legend above the bars
    _date_axis(ax)
    ax.legend(loc="upper left", ncols=2)
    return to_svg(fig, chart_id)
