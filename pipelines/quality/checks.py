"""Checks that compare today's table with what was published before: row-count change against
the trailing publishes, freshness against the logical date, and score drift (PSI) against the
last publish.

They are declared per suite under `meta.checks` and computed here as one-row metric frames,
which Great Expectations then validates like any other table, so every check is recorded and
gated the same way::

    "checks": {"row_count_change": {"min_ratio": 0.5, "max_ratio": 3.0, "trailing_runs": 7},
               "freshness": {"column": "ordered_at", "max_lag_days": 3},
               "drift": {"column": "churn_probability", "max_psi": 0.25, "bins": 10,
                         "severity": "warning"}}

A drift check with `"by": "<column>"` compares each group (each model of a long scores table)
with the same group's last publish, and reports the largest PSI.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

CHECK_KINDS = {
    "row_count_change": {"min_ratio", "max_ratio", "trailing_runs", "severity"},
    "freshness": {"column", "max_lag_days", "severity"},
    "drift": {"column", "max_psi", "bins", "severity", "by"},
}
REQUIRED = {
    "row_count_change": {"min_ratio", "max_ratio"},
    "freshness": {"column", "max_lag_days"},
    "drift": {"column", "max_psi"},
}


def check_checks(path: Path, raw: object) -> dict[str, dict[str, Any]]:
    """Validate a suite's `meta.checks`; errors name the file and the check."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: 'meta.checks' must be an object")
    checks = {}
    for kind, spec in raw.items():
        if kind not in CHECK_KINDS:
            raise ValueError(f"{path}: unknown check {kind!r}; known: {sorted(CHECK_KINDS)}")
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: check {kind!r} must be an object")
        unknown = set(spec) - CHECK_KINDS[kind]
        missing = REQUIRED[kind] - set(spec)
        if unknown or missing:
            raise ValueError(f"{path}: check {kind!r}: unknown keys {sorted(unknown)}, "
                             f"missing keys {sorted(missing)}")
        if spec.get("severity", "error") not in ("error", "warning"):
            raise ValueError(f"{path}: check {kind!r}: severity must be error or warning")
        checks[kind] = {"severity": "error", **spec}
    return checks


@dataclass
class PublishedHistory:
    """What the last publishes said: row counts per table (newest first) and, for drift,
    the previously published values of the watched columns."""

    row_counts: dict[str, list[int]] = field(default_factory=dict)
    previous_values: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    # Drift checks with `by`: the previous values of each group.
    previous_groups: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)


def read_history(published: Path, watched: list[tuple[str, ...]], trailing: int = 7
                 ) -> PublishedHistory:
    """Read the published file (read-only) for the row-count and drift checks. `watched`
    holds (table, column) or, for a drift check by group, (table, column, group column)."""
    history = PublishedHistory()
    if not published.exists():
        return history
    con = duckdb.connect(str(published), read_only=True)
    try:
        has_runs = con.sql("select count(*) from information_schema.tables "
                           "where table_schema = 'meta' and table_name = 'runs'").fetchall()
        if has_runs[0][0]:
            rows = con.sql(f"select row_counts from meta.runs order by published_at desc "
                           f"limit {int(trailing)}").fetchall()
            for (counts,) in rows:
                for table, n in json.loads(counts).items():
                    history.row_counts.setdefault(table, []).append(int(n))
        for table, column, *by in watched:
            if not _published_columns(con, table, [column, *by]):
                continue  # not published yet: no drift baseline (any other error fails closed)
            if by:
                values = con.sql(f"select cast({by[0]} as varchar) as g, {column} "
                                 f"from {table} where {column} is not null").pl()
                history.previous_groups[(table, column)] = {
                    str(g[0]): part.get_column(column).cast(pl.Float64).to_numpy()
                    for g, part in values.group_by("g")
                }
                continue
            values = con.sql(f"select {column} from {table} where {column} is not null")
            history.previous_values[(table, column)] = values.pl().to_series().cast(
                pl.Float64).to_numpy()
    finally:
        con.close()
    return history


def _published_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> bool:
    """Whether the published file has `table` with all of `columns`. Only their absence means
    "no baseline": a query that fails on a table that is there is an error, never a pass."""
    schema, name = table.split(".", 1)
    found = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? "
        "and table_name = ? and column_name in (select unnest(?))",
        [schema, name, columns]).fetchall()[0][0]
    return found == len(set(columns))


