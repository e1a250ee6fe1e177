"""Ad charts: spend and return by campaign, today's and the recommended budget by ad set."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.report.plots.customers import short_label
from pipelines.report.svg import (
    ACCENT,
    BEFORE,
    THIS,
    Chart,
    figure,
    headline,
    money_axis,
    rows_down,
    short_number,
    to_svg,
)


def one_currency(frame: pl.DataFrame) -> str | None:
    """The frame's one currency; None when it has none or several (the axis says mixed)."""
    found = frame.get_column("currency").drop_nulls().unique().to_list()
    return found[0] if len(found) == 1 else None


def campaign_returns(campaigns: pl.DataFrame, *, period: str,
                     chart_id: str = "ads-campaigns") -> Chart:
    """`campaigns` (campaign_name, currency, spend, platform_value, reconciled_value) as two
    panels: spend, and return on it as Meta counts it and as the shop's orders confirm it."""
    spend = [float(v or 0) for v in campaigns["spend"]]
    # Without spend there is no return to show: no bar and "no spend", never a ROAS of 0.
    shop = [float(v or 0) / s if s else np.nan
            for v, s in zip(campaigns["reconciled_value"], spend, strict=True)]
    meta = [float(v or 0) / s if s else np.nan
            for v, s in zip(campaigns["platform_value"], spend, strict=True)]
    labels = [short_label(str(n), 30) for n in campaigns["campaign_name"]]
    y = np.arange(len(labels))
    fig, (left, right) = figure(7.0, 1.2 + 0.4 * len(labels), ncols=2)
    left.barh(y, spend, color=BEFORE)
    right.barh(y - 0.2, shop, height=0.38, color=THIS, label="Shop's orders (reconciled)")
    right.barh(y + 0.2, meta, height=0.38, color=ACCENT, label="Meta's count")
    right.axvline(1.0, color="#333333", linewidth=0.8, linestyle=":")
    for i in range(len(labels)):
        left.text(spend[i], i, f" {short_number(spend[i])}", va="center", fontsize=7.5)
        if np.isnan(shop[i]):
            right.text(0, i, " no spend", va="center", fontsize=7.5, color=BEFORE)
        else:
            right.text(shop[i], i - 0.2, f" {shop[i]:.2f}", va="center", fontsize=7.5)
    left.set_yticks(y, labels)
    right.set_yticks(y, [""] * len(labels))
    for ax in (left, right):
        rows_down(ax)
    left.set_xlim(0, max([*spend, 1]) * 1.3)
    right.set_xlim(0, np.nanmax([*shop, *meta, 1.2]) * 1.2)
    headline(fig, f"Spend and return by campaign, {period}")
    left.set_title("Spend", fontsize=9.5)
    right.set_title("Return on ad spend (ROAS)", fontsize=9.5)
    left.set_xlabel("Spend")
    left.set_ylabel("Campaign")
    money_axis(left, one_currency(campaigns), axis="x")
    right.set_xlabel("Purchase value per unit spent (1 = money back)")
    right.yaxis.set_visible(False)
    fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return to_svg(fig, chart_id)


def budget_plan(plan: pl.DataFrame, *, chart_id: str = "ads-budget") -> Chart:
    """`plan` (adset_name, currency, current_daily_budget, recommended_daily_budget), in the
    order given: today's and the recommended daily budget side by side per ad set."""
    today = [float(v or 0) for v in plan["current_daily_budget"]]
    planned = [float(v or 0) for v in plan["recommended_daily_budget"]]
    labels = [short_label(str(n), 30) for n in plan["adset_name"]]
    y = np.arange(len(labels))
    fig, ax = figure(7.0, 1.1 + 0.42 * len(labels))
    ax.barh(y - 0.2, today, height=0.38, color=BEFORE, label="Today")
    ax.barh(y + 0.2, planned, height=0.38, color=THIS, label="Recommended")
    for i in range(len(labels)):
        change = planned[i] - today[i]
        said = f" {short_number(planned[i])}" + (
            f" ({'+' if change > 0 else '-'}{short_number(abs(change))})"
            if abs(change) >= 0.01 else "")
        ax.text(planned[i], i + 0.2, said, va="center", fontsize=7.5)
    rows_down(ax, labels)
    ax.set_xlim(0, max([*today, *planned, 1]) * 1.3)
    headline(fig, "Daily budget by ad set: today and recommended")
    ax.set_xlabel("Budget per day")
    ax.set_ylabel("Ad set")
    money_axis(ax, one_currency(plan), axis="x")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return to_svg(fig, chart_id)
