"""The win-back section: who to win back first (ported from the old page)."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.ml.scores import TABLE as SCORES_TABLE
from pipelines.report.sections import Action, ReportInputs, Section, render_part

log = logging.getLogger(__name__)

TITLE = "Who to win back"


def without_erased(customers: pl.DataFrame, settings: Settings, logical_date: date
                   ) -> pl.DataFrame:
    """`customers` less everyone on the erasure list, matched as the exports match them (the
    day's requests are taken in first, so the report never names a person the export step
    would hold back, whichever step runs first)."""
    from pipelines.activation.export import IDENTITY_COLUMNS, prepare_customers
    from pipelines.activation.suppression import current_store

    marked = prepare_customers(customers.select(IDENTITY_COLUMNS), settings.default_country,
                               current_store(settings, logical_date))
    erased = marked.filter("is_erased").get_column("customer_key")
    if erased.len():
        log.info("report: %d erased customers left out of its lists of people", erased.len())
    return customers.filter(~pl.col("customer_key").is_in(erased.implode()))


# The audiences (audiences.yml) whose Mailchimp file is the win-back list, first found first,
# and what the action calls their people.
AUDIENCES = (("high_value_at_risk", "high-value customers at risk"),
             ("churn_risk", "customers at risk"))
SHOWN = 15  # people named on the page; the file holds them all


def winback_file(manifest: dict) -> tuple[dict, str] | None:
    """The day's full Mailchimp file of the first win-back audience exported, and what its
    people are called; None when none was exported."""
    for audience, words in AUDIENCES:
        for entry in manifest.get("files", []):
            if (entry.get("audience") == audience and entry.get("platform") == "mailchimp"
                    and entry.get("kind") == "full"):
                return entry, words
    return None


def report_link(inputs: ReportInputs, export_path: str) -> str:
    """An export file's path relative to the report file (reports/<date>/index.html)."""
    day = inputs.logical_date.isoformat()
    target = inputs.settings.exports_dir / day / export_path
    return Path(os.path.relpath(target, inputs.settings.reports_dir / day)).as_posix()


def file_emails(inputs: ReportInputs, export_path: str) -> pl.Series | None:
    """The e-mail addresses in an export file (as the file writes them), None without it."""
    path = inputs.settings.exports_dir / inputs.logical_date.isoformat() / export_path
    if not path.exists():
        return None
    return pl.read_csv(path, infer_schema=False, columns=["Email Address"]).get_column(
        "Email Address")


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
    people = (
        churn.join(without_erased(customers, inputs.settings, inputs.logical_date),
                   on="customer_key")
        .join(value, on="customer_key", how="left")
        .filter(pl.col("decile") >= 8)
    )
    found = winback_file(inputs.manifest)
    action, audience, in_file = None, None, None
    if found is not None:
        entry, words = found
        audience = entry["audience"]
        emails = file_emails(inputs, entry["path"])
        link = report_link(inputs, entry["path"])
        count = entry["rows"]
        if count == 1:
            words = words.replace("customers", "customer")
        action = Action(f"Win back {count:,} {words}", link=link, rank=10)
        if emails is not None:
            # Only the people the file holds: its consent, erasure and holdout rules decide
            # (a held-out customer contacted by hand would spoil the experiment).
            in_file = emails.str.strip_chars().str.to_lowercase()
            people = people.filter(
                pl.col("email").str.strip_chars().str.to_lowercase().is_in(in_file.implode()))
    at_risk = (
        people.sort(["predicted_value", "revenue", "customer_key"],
                    descending=[True, True, False], nulls_last=True)
        .head(SHOWN)
        .with_columns(
            name=pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True),
            reasons=pl.concat_str(["reason_1", "reason_2", "reason_3"], separator="; ",
                                  ignore_nulls=True),
            revenue=pl.col("revenue").cast(pl.Float64),
            churn_probability=pl.col("score"),
        )
        .to_dicts()
    )
    if not at_risk and action is None:
        return None
    html = render_part("winback.html.j2", at_risk=at_risk, shown=SHOWN, action=action,
                       audience=audience, in_file=in_file is not None)
    # The action says it in the digest; the headline adds who is named where.
    digest = ((f"{action.text}: the {len(at_risk)} with the most expected spend are named "
               "in the report, the rest are in the file."),) if action and (
        found[0]["rows"] > len(at_risk)) else ()
    return Section(key="winback", title="Who to win back first", order=35, html=html,
                   actions=(action,) if action else (), digest=digest)
