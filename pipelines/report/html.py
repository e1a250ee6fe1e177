"""Build `reports/<date>/index.html` from the published warehouse and the day's exports."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import polars as pl
from jinja2 import Environment, FileSystemLoader

from pipelines import coverage as data_coverage
from pipelines.config import Settings
from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.ads import ads_context, read_ads
from pipelines.report.charts import bar_chart
from pipelines.report.experiments import experiments_context, read_experiments
from pipelines.report.personalisation import personalisation_context, read_personalisation
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent


REPORTING_CURRENCY_SQL = "select min(reporting_currency) as currency from marts.fct_orders"


def _read(settings: Settings) -> dict[str, pl.DataFrame]:
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        return {
            "customers": con.sql("select * from marts.dim_customers").pl(),
            "scores": con.sql(f"select * from {SCORES_TABLE}").pl(),
            "model_runs": con.sql("select * from ml.model_runs").pl(),
            "forecast": con.sql("select model, week_start, sum(units_forecast) as units "
                                "from ml.forecast group by 1, 2 order by 1, 2").pl(),
            "revenue_by_currency": _revenue_by_currency(con),
            "runs": con.sql("select run_id, tables from meta.runs "
                            "order by published_at desc limit 1").pl(),
            "personas": _personas(con),
            # The currency customer money (revenue, lifetime value, personas) is in.
            "reporting_currency": con.sql(REPORTING_CURRENCY_SQL).pl(),
            "sales": _sales(con),
        }
    finally:
        con.close()


def _sales(con) -> pl.DataFrame:
    """Sales to date from `reports.rpt_daily_sales`, guest checkouts included (empty when the
    publication has no such table)."""
    found = con.sql(
        "select count(*) from information_schema.tables "
        "where table_schema = 'reports' and table_name = 'rpt_daily_sales'"
    ).fetchall()[0][0]
    if not found:
        return pl.DataFrame()
    # Revenue is added across currencies only in the reporting currency, and only when every
    # day and currency converted (`unconverted` counts those that did not).
    return con.sql(
        "select cast(sum(revenue_reporting) as double) as revenue, "
        "cast(sum(guest_revenue_reporting) as double) as guest_revenue, "
        "sum(orders) as orders, sum(guest_orders) as guest_orders, "
        "sum(credit_notes) as credit_notes, "
        "count(*) filter (where revenue_reporting is null) as unconverted "
        "from reports.rpt_daily_sales"
    ).pl()


def _revenue_by_currency(con) -> pl.DataFrame:
    """Revenue to date per currency, by the rule of `sales_kpis` (every order, from
    `reports.rpt_daily_sales`; without it the customers' orders): amounts in different
    currencies are never added."""
    found = con.sql(
        "select count(*) from information_schema.tables "
        "where table_schema = 'reports' and table_name = 'rpt_daily_sales'"
    ).fetchall()[0][0]
    source = (
        "reports.rpt_daily_sales" if found
        else "(select currency, amount - refunded_amount as revenue from marts.fct_orders "
             "where not is_cancelled and customer_key is not null)"
    )
    return con.sql(
        f"select currency, cast(sum(revenue) as double) as revenue from {source} "
        "group by 1 order by 1"
    ).pl()


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


def _personas(con) -> pl.DataFrame:
    """The persona cards, largest first (empty when the publication has none)."""
    found = con.sql(
        "select count(*) from information_schema.tables "
        "where table_schema = 'reports' and table_name = 'rpt_personas'"
    ).fetchall()[0][0]
    if not found:
        return pl.DataFrame()
    return con.sql("select * from reports.rpt_personas order by customers desc, persona_id").pl()


def money_currency(reporting: pl.DataFrame, settings: Settings) -> str:
    """The currency of the report's money: customer figures (spend, expected spend, personas)
    and, when every order converts, revenue are in the reporting currency fct_orders names
    (the setting, else the orders' one currency, else the default)."""
    return (reporting.get_column("currency")[0] if reporting.height else None) or (
        settings.reporting_currency or settings.default_currency)


def published_money_currency(settings: Settings) -> str:
    """`money_currency` of the published warehouse."""
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        return money_currency(con.sql(REPORTING_CURRENCY_SQL).pl(), settings)
    finally:
        con.close()


def money(value: float | None, currency: str | None, decimals: int = 0) -> str:
    """An amount with its ISO currency code ("GBP 1,234"), never a symbol that could name
    another currency; `currency` None means the orders hold several, which the figure says."""
    if value is None:
        return "n/a"
    amount = f"{float(value):,.{decimals}f}"
    return f"{currency} {amount}" if currency else f"{amount} (mixed currencies)"


def persona_cards(personas: pl.DataFrame, currency: str | None = "USD") -> list[dict]:
    """The persona cards as the template shows them: figures formatted, traits as a list."""
    cards = []
    for row in personas.to_dicts():
        hour = row["best_send_hour"]
        cards.append({
            "name": row["persona_name"],
            "size": f"{row['customers']:,} customers ({row['customer_share']:.0%})",
            "revenue_share": f"{row['revenue_share']:.0%}",
            "to_date": money(row["avg_revenue_to_date"], currency),
            "ltv": money(row["avg_ltv"], currency),
            "aov": money(row["avg_order_value"] or 0, currency),
            "churn": "n/a" if row["churn_risk"] is None else f"{row['churn_risk']:.0%}",
            "send_hour": "n/a" if hour is None else f"{hour:02d}:00",
            "channels": row["top_channels"] or "n/a",
            "categories": row["top_categories"] or "n/a",
            "nps": "n/a" if row["nps"] is None else f"{row['nps']:+.0f} ({row['nps_responses']})",
            "emailable": f"{row['emailable_share']:.0%}",
            "apart": [t for t in (row["what_sets_it_apart"] or "").split("; ") if t],
        })
    return cards


def personas_note(personas: pl.DataFrame) -> str:
    """How the personas were found, as the find_personas step wrote it (the same on every card)."""
    if personas.is_empty() or "personas_note" not in personas.columns:
        return ""
    return personas.get_column("personas_note")[0] or ""


MODEL_TITLES = {
    "churn": "Churn risk (no order in the next 90 days)",
    "ltv": "Lifetime value (spend in the next year)",
    "lead": "Lead conversion (first order within 60 days)",
    "forecast_units": "Units per week, next 8 weeks (per product, or the shop's total; "
                      "WAPE, lower is better)",
    "uplift": "Uplift (extra orders in 28 days if targeted; Qini on held-out experiment "
              "units, beside targeting by churn risk)",
}


def model_summaries(model_runs: pl.DataFrame, run_id: str) -> list[dict]:
    """Each model's record for `run_id` (or its newest one): what scored, its validation
    figure beside the baseline's and the previous version's, and the promotion note."""
    runs = model_runs.filter(pl.col("run_id") == run_id)
    if runs.height == 0:
        runs = model_runs.sort("as_of_date")
    latest = runs.group_by("model", maintain_order=True).last().sort("model")
    rows = []
    for run in latest.to_dicts():
        rows.append({
            "title": MODEL_TITLES.get(run["model"], run["model"]),
            "version": run["version"],
            "metric": run.get("metric") or "",
            "model_value": run.get("model_value"),
            "baseline": run.get("baseline") or "",
            "baseline_value": run.get("baseline_value"),
            "previous_value": run.get("previous_value"),
            "note": run.get("note") or "",
        })
    return rows


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


# Each forecast in plain words, as the report names the one it charts.
FORECAST_TITLES = {
    "xgboost": "the model (XGBoost correcting last year's same weeks scaled by this year's "
               "level, or the recent weekly mean before a year of history)",
    "seasonal_level": "last year's same weeks, scaled by how this year's sales compare with "
                      "last year's",
    "seasonal_naive": "the same week last year",
    "recent_mean": "the mean of the last 13 weeks",
}


def coverage_notes(coverage: pl.DataFrame) -> list[dict]:
    """What the run could not cover, as the report lists it: the sentence, and the landing
    folders whose exports would cover it."""
    missing = coverage.filter(~pl.col("is_available"))
    return [
        {"reason": row["missing_reason"], "sources": row["sources"]}
        for row in missing.to_dicts()
    ]


def without_erased(customers: pl.DataFrame, settings: Settings, logical_date: date
                   ) -> pl.DataFrame:
    """`customers` less everyone on the erasure list, matched as the exports match them (the
    day's requests are taken in first, so the report never names a person the export step
    would hold back, whichever step runs first)."""
    from pipelines.activation.export import IDENTITY_COLUMNS, prepare_customers
    from pipelines.activation.suppression import intake_erasures, read_store

    intake_erasures(settings, logical_date)
    marked = prepare_customers(
        customers.select(IDENTITY_COLUMNS), settings.default_country, read_store(settings))
    erased = marked.filter("is_erased").get_column("customer_key")
    if erased.len():
        log.info("report: %d erased customers left out of its lists of people", erased.len())
    return customers.filter(~pl.col("customer_key").is_in(erased.implode()))


def render(context: dict) -> str:
    """The report page from its context. Every value is escaped (autoescape on, whatever the
    template's extension): names, reasons and notes come from the shop's data."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    currency = context.get("currency")
    env.filters["money"] = lambda value, decimals=0: money(value, currency, decimals)
    return env.get_template("template.html.j2").render(**context)


def build_report(settings: Settings, logical_date: date, run_id: str) -> Path:
    """Write the day's report and return its path."""
    data = _read(settings)
    coverage = data_coverage.read(settings.published_db, settings)
    currency = money_currency(data["reporting_currency"], settings)
    customers, all_scores = data["customers"], data["scores"]
    scores = all_scores.filter(pl.col("model") == "churn")
    kpis = {
        "customers": customers.height,
        "buyers": customers.filter(pl.col("orders_count") > 0).height,
        "emailable": customers.filter(pl.col("is_emailable")).height,
        **sales_kpis(data["sales"], customers),
        "scored": scores.height,
        "mean_churn": float(scores.get_column("score").mean() or 0),
        "predicted_value": float(
            all_scores.filter(pl.col("model") == "ltv").get_column("score").sum() or 0),
    }
    by_decile = scores.group_by("decile").agg(pl.col("score").mean()).sort("decile")
    churn_chart = bar_chart(
        [str(d) for d in by_decile.get_column("decile")],
        [100 * p for p in by_decile.get_column("score")],
        "Average churn risk (%) by decile", value_format="{:.0f}%",
    )
    value = all_scores.filter(pl.col("model") == "ltv").select(
        "customer_key", pl.col("score").alias("predicted_value"))
    # The only rows that name people: never someone who asked to be erased.
    at_risk = (
        scores.join(without_erased(customers, settings, logical_date), on="customer_key")
        .join(value, on="customer_key", how="left")
        .filter(pl.col("decile") >= 8)
        .sort(["predicted_value", "revenue", "customer_key"], descending=[True, True, False],
              nulls_last=True)
        .head(15)
        .with_columns(
            name=pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True),
            reasons=pl.concat_str(["reason_1", "reason_2", "reason_3"], separator="; ",
                                  ignore_nulls=True),
            revenue=pl.col("revenue").cast(pl.Float64),
            churn_probability=pl.col("score"),
        )
        .to_dicts()
    )
    models = model_summaries(data["model_runs"], run_id)
    published, why, forecast = forecast_shown(data["forecast"], data["model_runs"], run_id)
    forecast_chart = bar_chart(
        [d.strftime("%d %b") for d in forecast.get_column("week_start")],
        forecast.get_column("units").to_list(),
        "Units expected per week (all products), by week start", value_format="{:,.0f}",
    ) if forecast.height else ""
    forecast_method = FORECAST_TITLES.get(published, published) if forecast.height else ""
    manifest_path = settings.exports_dir / logical_date.isoformat() / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    exports = manifest.get("files", [])
    published_tables = len(json.loads(data["runs"].get_column("tables")[0]))

    html = render(dict(
        date=logical_date.isoformat(), run_id=run_id, kpis=kpis, churn_chart=churn_chart,
        at_risk=at_risk, models=models, exports=exports, published_tables=published_tables,
        forecast_chart=forecast_chart, forecast_method=forecast_method, forecast_why=why,
        personas=persona_cards(data["personas"], currency),
        personas_note=personas_note(data["personas"]),
        currency=currency, revenue_by_currency=data["revenue_by_currency"].to_dicts(),
        not_covered=coverage_notes(coverage), export_warnings=manifest.get("warnings", []),
        ads=ads_context(read_ads(settings, logical_date)),
        experiments=experiments_context(read_experiments(settings)),
        personalisation=personalisation_context(read_personalisation(settings)),
    ))
    out = settings.reports_dir / logical_date.isoformat() / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(html)
    tmp.replace(out)
    log.info("report written to %s", out)
    return out
