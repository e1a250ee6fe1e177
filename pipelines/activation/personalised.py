"""The export step's personalisation files: the site feed and lookup (`site.py`) and each
persona's ad copy for Meta and Google (`adcopy.py`), read from the work file the audit is about
to validate: reports.rpt_personalisation and rpt_content (transform_reports), the
recommendations (the personalize step) and the GA4 device ids of marts.fct_sessions."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import polars as pl

from pipelines.activation.adcopy import write_ad_files
from pipelines.activation.site import lookup_rows, persona_rows, write_site_files
from pipelines.config import Settings

log = logging.getLogger(__name__)

REPORTS = ("reports.rpt_personalisation", "reports.rpt_content")


def _present(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{t}" for s, t in con.sql(
        "select table_schema, table_name from information_schema.tables").fetchall()}


def write_personalisation_files(settings: Settings, con: duckdb.DuckDBPyConnection,
                                prepared: pl.DataFrame, building: Path
                                ) -> tuple[list[dict], list[str]]:
    """Write the site and ad copy files under `building` for the customers `prepared` by the
    export step; return their manifest entries and the warnings for the manifest. Without the
    report tables (a work file the personalize and generate_content steps have not reached)
    nothing is written and the log says why."""
    from pipelines.content.brand import read_brand
    from pipelines.personalize.recommend import top_products

    present = _present(con)
    missing = [t for t in (*REPORTS, "ml.personas") if t not in present]
    if missing:
        # Only a work file the daily steps have not reached (an export on its own, a test
        # world) lacks them; the log says so, the manifest's warnings stay for the marketer.
        log.warning("no personalisation files: the work file lacks %s (run find_personas, "
                    "personalize, generate_content and transform_reports first)",
                    ", ".join(missing))
        return [], []
    personas = persona_rows(con.sql("select * from reports.rpt_personalisation").pl())
    content = con.sql("select * from reports.rpt_content").pl()
    devices = con.sql(
        "select distinct customer_key, user_pseudo_id from marts.fct_sessions "
        "where customer_key is not null and user_pseudo_id is not null").pl()
    top = top_products(con, 3)
    lookup, held_back = lookup_rows(prepared, devices, top)
    log.info("site lookup: %d keys, held back %s", lookup.height, held_back)
    entries = write_site_files(building, personas, lookup, held_back)
    brand, _ = read_brand(settings)
    ads, warnings = write_ad_files(building, personas, content, brand.name, brand.url,
                                   brand.ctas)
    return [*entries, *ads], warnings
