"""The models section: each model's validation figure beside its baseline (ported from the old
page; the words helper rewrites it in plain words)."""

from __future__ import annotations

import polars as pl

from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Models"

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


def section(inputs: ReportInputs) -> Section | None:
    runs = inputs.table("ml.model_runs")
    if runs is None or runs.is_empty():
        return None
    html = render_part("models.html.j2", models=model_summaries(runs, inputs.run_id))
    return Section(key="models", title="Models", order=80, html=html)
