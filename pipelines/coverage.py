"""What a run could not cover because the shop's exports lack it, and which steps that narrows.

dbt finds what is missing (`marts.data_coverage`, one row per capability with a sentence on
what could not be done and why); this module only says which capabilities each daily step
depends on, so that a step that skips or narrows its work names the reason in its summary and
in the log, and the report lists every one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

TABLE = "marts.data_coverage"

# In the order the report lists them.
CAPABILITIES: tuple[str, ...] = (
    "orders", "product_ids", "product_categories", "customer_emails", "email_consent",
    "web_sessions", "email_activity", "crm_contacts", "ad_performance", "survey_responses",
    "social_activity", "single_currency", "currency_rates",
)  # fmt: skip

# The capabilities each step's work depends on; steps not named here depend on none.
STEP_NEEDS: dict[str, tuple[str, ...]] = {
    # dbt builds every mart: an empty one is the first place a missing source shows.
    "transform": CAPABILITIES,
    "score_churn": ("orders", "web_sessions", "email_activity", "survey_responses"),
    "score_ltv": (
        "orders", "web_sessions", "email_activity", "survey_responses", "currency_rates",
    ),
    "score_lead": ("crm_contacts",),
    "forecast_units": ("orders", "product_ids"),
    "optimise_ads": ("ad_performance", "orders", "single_currency"),
    "find_personas": (
        "orders", "product_categories", "web_sessions", "email_activity", "survey_responses",
        "social_activity",
    ),
    "export": ("customer_emails", "email_consent", "web_sessions", "crm_contacts"),
    "report": CAPABILITIES,
}


def read(path: Path, settings: Settings) -> pl.DataFrame:
    """`marts.data_coverage` from the DuckDB file at `path`, in `CAPABILITIES` order; empty,
    with a warning, when the file has no such table (built before it existed). Files other
    than the work file are opened read-only."""
    con = connect(settings, path=path, read_only=path != settings.work_db)
    try:
        found = con.sql(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'data_coverage'"
        ).fetchall()[0][0]
        if not found:
            log.warning("%s has no %s: run the transform step to find what the shop lacks",
                        path, TABLE)
            return pl.DataFrame(schema={"capability": pl.String, "is_available": pl.Boolean,
                                        "detail": pl.String, "missing_reason": pl.String})
        return _ordered(con.sql(f"select * from {TABLE}").pl())
    finally:
        con.close()


def _ordered(coverage: pl.DataFrame) -> pl.DataFrame:
    order = {name: i for i, name in enumerate(CAPABILITIES)}
    return coverage.sort(pl.col("capability").replace_strict(order, default=len(order)))


def lacks(coverage: pl.DataFrame, step: str) -> list[str]:
    """The sentences of the capabilities `step` depends on that the run lacks, in
    `CAPABILITIES` order."""
    needs = STEP_NEEDS.get(step, ())
    missing = coverage.filter(~pl.col("is_available") & pl.col("capability").is_in(needs))
    return _ordered(missing).get_column("missing_reason").to_list()


def step_lacks(settings: Settings, step: str, path: Path | None = None) -> list[str]:
    """What `step` could not do for want of data, read from the work file (or `path`), each
    sentence also logged as a warning."""
    sentences = lacks(read(path or settings.work_db, settings), step)
    for sentence in sentences:
        log.warning("%s: %s", step, sentence)
    return sentences
