"""What a dbt Python model that keeps its own history reads back: its table as the last run
left it (None on the first build). Identity's memory (the key registry, record versions, the
matcher's models and links) lives in such tables, each dated by run so that a rerun of a day
can forget what it wrote before (see keys.py, linking.py)."""

from __future__ import annotations

from datetime import date

import polars as pl


def previous(session, this) -> pl.DataFrame | None:
    """The model's own table before this run rewrites it, or None when it does not exist."""
    exists = session.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [this.schema, this.identifier],
    ).fetchall()[0][0]
    return session.sql(f"select * from {this}").pl() if exists else None


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
