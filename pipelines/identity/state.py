"""What a dbt Python model that keeps its own history reads back: its table as the last run
left it (None on the first build). Identity's memory (the key registry, record versions, the
matcher's models and links) lives in such tables, each dated by run so that a rerun of a day
can forget what it wrote before (see keys.py, linking.py)."""

from __future__ import annotations

import polars as pl


def previous(session, this) -> pl.DataFrame | None:
    """The model's own table before this run rewrites it, or None when it does not exist."""
    exists = session.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [this.schema, this.identifier],
    ).fetchall()[0][0]
    return session.sql(f"select * from {this}").pl() if exists else None
