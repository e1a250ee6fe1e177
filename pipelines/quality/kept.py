"""Verdicts kept for what was validated before, unchanged (issue 36).

A suite's verdicts are a function of what it checks: the table's content, the tables its
references point to, the suite itself, our code and the installed GX; a suite with checks
against earlier publishes (row counts, drift, freshness) also of that history and the run's
date. An export file's, of its bytes and its platform's suite. The audit keys each validation
by a digest of all of these; a key validated by the last audit keeps its verdicts and data-docs
result instead of asking Great Expectations again. A same-day rerun validates again only the
suites whose baseline moved (the first run's publication is now the last publish).

Only the last audit's validations are kept, so the table stays one run's size. Validations
that could not run (a missing table, a crash) are never kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from pipelines.quality.checks import PublishedHistory
from pipelines.quality.suites import SuiteSpec
from pipelines.quality.validate import ExpectationOutcome
from pipelines.reuse import digest

TABLE = "audit.validations_kept"
DDL = f"""
create table if not exists {TABLE} (
    key varchar not null,       -- a digest of everything the verdicts depend on
    run_id varchar not null,    -- the audit that validated it
    outcomes varchar not null,  -- JSON: the verdicts
    raw varchar not null        -- JSON: GX's results, for the data docs
)
"""


@dataclass(frozen=True)
class Kept:
    run_id: str
    outcomes: list[ExpectationOutcome]
    raw: list[dict[str, Any]]


def suite_key(con: duckdb.DuckDBPyConnection, suite: SuiteSpec, history: PublishedHistory,
              logical_date: Any, code: str) -> str | None:
    """The key of a table suite's validation; None when its tables cannot be read (the
    audit then validates it, and says why it failed)."""
    from pipelines.warehouse import table_content_hash

    try:
        content = table_content_hash(con, suite.table)
        references = sorted({(r.table, table_content_hash(con, r.table))
                             for r in suite.references})
    except duckdb.Error:
        return None
    parts: dict[str, Any] = {"suite": _suite(suite), "table": content,
                             "references": references, "code": code}
    if suite.checks:
        parts["day"] = str(logical_date)
        parts["history"] = _history(history, suite.table)
    return digest(parts)


def export_key(suite: SuiteSpec | None, name: str, entry: dict, path: Path, code: str) -> str:
    """The key of one export file's validation: its bytes, its manifest entry and suite."""
    content = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"
    return digest({"suite": _suite(suite) if suite else None, "name": name, "entry": entry,
                    "file": content, "code": code})


def load(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> dict[str, Kept]:
    """The kept validations among `keys`."""
    con.execute("create schema if not exists audit")
    con.execute(DDL)
    rows = con.execute(f"select key, run_id, outcomes, raw from {TABLE} "
                       "where key in (select unnest(?))", [sorted(set(keys))]).fetchall()
    return {key: Kept(run_id, [ExpectationOutcome(**o) for o in json.loads(outcomes)],
                      json.loads(raw)) for key, run_id, outcomes, raw in rows}


def replace(con: duckdb.DuckDBPyConnection, run_id: str,
            validated: dict[str, tuple[list[ExpectationOutcome], list[dict[str, Any]]]],
            kept: dict[str, Kept]) -> None:
    """Keep this audit's validations, and only those: `validated` now, `kept` from before."""
    from pipelines.quality.gate import SUITE_RUNS, TABLE_EXISTS

    every = {key: Kept(run_id, outcomes, raw) for key, (outcomes, raw) in validated.items()
             if not any(o.expectation_type in (TABLE_EXISTS, SUITE_RUNS) for o in outcomes)}
    rows = [(key, k.run_id, json.dumps([dataclasses.asdict(o) for o in k.outcomes]),
             json.dumps(k.raw, default=str)) for key, k in {**every, **kept}.items()]
    con.execute("begin")
    try:
        con.execute(f"delete from {TABLE}")
        if rows:
            con.executemany(f"insert into {TABLE} values (?, ?, ?, ?)", rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _suite(suite: SuiteSpec) -> dict[str, Any]:
    return {**dataclasses.asdict(suite), "path": suite.path.name}


def _history(history: PublishedHistory, table: str) -> Any:
    def array(values: np.ndarray) -> str:
        return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()

    return {
        "row_counts": history.row_counts.get(table),
        "values": sorted((c, array(v)) for (t, c), v in history.previous_values.items()
                         if t == table),
        "groups": sorted((c, sorted((g, array(v)) for g, v in groups.items()))
                         for (t, c), groups in history.previous_groups.items() if t == table),
    }


