"""Reading and writing `ml.experiment_assignments`, the one place SQL touches it.

The table lives in the work file and grows with every run (rows are never re-assigned); the
publish step copies it like any audited table, so analysts and the readouts see it."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.experiments.assign import DDL, SCHEMA, TABLE, empty
from pipelines.warehouse import replace_rows

ALIASES = "marts.customer_key_aliases"


def exists(con: duckdb.DuckDBPyConnection, table: str = TABLE) -> bool:
    schema, name = table.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def read_aliases(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Merged keys and the live key each resolves to (empty before identity has run)."""
    if not exists(con, ALIASES):
        return pl.DataFrame(schema={"alias_key": pl.String, "customer_key": pl.String})
    return con.sql(f"select alias_key, customer_key from {ALIASES}").pl()


def read(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every assignment so far (empty, in the table's schema, before the first)."""
    if not exists(con):
        return empty()
    return con.sql(f"select * from {TABLE}").pl().cast(SCHEMA).select(list(SCHEMA))


def write(con: duckdb.DuckDBPyConnection, assignments: pl.DataFrame) -> None:
    """Replace the table's rows with `assignments` in one transaction, in key order, so a
    rerun that changes nothing writes the same rows."""
    ordered = assignments.select(list(SCHEMA)).sort("experiment_id", "customer_key")
    replace_rows(con, TABLE, DDL, ordered.to_arrow())
