"""Synthetic report inputs for section tests: frames loaded into an in-memory DuckDB under
their `schema.table` names, as the published file holds them."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipelines.config import Settings
from pipelines.report.sections import ReportInputs

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
DAY = date(2026, 10, 31)


def inputs(settings: Settings, tables: dict[str, pl.DataFrame] | None = None,
           manifest: dict | None = None, currency: str | None = "GBP",
           logical_date: date = DAY, run_id: str = "r1") -> ReportInputs:
    con = duckdb.connect()
    for name, frame in (tables or {}).items():
        schema, table = name.split(".", 1)
        con.execute(f'create schema if not exists "{schema}"')
        con.register("frame", frame)
        con.execute(f'create table "{schema}"."{table}" as select * from frame')
        con.unregister("frame")
    return ReportInputs(settings=settings, logical_date=logical_date, run_id=run_id,
                        currency=currency, con=con, manifest=manifest or {})


def text(page: str) -> str:
    """The page's visible text, tags dropped and spaces collapsed (entities kept)."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", page).split())
