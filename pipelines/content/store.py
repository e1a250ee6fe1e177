"""Reading and writing `ml.content_lines`, the one place SQL touches it.

One row per checked line kept for a day, persona, goal and format, ranked; a run replaces the
rows of its logical date, in key order, so a rerun that changes nothing writes the same rows."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipelines.warehouse import replace_rows

TABLE = "ml.content_lines"
SCHEMA: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(), "persona": pl.String(), "goal": pl.String(), "format": pl.String(),
    "rank": pl.Int32(), "text": pl.String(), "predicted": pl.Float64(), "evidence": pl.String(),
    "backend": pl.String(), "offer_code": pl.String(),
}  # fmt: skip
KEY = ["as_of_date", "persona", "goal", "format", "rank"]
DDL = (f"create table if not exists {TABLE} (as_of_date date not null, persona varchar not null, "
       "goal varchar not null, format varchar not null, rank integer not null, "
       "text varchar not null, predicted double, evidence varchar not null, "
       "backend varchar not null, offer_code varchar)")


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def exists(con: duckdb.DuckDBPyConnection) -> bool:
    schema, name = TABLE.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def read(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> pl.DataFrame:
    """The lines of `as_of` (every day's when None), in key order."""
    if not exists(con):
        return empty()
    where, params = ("where as_of_date = ?", [as_of]) if as_of else ("", [])
    frame = con.sql(f"select * from {TABLE} {where} order by {', '.join(KEY)}",
                    params=params).pl()
    return frame.cast(SCHEMA).select(list(SCHEMA))


def write(con: duckdb.DuckDBPyConnection, as_of: dt.date, lines: pl.DataFrame) -> None:
    """Replace the rows of `as_of` with `lines` in one transaction, in key order."""
    ordered = lines.cast(SCHEMA).select(list(SCHEMA)).sort(KEY)
    if ordered.filter(pl.col("as_of_date") != as_of).height:
        raise ValueError(f"{TABLE}: lines for another day than {as_of}")
    replace_rows(con, TABLE, DDL, ordered.to_arrow(), "as_of_date = ?", [as_of])
