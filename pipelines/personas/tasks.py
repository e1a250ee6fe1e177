"""What the Airflow `find_personas` task calls: read the marts, find personas, write them back.

Writes `ml.personas` (customer_key, persona_id, persona_name: one row per customer whose
orders net to more than nothing), `ml.persona_profiles` (one row per persona: name, size, best
send hour, usual shop hour, what sets it apart, model version, k, the date, where the personas
come from (`persona_source`: model, or rfm when the data shows no persona structure) and how
they were found in words (`personas_note`), the traits its name claims with the share of the
persona that has each (`name_claims`, `weakest_claim_share`)), `ml.persona_traits` (every
persona's traits with effect sizes) and `ml.persona_shop_hours` (per persona and local hour, the
customers who usually shop then), `ml.persona_topics` (what each persona's customers write
about in comments, messages and survey answers, and how it feels: pipelines.personas.topics),
and saves the model under `data/models/personas/<date>/` for the
next day. The report models (dbt, tag `report`) turn these into the persona cards.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from threadpoolctl import threadpool_limits

from pipelines import reuse
from pipelines.config import Settings
from pipelines.personas import state as persona_state
from pipelines.personas.features import REQUIRED, Inputs, build_features, email_reads
from pipelines.personas.personas import find_personas
from pipelines.personas.topics import TEXT_TABLES, TOPICS_TABLE, persona_topics, read_texts
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

PERSONAS_TABLE = "ml.personas"
PROFILES_TABLE = "ml.persona_profiles"
TRAITS_TABLE = "ml.persona_traits"
HOURS_TABLE = "ml.persona_shop_hours"

MARTS = {
    "customers": "marts.dim_customers",
    "orders": "marts.fct_orders",
    "lines": "marts.fct_order_lines",
    "sessions": "marts.fct_sessions",
    "email_events": "marts.fct_email_events",
    "social": "marts.fct_social_engagements",
}


# Money is read in the reporting currency (null for an order with no exchange rate on its
# date, so never added across currencies). A discount is read only for being there.
REPORTING_MONEY = {
    "amount": "amount_reporting",
    "refunded_amount": "refunded_amount_reporting",
    "line_amount": "line_amount_reporting",
}


def read_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    """The columns the persona features need, from the marts; money in the reporting
    currency."""
    frames = {}
    for name, table in MARTS.items():
        columns = ", ".join(f"{REPORTING_MONEY[c]} as {c}" if c in REPORTING_MONEY else c
                            for c in REQUIRED[name])
        frames[name] = con.sql(f"select {columns} from {table}").pl()
    return Inputs(**frames)


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("frame_to_write", frame.to_arrow())
    con.execute(f"create or replace table {table} as select * from frame_to_write")
    con.unregister("frame_to_write")


RFM_TABLE = "marts.customer_rfm"
# Every table the step reads and writes: a rerun whose reads, settings and yesterday's saved
# model are unchanged keeps what it wrote (pipelines/reuse.py).
READS = (*MARTS.values(), RFM_TABLE, *TEXT_TABLES)
WRITES = (PERSONAS_TABLE, PROFILES_TABLE, TRAITS_TABLE, HOURS_TABLE, TOPICS_TABLE)


def read_rfm(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each buyer's RFM segment (the personas when the data shows no persona structure)."""
    return con.sql(f"select customer_key, rfm_segment from {RFM_TABLE}").pl()


def run(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Find the day's personas and write them (see module docstring), or keep what the last
    run wrote when nothing it reads has changed; returns a summary whose `message` says how
    they were found, from which features, and who has none."""
    previous = persona_state.folder_before(settings.models_dir, logical_date)
    saved = persona_state.state_dir(settings.models_dir) / logical_date.isoformat()

    def files(*folders: Path | None) -> list[str]:
        return [reuse.FILE + str(f.relative_to(settings.home)) for f in folders if f]

    def find() -> tuple[dict, list[str], list[str]]:
        return (_find(settings, logical_date), [*READS, *files(previous)],
                [*WRITES, *files(saved)])

    given = {"personas": asdict(settings.personas)}
    return reuse.reuse_or_run(settings, "find_personas", logical_date, run_id, given, find)


def _find(settings: Settings, logical_date: date) -> dict:
    with work_connection(settings) as con:
        inputs = read_inputs(con)
        rfm = read_rfm(con)
        texts = read_texts(con)
    features = build_features(inputs, logical_date)
    reads = email_reads(inputs, logical_date)
    previous = persona_state.load_before(settings.models_dir, logical_date)
    # One BLAS and OpenMP thread: k-means and matrix sums then add in the same order in every
    # process, whatever ran before in it, so a rerun gives the same model to the last bit.
    with threadpool_limits(limits=1):
        result = find_personas(features, reads, previous, settings.personas, logical_date, rfm)
    version = result.state.version
    profiles = result.profiles.with_columns(
        model_version=pl.lit(version),
        k=pl.lit(result.state.k, dtype=pl.Int32),
        as_of_date=pl.lit(logical_date),
        persona_source=pl.lit(result.source),
        personas_note=pl.lit(result.message),
    )
    with work_connection(settings) as con:
        con.execute("create schema if not exists ml")
        _write(con, PERSONAS_TABLE, result.labels.sort("customer_key"))
        _write(con, PROFILES_TABLE, profiles.sort("persona_id"))
        _write(con, TRAITS_TABLE, result.traits.sort("persona_id", "rank"))
        _write(con, HOURS_TABLE, result.hours)
        _write(con, TOPICS_TABLE, persona_topics(texts, result.labels))
    persona_state.save(settings.models_dir, result.state)
    summary = {
        "customers": result.labels.height,
        "left_out": result.left_out,
        "source": result.source,
        "k": len(result.state.names),
        "components": result.state.k,
        "warm_start": result.warm,
        "moved_share": round(result.moved_share, 4),
        "version": version,
        "personas": {str(k): v for k, v in result.state.names.items()},
        "features": result.features_used,
        "message": result.message,
    }
    log.info("personas: %s", summary)
    return summary
