"""The win-back section: who to win back first (ported from the old page)."""

from __future__ import annotations

import logging
from datetime import date

import polars as pl

from pipelines.config import Settings
from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.sections import ReportInputs, Section, render_part

log = logging.getLogger(__name__)

TITLE = "Who to win back"


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


def section(inputs: ReportInputs) -> Section | None:
    customers, scores = inputs.table("marts.dim_customers"), inputs.table(SCORES_TABLE)
    if customers is None or scores is None:
        return None
    churn = scores.filter(pl.col("model") == "churn")
    if churn.is_empty():
        return None
    value = scores.filter(pl.col("model") == "ltv").select(
        "customer_key", pl.col("score").alias("predicted_value"))
    # The only rows that name people: never someone who asked to be erased.
    at_risk = (
        churn.join(without_erased(customers, inputs.settings, inputs.logical_date),
                   on="customer_key")
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
    if not at_risk:
        return None
    return Section(key="winback", title="Who to win back first", order=35,
                   html=render_part("winback.html.j2", at_risk=at_risk))
