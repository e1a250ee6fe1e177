"""The overview section: the headline figures, first on the page."""

from __future__ import annotations

import polars as pl

from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.sections import ReportInputs, Section, render_part

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
    html = render_part("overview.html.j2", kpis=kpis, currency=inputs.currency,
                       revenue_by_currency=by_currency.to_dicts())
    return Section(key="overview", title="Overview", order=10, html=html)
