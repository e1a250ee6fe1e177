"""The customers section: churn risk by decile (ported from the old page; plots replaces it
with its charts)."""

from __future__ import annotations

import polars as pl
from markupsafe import Markup

from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.charts import bar_chart
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Customers"


def section(inputs: ReportInputs) -> Section | None:
    scores = inputs.table(SCORES_TABLE)
    if scores is None:
        return None
    churn = scores.filter(pl.col("model") == "churn")
    if churn.is_empty():
        return None
    by_decile = churn.group_by("decile").agg(pl.col("score").mean()).sort("decile")
    # bar_chart escapes its labels itself (the old hand-drawn chart, until svg.py replaces it).
    chart = Markup(bar_chart(
        [str(d) for d in by_decile.get_column("decile")],
        [100 * p for p in by_decile.get_column("score")],
        "Average churn risk (%) by decile", value_format="{:.0f}%",
    ))
    return Section(key="customers", title="Churn risk", order=30,
                   html=render_part("customers.html.j2", chart=chart))
