"""The audit step: validate every table due for publishing, record the verdicts, then gate.

Order matters: all outcomes are written to `audit.validations` before the gate raises, so a
blocked run always leaves a record of why it was blocked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.quality import kept
from pipelines.quality.checks import (
    PublishedHistory,
    as_suite_parts,
    metrics_for,
    read_history,
)
from pipelines.quality.docs import render_data_docs
from pipelines.quality.suites import Reference, SuiteSpec, load_suites
from pipelines.quality.validate import ExpectationOutcome, validate_frame
from pipelines.reuse import code_digest

logger = logging.getLogger(__name__)

AUDIT_TABLE = "audit.validations"
# Pseudo expectation types for verdicts GX never got to make; they sort with the real ones in
# the audit table and read naturally in the gate's message.
TABLE_EXISTS = "expect_table_to_exist"
SUITE_RUNS = "expect_suite_to_run"
REFERENCE_IN_SET = "expect_column_values_to_be_in_set"

_CREATE_AUDIT_TABLE = f"""
create table if not exists {AUDIT_TABLE} (
    run_id varchar not null,
    logical_date date not null,
    suite varchar not null,
    table_name varchar not null,
    expectation_type varchar not null,
    column_name varchar,
    severity varchar not null,
    success boolean not null,
    observed varchar,
    kwargs varchar,
    validated_at timestamptz not null
)
"""
# `current_timestamp` is the transaction's start time in DuckDB, so every row of one audit run
# carries the same `validated_at`.
_INSERT_AUDIT_ROW = f"""
insert into {AUDIT_TABLE} (run_id, logical_date, suite, table_name, expectation_type,
    column_name, severity, success, observed, kwargs, validated_at)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)
"""


class QualityGateError(RuntimeError):
    """An error-severity expectation failed, so nothing may be published.

    `failures` holds the blocking outcomes (the message lists them one per line) and `summary`
    the whole audit, when there was one.
    """

    def __init__(
        self,
        message: str,
        failures: list[ExpectationOutcome] | None = None,
        summary: AuditSummary | None = None,
    ) -> None:
        super().__init__(message)
        self.failures: list[ExpectationOutcome] = list(failures or [])
        self.summary = summary


@dataclass
class AuditSummary:
    """What one audit run validated and how it went."""

    run_id: str
    tables: list[str]
    evaluated: int
    failed_errors: int
    failed_warnings: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    logical_date: dt.date | None = None
    seconds: float = 0.0
    # Validations whose verdicts were kept from an earlier audit of the same content.
    kept: int = 0

    @property
    def passed(self) -> bool:
        """True when no error-severity expectation failed."""
        return self.failed_errors == 0

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict for logging and reports."""
        return {
            "run_id": self.run_id,
            "logical_date": self.logical_date.isoformat() if self.logical_date else None,
            "tables": list(self.tables),
            "evaluated": self.evaluated,
            "failed_errors": self.failed_errors,
            "failed_warnings": self.failed_warnings,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }


def audit_tables(
    con: duckdb.DuckDBPyConnection,
    suites_dir: Path,
    run_id: str,
    logical_date: dt.date,
    published: Path | None = None,
    exports: Path | None = None,
    docs_dir: Path | None = None,
    reuse: bool = True,
) -> AuditSummary:
    """Validate every suite's table in `con`, record all outcomes, and gate publishing.

    Outcomes replace any earlier rows of the same `run_id` in `audit.validations`, so a rerun
    is idempotent. Warnings are recorded and logged but never block. `published`, the file
    analysts read, is the baseline for the suites' row-count, freshness and drift checks.
    `exports`, a staged export folder with a manifest, has each file validated with the suite
    of its platform in `<suites_dir>/exports/`; a platform without a suite fails. With
    `docs_dir`, Great Expectations data docs of every validation are written there, pass or
    fail, so a person can see what was checked. With `reuse`, a validation of content the
    last audit validated, unchanged, keeps its verdicts (pipelines/quality/kept.py).

    Raises:
        SuiteError: a suite file is malformed (nothing is validated or recorded).
        QualityGateError: an error-severity expectation failed (after recording), or there are
            no suites at all.
    """
    if not run_id:
        raise ValueError("run_id must be a non-empty string")
    started = time.perf_counter()
    suites = load_suites(Path(suites_dir))
    if not suites:
        raise QualityGateError(
            f"no expectation suites found in {suites_dir}; refusing to publish unvalidated "
            "tables. Nothing was published."
        )

    watched = [
        (
            s.table,
            s.checks["drift"]["column"],
            *([s.checks["drift"]["by"]] if s.checks["drift"].get("by") else []),
        )
        for s in suites
        if "drift" in s.checks
    ]
    history = (
        read_history(Path(published), watched) if published is not None else PublishedHistory()
    )
    code = code_digest() if reuse else ""
    # Each validation with its key (None: not to be kept) and how to run it.
    planned: list[tuple[str | None, bool, Callable[[list[dict[str, Any]]],
                                                  list[ExpectationOutcome]]]] = []
    for suite in suites:
        key = kept.suite_key(con, suite, history, logical_date, code) if reuse else None
        planned.append((key, False, functools.partial(_audit_suite, con, suite, history,
                                                      logical_date)))
    if exports is not None and (Path(exports) / "manifest.json").exists():
        staged, export_suites = Path(exports), Path(suites_dir) / "exports"
        for name, suite, entry in _export_entries(staged, export_suites):
            key = (kept.export_key(suite, name, entry, staged / entry["path"], code)
                   if reuse else None)
            planned.append((key, True, functools.partial(_audit_export, staged, export_suites,
                                                         name, suite, entry)))
    found = kept.load(con, [key for key, _, _ in planned if key]) if reuse else {}
    outcomes: list[ExpectationOutcome] = []
    raw: list[dict[str, Any]] = []
    export_names: set[str] = set()
    validated: dict[str, tuple[list[ExpectationOutcome], list[dict[str, Any]]]] = {}
    used: dict[str, kept.Kept] = {}
    for key, is_export, validate in planned:
        if key is not None and key in found:
            used[key] = found[key]
            these, own_raw = found[key].outcomes, found[key].raw
        else:
            own_raw = []
            these = validate(own_raw)
            if key is not None:
                validated[key] = (these, own_raw)
        outcomes.extend(these)
        raw.extend(own_raw)
        if is_export:
            export_names.update(o.table for o in these)
    if used:
        logger.info("audit %s: %d of %d validations kept from earlier audits of the same "
                    "content", run_id, len(used), len(planned))

    _record(con, outcomes, run_id, logical_date)
    if reuse:
        kept.replace(con, run_id, validated, used)
    if docs_dir is not None:
        _write_docs(raw, Path(docs_dir), f"{run_id} ({logical_date.isoformat()})")

    blocking = [outcome for outcome in outcomes if outcome.blocking]
    warnings = [o for o in outcomes if not o.success and o.severity == "warning"]
    summary = AuditSummary(
        run_id=run_id,
        tables=[suite.table for suite in suites] + sorted(export_names),
        evaluated=len(outcomes),
        failed_errors=len(blocking),
        failed_warnings=len(warnings),
        outcomes=outcomes,
        logical_date=logical_date,
        seconds=time.perf_counter() - started,
        kept=len(used),
    )
    for outcome in warnings:
        logger.warning("quality warning: %s", outcome.describe())
    logger.info(
        "audit %s: %d tables, %d expectations, %d failed errors, %d failed warnings (%.2fs)",
        run_id,
        len(summary.tables),
        summary.evaluated,
        summary.failed_errors,
        summary.failed_warnings,
        summary.seconds,
    )
    if blocking:
        lines = "\n".join(outcome.describe() for outcome in blocking)
        raise QualityGateError(
            f"quality gate failed for run {run_id} ({logical_date.isoformat()}): "
            f"{len(blocking)} error-severity expectation(s) failed; nothing was published.\n"
            f"{lines}",
            failures=blocking,
            summary=summary,
        )
    return summary