def psi(previous: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `current` against `previous`, on `previous`'s quantile
    bins. Under 0.1 is stable, 0.1-0.25 a shift worth a look, over 0.25 a real change.

    A score of a few levels on both days, as many of each (a rule's rates, such as the lead
    model's click-level rival, which re-estimates its rates every day), is compared by the share
    of people at each level, levels matched by rank: a rate moving across a bin edge is not a
    change in who is scored how."""
    before, now = np.unique(previous), np.unique(current)
    if len(before) <= bins and len(now) == len(before):
        expected = np.bincount(np.searchsorted(before, previous), minlength=len(before))
        actual = np.bincount(np.searchsorted(now, current), minlength=len(now))
        expected, actual = expected / max(len(previous), 1), actual / max(len(current), 1)
    else:
        edges = np.unique(np.quantile(previous, np.linspace(0, 1, bins + 1)))
        if len(edges) < 3:
            edges = np.array([previous.min() - 1e-9, previous.max() + 1e-9])
        edges[0], edges[-1] = -np.inf, np.inf
        expected = np.histogram(previous, edges)[0] / max(len(previous), 1)
        actual = np.histogram(current, edges)[0] / max(len(current), 1)
    eps = 1e-4
    expected, actual = np.clip(expected, eps, None), np.clip(actual, eps, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass
class Metric:
    """One computed metric with the bounds it must stay in, and the context to explain it."""

    name: str
    value: float | None
    min_value: float | None
    max_value: float | None
    severity: str
    context: str


def metrics_for(table: str, frame: pl.DataFrame, checks: dict[str, dict[str, Any]],
                history: PublishedHistory, logical_date: dt.date) -> list[Metric]:
    """Compute the declared checks' metrics for one table; None where there is no baseline."""
    out = []
    if spec := checks.get("row_count_change"):
        counts = history.row_counts.get(table, [])[: int(spec.get("trailing_runs", 7))]
        baseline = statistics.median(counts) if counts else None
        value = frame.height / baseline if baseline else None
        out.append(Metric(
            "row_count_ratio", value, spec["min_ratio"], spec["max_ratio"], spec["severity"],
            f"{frame.height} rows vs median {baseline} of the last {len(counts)} publishes"
            if baseline else "no earlier publish to compare with"))
    if spec := checks.get("freshness"):
        latest = frame.get_column(spec["column"]).max()
        if isinstance(latest, dt.datetime):
            latest = latest.astimezone(dt.UTC).date()
        lag = (logical_date - latest).days if latest is not None else None
        out.append(Metric(
            "freshness_lag_days", lag, None, spec["max_lag_days"], spec["severity"],
            f"latest {spec['column']} is {latest}, run date {logical_date}"
            # A table with no rows has no lag: the shop lacks the source, or the table emptied,
            # which the row-count check catches against earlier publishes.
            if latest is not None else f"no {spec['column']} at all: the table has no rows"))
    if (spec := checks.get("drift")) and spec.get("by"):
        out.append(_group_drift(table, frame, spec, history))
    elif spec := checks.get("drift"):
        previous = history.previous_values.get((table, spec["column"]))
        current = frame.get_column(spec["column"]).drop_nulls().cast(pl.Float64).to_numpy()
        value = (psi(previous, current, int(spec.get("bins", 10)))
                 if previous is not None and len(previous) and len(current) else None)
        out.append(Metric(
            "psi_" + spec["column"], value, None, spec["max_psi"], spec["severity"],
            f"PSI of {spec['column']} against the last publish"
            if value is not None else "no earlier publish to compare with"))
    return out


def _group_drift(table: str, frame: pl.DataFrame, spec: dict[str, Any],
                 history: PublishedHistory) -> Metric:
    """The largest PSI over the groups that were published before and are here now."""
    column, by = spec["column"], spec["by"]
    previous = history.previous_groups.get((table, column), {})
    worst: tuple[float, str] | None = None
    current = frame.select(pl.col(by).cast(pl.String).alias("g"), pl.col(column)).drop_nulls()
    for (group,), part in current.group_by("g"):
        before = previous.get(str(group))
        values = part.get_column(column).cast(pl.Float64).to_numpy()
        if before is None or not len(before) or not len(values):
            continue
        value = psi(before, values, int(spec.get("bins", 10)))
        if worst is None or value > worst[0]:
            worst = (value, str(group))
    return Metric(
        "psi_" + column, worst[0] if worst else None, None, spec["max_psi"], spec["severity"],
        f"largest PSI of {column} by {by} against the last publish: {by} = {worst[1]}"
        if worst else "no earlier publish to compare with")


def as_suite_parts(metrics: list[Metric]) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """The one-row frame of metric values and the GX expectations that bound them."""
    frame = pl.DataFrame({m.name: [m.value] for m in metrics},
                         schema={m.name: pl.Float64 for m in metrics})
    expectations = []
    for m in metrics:
        kwargs: dict[str, Any] = {"column": m.name}
        if m.min_value is not None:
            kwargs["min_value"] = m.min_value
        if m.max_value is not None:
            kwargs["max_value"] = m.max_value
        expectations.append({"type": "expect_column_values_to_be_between", "kwargs": kwargs,
                             "meta": {"severity": m.severity, "context": m.context}})
    return frame, expectations
