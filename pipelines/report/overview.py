"""The overview section: each KPI of the last full week against the week before and the same
week last year (reports.rpt_weekly_kpis), then the figures to date."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.sections import ReportInputs, Section, money, render_part

# KPIs whose rise is neither good nor bad in itself (spend): their arrow is not coloured.
NEUTRAL = {"ad_spend"}


def figure(value: float | None, unit: str) -> str:
    """A KPI's value in its unit: money with its ISO code, counts whole, shares as %."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "count":
        return f"{value:,.0f}"
    return money(value, unit)


def change(now: float | None, before: float | None, unit: str) -> dict | None:
    """How `now` moved from `before`: the arrow, the words ("+12%", "-1.5 pts") and the
    direction; None when either is unknown, or for a relative change from nothing."""
    if now is None or before is None:
        return None
    if unit == "share":  # a change of a rate is in points, not a percentage of a percentage
        delta = 100 * (now - before)
        words = f"{delta:+.1f} pts"
    elif before == 0:  # a change from nothing has no size
        return None
    else:
        delta = (now - before) / abs(before)
        words = f"{delta:+.0%}"
    if round(delta, 3) == 0:
        return {"arrow": "=", "words": "no change", "direction": "flat"}
    return {"arrow": "▲" if delta > 0 else "▼", "words": words,
            "direction": "up" if delta > 0 else "down"}


def week_words(start: date) -> str:
    """"19–25 Oct 2026" (the ISO week from its Monday)."""
    end = start + timedelta(days=6)
    first = f"{start.day} {start:%b}" if start.year != end.year else (
        f"{start.day}" if start.month == end.month else f"{start.day} {start:%b}")
    if start.year != end.year:
        first += f" {start.year}"
    return f"{first}–{end.day} {end:%b %Y}"


def weekly_cards(kpis: pl.DataFrame) -> tuple[list[dict], date | None]:
    """One card per KPI for the last complete week: value, change on the week before, the
    same week last year, definition; and that week's Monday (None without a complete week)."""
    complete = kpis.filter(pl.col("is_complete_week"))
    if complete.is_empty():
        return [], None
    week = complete.get_column("week_start").max()
    before = week - timedelta(days=7)
    now = complete.filter(pl.col("week_start") == week)
    prev = complete.filter(pl.col("week_start") == before).select(
        "kpi", pl.col("value").alias("previous"))
    cards = []
    for row in now.join(prev, on="kpi", how="left").sort("kpi_order").iter_rows(named=True):
        unit = row["unit"]
        moved = change(row["value"], row["previous"], unit)
        if moved and row["kpi"] in NEUTRAL:
            moved["direction"] = "flat"
        last_year = row["value_last_year"]
        cards.append({
            "kpi": row["kpi"], "label": row["label"], "definition": row["definition"],
            "value": figure(row["value"], unit), "previous": figure(row["previous"], unit),
            "change": moved,
            "last_year": None if last_year is None else figure(last_year, unit),
            "last_year_change": change(row["value"], last_year, unit),
        })
    return cards, week

TITLE = "Overview"


def sales_kpis(sales: pl.DataFrame, customers: pl.DataFrame) -> dict:
    """Revenue to date in the reporting currency (every order, guest checkouts included) and
    the guest checkouts' share of it; `converted` is False when some orders have no exchange
    rate, and then revenue is None (shown per currency instead). Without the sales table, the
    customers' revenue (which leaves guests out)."""
    if sales.is_empty() or sales.get_column("orders")[0] is None:
        revenue = float(customers.get_column("revenue").cast(pl.Float64).sum() or 0)
        return {"revenue": revenue, "converted": True, "guest_orders": 0, "guest_share": None,
                "credit_notes": 0}
    row = sales.row(0, named=True)
    if row["unconverted"]:
        return {"revenue": None, "converted": False, "guest_orders": int(row["guest_orders"]),
                "guest_share": None, "credit_notes": int(row["credit_notes"] or 0)}
    revenue = float(row["revenue"] or 0)
    return {
        "revenue": revenue,
        "converted": True,
        "guest_orders": int(row["guest_orders"] or 0),
        # A share of nothing (or of a loss) says nothing.
        "guest_share": float(row["guest_revenue"] or 0) / revenue if revenue > 0 else None,
        "credit_notes": int(row["credit_notes"] or 0),
    }


def _sales(inputs: ReportInputs) -> pl.DataFrame:
    """Sales to date from `reports.rpt_daily_sales` (empty without it). Revenue is added across
    currencies only in the reporting currency, and only when every day and currency converted
    (`unconverted` counts those that did not)."""
    if not inputs.has("reports.rpt_daily_sales"):
        return pl.DataFrame()
    return inputs.con.sql(
        "select cast(sum(revenue_reporting) as double) as revenue, "
        "cast(sum(guest_revenue_reporting) as double) as guest_revenue, "
        "sum(orders) as orders, sum(guest_orders) as guest_orders, "
        "sum(credit_notes) as credit_notes, "
        "count(*) filter (where revenue_reporting is null) as unconverted "
        "from reports.rpt_daily_sales"
    ).pl()


def revenue_by_currency(inputs: ReportInputs) -> pl.DataFrame:
    """Revenue to date per currency, by the rule of `sales_kpis` (every order, from
    `reports.rpt_daily_sales`; without it the customers' orders): amounts in different
    currencies are never added."""
    source = (
        "reports.rpt_daily_sales" if inputs.has("reports.rpt_daily_sales")
        else "(select currency, amount - refunded_amount as revenue from marts.fct_orders "
             "where not is_cancelled and customer_key is not null)"
    )
    return inputs.con.sql(
        f"select currency, cast(sum(revenue) as double) as revenue from {source} "
        "group by 1 order by 1"
    ).pl()


def section(inputs: ReportInputs) -> Section | None:
    customers = inputs.table("marts.dim_customers")
    if customers is None:
        return None
    all_scores = inputs.table(SCORES_TABLE)
    if all_scores is None:
        all_scores = pl.DataFrame(schema={"model": pl.String, "score": pl.Float64})
    scores = all_scores.filter(pl.col("model") == "churn")
    kpis = {
        "customers": customers.height,
        "buyers": customers.filter(pl.col("orders_count") > 0).height,
        "emailable": customers.filter(pl.col("is_emailable")).height,
        **sales_kpis(_sales(inputs), customers),
        "scored": scores.height,
        "mean_churn": float(scores.get_column("score").mean() or 0),
        "predicted_value": float(
            all_scores.filter(pl.col("model") == "ltv").get_column("score").sum() or 0),
    }
    by_currency = (revenue_by_currency(inputs)
                   if inputs.has("reports.rpt_daily_sales") or inputs.has("marts.fct_orders")
                   else pl.DataFrame(schema={"currency": pl.String, "revenue": pl.Float64}))
    weekly = inputs.table("reports.rpt_weekly_kpis")
    cards, week = weekly_cards(weekly) if weekly is not None else ([], None)
    html = render_part(
        "overview.html.j2", kpis=kpis, currency=inputs.currency,
        revenue_by_currency=by_currency.to_dicts(), cards=cards,
        week=week_words(week) if week else None,
        before=week_words(week - timedelta(days=7)) if week else None)
    return Section(key="overview", title="This week against last", order=10, html=html,
                   digest=tuple(_headline(card, week) for card in cards
                                if card["kpi"] in ("revenue", "orders")))


def _headline(card: dict, week: date) -> str:
    moved = card["change"]
    versus = f", {moved['words']} on the week before" if moved else ""
    return f"{card['label']} in the week of {week_words(week)}: {card['value']}{versus}."