def _audit_suite(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteSpec,
    history: PublishedHistory | None = None,
    logical_date: dt.date | None = None,
    raw: list[dict[str, Any]] | None = None,
) -> list[ExpectationOutcome]:
    """Outcomes for one suite; problems reading data become failed outcomes, not exceptions."""
    try:
        frame = con.sql(f"select * from {suite.table}").pl()
    except duckdb.CatalogException as exc:
        message = f"table {suite.table} does not exist ({_first_line(exc)})"
        return [_failure(suite, TABLE_EXISTS, None, message, "{}")]
    except duckdb.Error as exc:
        message = f"could not read table {suite.table}: {_first_line(exc)}"
        return [_failure(suite, TABLE_EXISTS, None, message, "{}")]

    extras: list[dict[str, Any]] = []
    resolved: list[Reference] = []
    unresolved: list[ExpectationOutcome] = []
    for reference in suite.references:
        missing = _missing_reference_values(con, suite.table, reference)
        if isinstance(missing, str):
            kwargs = _reference_kwargs_json(reference)
            unresolved.append(_failure(suite, REFERENCE_IN_SET, reference.column, missing, kwargs))
            continue
        resolved.append(reference)
        extras.append(
            {
                "type": "expect_column_values_to_not_be_in_set",
                "kwargs": {"column": reference.column, "value_set": missing},
                "meta": {"severity": "error", "reference": reference.target},
            }
        )

    try:
        outcomes = validate_frame(frame, suite, extra_expectations=extras, raw_results=raw)
    except Exception as exc:
        # Fail closed but keep going: the other tables still get validated and everything is
        # recorded, and this suite's failure blocks publishing with the reason attached.
        logger.exception("validating %s with suite %s crashed", suite.table, suite.name)
        message = f"validation crashed: {type(exc).__name__}: {_first_line(exc)}"
        return [_failure(suite, SUITE_RUNS, None, message, "{}"), *unresolved]

    # validate_frame returns the extras last, in order: record each under the check it stands
    # for, "values are in the referenced column", which is what a reader of the audit expects.
    base = len(outcomes) - len(extras)
    for offset, reference in enumerate(resolved):
        outcomes[base + offset] = dataclasses.replace(
            outcomes[base + offset],
            expectation_type=REFERENCE_IN_SET,
            kwargs_json=_reference_kwargs_json(reference),
        )
    if suite.checks and history is not None and logical_date is not None:
        outcomes.extend(_run_checks(frame, suite, history, logical_date, raw))
    return outcomes + unresolved


def validate_exports(staged: Path, suites_dir: Path) -> list[ExpectationOutcome]:
    """Outcomes of every file in a staged export folder against its platform's suite, without
    recording them (for exports built on demand, outside a daily run)."""
    return _audit_exports(Path(staged), Path(suites_dir))


def read_export_file(path: Path) -> pl.DataFrame:
    """An export file as text columns, as a platform reads it: a CSV as written; a JSON file
    (`{"columns": [...], "rows": [{...}, ...]}`) with each value as its text, null as null."""
    if path.suffix != ".json":
        return pl.read_csv(path, infer_schema=False)
    document = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(document, dict) and isinstance(document.get("columns"), list)
            and isinstance(document.get("rows"), list)
            and all(isinstance(r, dict) for r in document["rows"])):
        raise ValueError(f"{path}: an export JSON file must be an object with a list of "
                         "`columns` and a list of `rows` (objects)")
    columns, rows = document["columns"], document["rows"]
    return pl.DataFrame(
        {c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in columns},
        schema=dict.fromkeys(columns, pl.String))


def _audit_exports(
    staged: Path, suites_dir: Path, raw: list[dict[str, Any]] | None = None
) -> list[ExpectationOutcome]:
    """Validate every file in a staged export's manifest with its platform's suite.

    Files are read as text, exactly as a platform will read them. A platform without a suite,
    or a file whose row count differs from the manifest, fails: nothing unvalidated leaves.
    """
    outcomes: list[ExpectationOutcome] = []
    for name, suite, entry in _export_entries(staged, suites_dir):
        outcomes.extend(_audit_export(staged, suites_dir, name, suite, entry, raw))
    return outcomes


def _export_entries(staged: Path, suites_dir: Path) -> list[tuple[str, SuiteSpec | None, dict]]:
    """Each file of a staged export's manifest: its audit name, its suite (named for its
    audience; None when its platform has none) and its manifest entry."""
    suites = (
        {s.table.split(".", 1)[1]: s for s in load_suites(suites_dir)}
        if suites_dir.is_dir()
        else {}
    )
    manifest = json.loads((staged / "manifest.json").read_text())
    entries = []
    for entry in manifest["files"]:
        name = f"exports/{entry['path']}"
        suite = suites.get(entry["platform"])
        if suite is not None:
            suite = dataclasses.replace(suite, table=name,
                                        name=f"{suite.name}__{entry['audience']}")
        entries.append((name, suite, entry))
    return entries


def _audit_export(staged: Path, suites_dir: Path, name: str, suite: SuiteSpec | None,
                  entry: dict, raw: list[dict[str, Any]] | None = None
                  ) -> list[ExpectationOutcome]:
    """Validate one staged export file with its platform's suite."""
    if suite is None:
        placeholder = SuiteSpec(
            name=f"export_{entry['platform']}", table=name, expectations=[], path=suites_dir
        )
        return [
            _failure(
                placeholder,
                SUITE_RUNS,
                None,
                f"no suite for platform {entry['platform']!r} in {suites_dir}",
                "{}",
            )
        ]
    outcomes: list[ExpectationOutcome] = []
    frame = read_export_file(staged / entry["path"])
    if frame.height != entry["rows"]:
        outcomes.append(
            _failure(
                suite,
                "expect_table_row_count_to_equal",
                None,
                f"{frame.height} rows, manifest says {entry['rows']}",
                "{}",
            )
        )
    outcomes.extend(validate_frame(frame, suite, raw_results=raw))
    return outcomes


