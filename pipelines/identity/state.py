"""What a dbt Python model that keeps its own history reads back: its table as the last run
left it (None on the first build). Identity's memory (the key registry, record versions, the
matcher's models and links) lives in such tables, each dated by run so that a rerun of a day
can forget what it wrote before (see keys.py, linking.py)."""

from __future__ import annotations

from datetime import date

import polars as pl


def existing(session, this, column: str | None = None) -> str | None:
    """The model's own table (its name) before this run rewrites it; None when it does not
    exist, or lacks `column` (written before the model kept it)."""
    query = ("select count(*) from information_schema.columns where table_schema = ? "
             "and table_name = ?")
    params = [this.schema, this.identifier]
    if column is not None:
        query += " and column_name = ?"
        params.append(column)
    return str(this) if session.execute(query, params).fetchall()[0][0] else None


def previous(session, this) -> pl.DataFrame | None:
    """The model's own table before this run rewrites it, or None when it does not exist."""
    table = existing(session, this)
    return session.sql(f"select * from {table}").pl() if table else None


def effective_day(history: pl.DataFrame | None, column: str, day: date) -> date:
    """The day a run decides identity as of: its own, or the latest day the table already
    holds when that is later. A run for an earlier day (a backfill, an old run cleared) sees
    everything loaded since, so it redoes the latest day's decisions rather than forgetting
    them: keys never move back in time, and a person's key changes only by a logged merge or
    split however the days are run."""
    if history is None or history.is_empty():
        return day
    latest = history[column].max()
    return max(day, latest) if latest is not None else day


def decision_day(runs: pl.DataFrame) -> date:
    """The day this run decides identity as of: the latest of int_identity__runs."""
    return runs["decided_on"].max()
