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
        }
    finally:
        con.close()


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
    )
    out = settings.reports_dir / logical_date.isoformat() / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(html)
    tmp.replace(out)
    log.info("report written to %s", out)
    return out