def _write_docs(raw: list[dict[str, Any]], out_dir: Path, title: str) -> None:
    """Data docs are for people; failing to render them must never decide a publish."""
    try:
        index = render_data_docs(raw, out_dir, title)
        logger.info("data docs written to %s", index)
    except Exception:
        logger.exception("could not render data docs into %s", out_dir)


def _run_checks(
    frame: pl.DataFrame,
    suite: SuiteSpec,
    history: PublishedHistory,
    logical_date: dt.date,
    raw: list[dict[str, Any]] | None = None,
) -> list[ExpectationOutcome]:
    """Validate the suite's comparisons with earlier publishes as a one-row metrics frame."""
    metrics = metrics_for(suite.table, frame, suite.checks, history, logical_date)
    metric_frame, expectations = as_suite_parts(metrics)
    checks_suite = dataclasses.replace(
        suite, name=f"{suite.name}__history_checks", expectations=expectations, references=[]
    )
    outcomes = validate_frame(metric_frame, checks_suite, raw_results=raw)
    described = []
    for outcome, metric in zip(outcomes, metrics, strict=True):
        value = "n/a" if metric.value is None else f"{metric.value:.3f}"
        described.append(
            dataclasses.replace(outcome, observed=f"{metric.name} = {value} ({metric.context})")
        )
    return described


def _missing_reference_values(
    con: duckdb.DuckDBPyConnection, table: str, reference: Reference
) -> list[Any] | str:
    """Distinct non-null `reference.column` values of `table` absent from the referenced column.

    The referential check runs in GX as "not in this set of missing values", which flags exactly
    the rows that "in the set of referenced values" would. Handing GX the full referenced set
    instead is far too slow: GX copies an expectation's kwargs dozens of times per validation,
    so a 100k-key value set cost about 15 s per reference. The missing set is empty on a healthy
    run, and DuckDB's anti join finds it in milliseconds.

    Returns an error message instead when the reference cannot be resolved.
    """
    column, target = reference.column, reference.target_column
    sql = f"""
        select distinct c.{column}
        from {table} as c
        anti join (select {target} as k from {reference.table} where {target} is not null) as p
            on c.{column} = p.k
        where c.{column} is not null
    """
    try:
        rows = con.sql(sql).fetchall()
    except duckdb.Error as exc:
        return f"cannot resolve reference to {reference.target}: {_first_line(exc)}"
    # Decimal keys are compared as floats in the frame GX sees (see validate._to_pandas).
    return [float(row[0]) if isinstance(row[0], Decimal) else row[0] for row in rows]


def _reference_kwargs_json(reference: Reference) -> str:
    return json.dumps({"column": reference.column, "value_set": f"<{reference.target}>"})


def _failure(
    suite: SuiteSpec, expectation_type: str, column: str | None, observed: str, kwargs_json: str
) -> ExpectationOutcome:
    return ExpectationOutcome(
        suite=suite.name,
        table=suite.table,
        expectation_type=expectation_type,
        column=column,
        severity="error",
        success=False,
        observed=observed,
        kwargs_json=kwargs_json,
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    outcomes: list[ExpectationOutcome],
    run_id: str,
    logical_date: dt.date,
) -> None:
    """Replace this run's rows in the audit table, atomically."""
    schema = AUDIT_TABLE.split(".", 1)[0]
    con.execute(f"create schema if not exists {schema}")
    con.execute(_CREATE_AUDIT_TABLE)
    rows = [
        (
            run_id,
            logical_date,
            outcome.suite,
            outcome.table,
            outcome.expectation_type,
            outcome.column,
            outcome.severity,
            outcome.success,
            outcome.observed,
            outcome.kwargs_json,
        )
        for outcome in outcomes
    ]
    con.begin()
    try:
        con.execute(f"delete from {AUDIT_TABLE} where run_id = ?", [run_id])
        if rows:
            con.executemany(_INSERT_AUDIT_ROW, rows)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    logger.debug("recorded %d outcomes for run %s in %s", len(rows), run_id, AUDIT_TABLE)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
