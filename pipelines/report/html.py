"""Build `reports/<date>/index.html` from the published warehouse and the day's exports."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.config import Settings
from pipelines.report.charts import bar_chart
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent


def _read(settings: Settings) -> dict[str, pl.DataFrame]:
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        return {
            "customers": con.sql("select * from marts.dim_customers").pl(),
            "scores": con.sql("select * from ml.churn_scores").pl(),
            "model_runs": con.sql("select * from ml.model_runs").pl(),
            "runs": con.sql("select run_id, tables from meta.runs "
                            "order by published_at desc limit 1").pl(),
            "personas": _personas(con),
        }
    finally:
        con.close()


def _personas(con) -> pl.DataFrame:
    """The persona cards, largest first (empty when the publication has none)."""
    found = con.sql(
        "select count(*) from information_schema.tables "
        "where table_schema = 'reports' and table_name = 'rpt_personas'"
    ).fetchall()[0][0]
    if not found:
        return pl.DataFrame()
    return con.sql("select * from reports.rpt_personas order by customers desc, persona_id").pl()


def persona_cards(personas: pl.DataFrame) -> list[dict]:
    """The persona cards as the template shows them: figures formatted, traits as a list."""
    cards = []
    for row in personas.to_dicts():
        hour = row["best_send_hour"]
        cards.append({
            "name": row["persona_name"],
            "size": f"{row['customers']:,} customers ({row['customer_share']:.0%})",
            "revenue_share": f"{row['revenue_share']:.0%}",
            "ltv": f"{float(row['avg_ltv']):,.0f}",
            "aov": f"{float(row['avg_order_value'] or 0):,.0f}",
            "churn": "n/a" if row["churn_risk"] is None else f"{row['churn_risk']:.0%}",
            "send_hour": "n/a" if hour is None else f"{hour:02d}:00",
            "channels": row["top_channels"] or "n/a",
            "categories": row["top_categories"] or "n/a",
            "nps": "n/a" if row["nps"] is None else f"{row['nps']:+.0f} ({row['nps_responses']})",
            "emailable": f"{row['emailable_share']:.0%}",
            "apart": [t for t in (row["what_sets_it_apart"] or "").split("; ") if t],
        })
    return cards


def build_report(settings: Settings, logical_date: date, run_id: str) -> Path:
    """Write the day's report and return its path."""
    data = _read(settings)
    customers, scores = data["customers"], data["scores"]
    kpis = {
        "customers": customers.height,
        "buyers": customers.filter(pl.col("orders_count") > 0).height,
        "emailable": customers.filter(pl.col("is_emailable")).height,
        "revenue": float(customers.get_column("revenue").cast(pl.Float64).sum() or 0),
        "scored": scores.height,
        "mean_churn": float(scores.get_column("churn_probability").mean() or 0),
    }
    by_decile = (
        scores.group_by("churn_decile").agg(pl.col("churn_probability").mean())
        .sort("churn_decile")
    )
    churn_chart = bar_chart(
        [str(d) for d in by_decile.get_column("churn_decile")],
        [100 * p for p in by_decile.get_column("churn_probability")],
        "Average churn risk (%) by decile", value_format="{:.0f}%",
    )
    at_risk = (
        scores.join(customers, on="customer_key")
        .filter(pl.col("churn_decile") >= 8)
        .sort(["revenue", "customer_key"], descending=[True, False])
        .head(15)
        .with_columns(
            name=pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True),
            reasons=pl.concat_str(["reason_1", "reason_2", "reason_3"], separator="; "),
            revenue=pl.col("revenue").cast(pl.Float64),
        )
        .to_dicts()
    )
    model_row = data["model_runs"].filter(pl.col("model") == "churn").tail(1).to_dicts()
    model = {"version": "none", "note": ""}
    if model_row:
        model = {"version": model_row[0]["version"], "note": model_row[0]["note"] or "",
                 **json.loads(model_row[0]["metrics"])}
    manifest_path = settings.exports_dir / logical_date.isoformat() / "manifest.json"
    exports = json.loads(manifest_path.read_text())["files"] if manifest_path.exists() else []
    published_tables = len(json.loads(data["runs"].get_column("tables")[0]))

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    html = env.get_template("template.html.j2").render(
        date=logical_date.isoformat(), run_id=run_id, kpis=kpis, churn_chart=churn_chart,
        at_risk=at_risk, model=model, exports=exports, published_tables=published_tables,
        personas=persona_cards(data["personas"]),
    )
    out = settings.reports_dir / logical_date.isoformat() / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(html)
    tmp.replace(out)
    log.info("report written to %s", out)
    return out
