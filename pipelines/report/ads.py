"""The report's ad section: where the next dollar goes, what the ads really converted, what to
refresh and whom to reach, the KPI worksheet's week against the week before, and what came of
the recommendations made two weeks ago. Read from the published warehouse."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from pipelines.report.plots.ads import budget_plan, campaign_returns
from pipelines.report.sections import Action, ReportInputs, Section, render_part

RECONCILE_DAYS = 28  # the campaign table covers the last four weeks of click days
SHOWN = 8  # rows per table


def read_ads(inputs: ReportInputs) -> dict[str, pl.DataFrame]:
    """The ad tables the section shows; empty frames for those the publication lacks (a shop
    without Meta Ads publishes none of them)."""
    logical_date = inputs.logical_date
    since = logical_date - timedelta(days=RECONCILE_DAYS - 1)
    queries = {
        "reports.rpt_budget_plan": (
            "plan", "select * from reports.rpt_budget_plan order by adset_name"),
        "marts.fct_ad_conversions": ("campaigns", f"""
            select campaign_name, any_value(currency) as currency,
                sum(spend) as spend, sum(platform_purchases) as platform_purchases,
                sum(reconciled_purchases) as reconciled_purchases,
                sum(platform_purchase_value) as platform_value,
                sum(reconciled_value) as reconciled_value,
                sum(gap_duplicates) as gap_duplicates,
                sum(gap_outside_window) as gap_outside_window,
                sum(gap_refunded_cancelled) as gap_refunded_cancelled,
                sum(gap_unmatched) as gap_unmatched
            from marts.fct_ad_conversions
            where date_day between date '{since}' and date '{logical_date}'
            group by campaign_name having sum(spend) > 0 or sum(reconciled_purchases) > 0
            order by spend desc"""),
        "reports.rpt_ad_creatives": (
            "creatives", "select * from reports.rpt_ad_creatives "
                         "where recommendation is not null order by expected_change desc"),
        "reports.rpt_ad_audience_suggestions": (
            "audiences", "select * from reports.rpt_ad_audience_suggestions "
                         "order by expected_change desc nulls last"),
        "reports.rpt_kpi_worksheet": (
            "worksheet", "select * from reports.rpt_kpi_worksheet where is_complete_week"),
        "reports.rpt_ad_recommendation_review": (
            "review", "select * from reports.rpt_ad_recommendation_review "
                      "order by recommended_on desc, source, subject_name"),
    }
    return {key: (inputs.con.sql(sql).pl() if inputs.has(table) else pl.DataFrame())
            for table, (key, sql) in queries.items()}


def _money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "n/a"
    sign = "-" if amount < 0 else ""
    # Cents only where they matter: a small shop moves a few dollars a day.
    digits = 0 if abs(amount) >= 100 else 2
    return f"{sign}{currency or ''} {abs(amount):,.{digits}f}".strip()


def moves_money(plan: pl.DataFrame) -> bool:
    """Whether the plan moves any budget (a cent or more a day on some ad set)."""
    if plan.is_empty():
        return False
    change = pl.col("budget_change").cast(pl.Float64).abs()
    return plan.filter(pl.col("status") != "kept", change >= 0.01).height > 0


def plan_headline(plan: pl.DataFrame) -> str | None:
    """The plan in one sentence: how much moves from which ad sets to which, and what it is
    expected to bring per week with its 80% interval; None without a plan."""
    if plan.is_empty():
        return None
    currency = plan.get_column("currency").drop_nulls().first()
    moved = plan.filter(pl.col("status") != "kept").with_columns(
        change=pl.col("budget_change").cast(pl.Float64))
    raised = moved.filter(pl.col("change") >= 0.01).sort("change", descending=True)
    cut = moved.filter(pl.col("change") <= -0.01).sort("change")
    row = plan.row(0, named=True)
    gain = float(row["plan_value_change"] or 0)
    low, high = float(row["plan_value_low"] or 0), float(row["plan_value_high"] or 0)
    if raised.is_empty() and cut.is_empty():
        return "Keep today's ad set budgets: no move within your bounds is expected to pay."
    names = lambda f: ", ".join(f.get_column("adset_name").to_list())  # noqa: E731
    amount = max(float(raised["change"].sum()), -float(cut["change"].sum()))
    source = f" from {names(cut)}" if not cut.is_empty() else ""
    target = f" to {names(raised)}" if not raised.is_empty() else ""
    return (f"Move {_money(amount, currency)}/day{source}{target}: "
            f"{'+' if gain >= 0 else ''}{_money(gain, currency)}/week in value expected "
            f"(80% interval {_money(low, currency)} to {_money(high, currency)}).")


def kpi_weeks(worksheet: pl.DataFrame) -> list[dict]:
    """Each KPI of the last complete week beside the week before, with its target and
    definition, paid and email channels first."""
    if worksheet.is_empty():
        return []
    weeks = worksheet.get_column("week_start").unique().sort()
    last = weeks[-1]
    before = weeks[-2] if len(weeks) > 1 else None
    now = worksheet.filter(pl.col("week_start") == last)
    prev = (worksheet.filter(pl.col("week_start") == before)
            .select("channel", "kpi", pl.col("kpi_value").alias("previous")))
    rows = now.join(prev, on=["channel", "kpi"], how="left").sort("channel", "kpi_order")
    return [
        {
            "week": str(r["week_start"]), "channel": r["channel"], "label": r["label"],
            "value": _format(r["kpi_value"], r["unit"]),
            "previous": _format(r["previous"], r["unit"]),
            "target": _format(r["target"], r["unit"]),
            "meets": r["meets_target"], "definition": r["definition"],
        }
        for r in rows.iter_rows(named=True)
    ]


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    value = float(value)
    if unit == "share":
        return f"{value:.1%}"
    if unit in ("count", "people"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def ads_context(data: dict[str, pl.DataFrame]) -> dict | None:
    """What the template shows, plain words first; None when the shop has no ad tables."""
    if all(frame.is_empty() for frame in data.values()):
        return None
    plan, campaigns = data["plan"], data["campaigns"]
    budget_rows = (plan.filter(pl.col("status") != "kept").to_dicts()
                   + plan.filter(pl.col("status") == "kept").to_dicts())
    return {
        "headline": plan_headline(plan),
        "budget": budget_rows,
        "campaigns": campaigns.to_dicts(),
        "reconcile_days": RECONCILE_DAYS,
        "creatives": data["creatives"].head(SHOWN).to_dicts(),
        "audiences": data["audiences"].head(SHOWN).to_dicts(),
        "kpis": kpi_weeks(data["worksheet"]),
        "review": data["review"].head(2 * SHOWN).to_dicts(),
    }


TITLE = "Ads"


def charts(data: dict[str, pl.DataFrame], logical_date) -> dict:
    """The budget plan by ad set ("budget"), and spend and return by campaign over the
    reconciliation window ("campaigns"); None where there is nothing to draw. The tables
    under them list every figure."""
    drawn: dict = {"budget": None, "campaigns": None}
    plan = data["plan"]
    if not plan.is_empty():
        ordered = pl.concat([plan.filter(pl.col("status") != "kept"),
                             plan.filter(pl.col("status") == "kept")])
        drawn["budget"] = budget_plan(ordered.head(2 * SHOWN))
    campaigns = data["campaigns"]
    if not campaigns.is_empty():
        since = logical_date - timedelta(days=RECONCILE_DAYS - 1)
        drawn["campaigns"] = campaign_returns(
            campaigns.head(2 * SHOWN),
            period=f"click days {since:%d %b} to {logical_date:%d %b %Y}")
    return drawn


def section(inputs: ReportInputs) -> Section | None:
    data = read_ads(inputs)
    ads = ads_context(data)
    if ads is None:
        return None
    headline = ads["headline"]
    # An action is something to do: only a plan that moves money is one.
    actions = ((Action(headline, link="#ads", rank=20),)
               if headline and moves_money(data["plan"]) else ())
    return Section(key="ads", title="Ads: where the next dollar goes", order=60,
                   html=render_part("ads.html.j2", ads=ads,
                                    charts=charts(data, inputs.logical_date)),
                   actions=actions, digest=(headline,) if headline else ())
