"""Load one landing file into its raw table, in one transaction, with the ledger and quarantine.

DuckDB's own CSV reader does the parsing (streamed, no row-by-row Python). Rows it cannot
split go to its rejects table; rows that split but break a column rule (missing required
field, bad number, bad timestamp) are found in SQL. Both land in `raw.quarantine` with the
file, the data row number and the reason. Every column is stored as text in raw: staging casts.
"""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from dataclasses import dataclass, field

import duckdb

from pipelines.ingest import ledger
from pipelines.ingest.files import FileFacts
from pipelines.ingest.sources import Column, EntitySpec

log = logging.getLogger(__name__)

STAGE = "_ingest_stage"
REJECTS = "_ingest_rejects"
SCANS = "_ingest_scans"
META_COLUMNS = ("_file", "_row", "_loaded_at", "_run_id")


@dataclass
class LoadResult:
    """What happened to one file. `status`: loaded, empty, skipped or rejected."""

    file: str
    source: str
    entity: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    top_reasons: list[tuple[str, int]] = field(default_factory=list)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _violation(column: Column) -> str | None:
    """SQL that yields a reason when the column's text breaks its rule, else NULL."""
    col = f"nullif(trim({quote_ident(column.name)}), '')"
    checks: list[tuple[str, str]] = []
    if column.required:
        checks.append((f"{col} is null", f"missing required field: {column.name}"))
    if column.kind == "integer":
        checks.append(
            (f"{col} is not null and try_cast({col} as bigint) is null",
             f"bad type: {column.name} is not a whole number")
        )
    elif column.kind == "decimal":
        checks.append(
            (f"{col} is not null and try_cast({col} as decimal(18, 2)) is null",
             f"bad type: {column.name} is not a number")
        )
    elif column.kind == "timestamp":
        parsed = (
            f"try_strptime({col}, {quote_literal(column.fmt)})"
            if column.fmt
            else f"try_cast({col} as timestamptz)"
        )
        checks.append(
            (f"{col} is not null and {parsed} is null",
             f"bad timestamp: {column.name}")
        )
    if not checks:
        return None
    return "case " + " ".join(
        f"when {cond} then {quote_literal(reason)}" for cond, reason in checks
    ) + " end"


def missing_columns(spec: EntitySpec, header: tuple[str, ...]) -> list[str]:
    """Messages for each required column absent from the header, with the closest match."""
    problems = []
    for column in spec.columns:
        if column.required and column.name not in header:
            close = difflib.get_close_matches(column.name, header, n=1, cutoff=0.5)
            hint = f" (closest match in the file: {close[0]!r})" if close else ""
            problems.append(f"required column {column.name!r} is missing{hint}")
    for group in spec.required_any:
        if not any(c in header for c in group):
            problems.append(f"needs one of the columns {list(group)}; the file has none")
    return problems


def load_csv(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    facts: FileFacts,
    run_id: str,
    error_budget: float,
) -> LoadResult:
    """Load one CSV file of `spec` into its raw table, or reject it whole.

    One transaction covers the raw rows, the quarantined rows and the ledger entry, so a crash
    leaves nothing of the file behind and the rerun loads it again from the start.
    """
    path = str(facts.path)
    base = {"file": path, "source": spec.source, "entity": spec.entity}
    ledger_base = {
        "file_path": path,
        "size": facts.size,
        "sha256": facts.sha256,
        "source": spec.source,
        "entity": spec.entity,
        "encoding": facts.encoding,
        "run_id": run_id,
    }

    if not facts.has_data:
        ledger.record(con, **ledger_base, rows_read=0, rows_loaded=0, rows_quarantined=0,
                      status="empty", message="file has no data rows")
        log.info("%s: empty file recorded", path)
        return LoadResult(**base, status="empty", message="file has no data rows")

    problems = missing_columns(spec, facts.header)
    duplicates = [h for h, n in Counter(facts.header).items() if n > 1]
    if duplicates:
        problems.append(f"columns appear more than once: {duplicates}")
    if problems:
        message = f"{path}: rejected, " + "; ".join(problems)
        ledger.record(con, **ledger_base, rows_read=0, rows_loaded=0, rows_quarantined=0,
                      status="rejected", message=message)
        return LoadResult(**base, status="rejected", message=message)

    con.execute("begin transaction")
    try:
        result = _load_in_transaction(con, spec, facts, run_id, error_budget, ledger_base)
    except BaseException:
        con.execute("rollback")
        raise
    if result.status == "rejected":
        con.execute("rollback")
        ledger.record(con, **ledger_base, rows_read=result.rows_read, rows_loaded=0,
                      rows_quarantined=result.rows_quarantined, status="rejected",
                      message=result.message)
    else:
        con.execute("commit")
    for temp in (STAGE, REJECTS, SCANS):
        con.execute(f"drop table if exists {temp}")
    return result


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    facts: FileFacts,
    run_id: str,
    error_budget: float,
    ledger_base: dict,
) -> LoadResult:
    path = str(facts.path)
    header = facts.header
    columns_struct = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in header) + "}"
    reader = (
        f"read_csv({quote_literal(path)}, columns = {columns_struct}, auto_detect = false, "
        f"header = true, delim = ',', quote = '\"', escape = '\"', "
        f"encoding = {quote_literal(facts.encoding)}, store_rejects = true, "
        f"rejects_table = '{REJECTS}', rejects_scan = '{SCANS}', rejects_limit = 0)"
    )
    checks = [v for c in spec.columns if c.name in header and (v := _violation(c))]
    for group in spec.required_any:
        present = [quote_ident(c) for c in group if c in header]
        if present:
            filled = " or ".join(f"nullif(trim({c}), '') is not null" for c in present)
            checks.append(
                f"case when not ({filled}) then "
                f"{quote_literal('missing required field: one of ' + ', '.join(group))} end"
            )
    reason = f"nullif(concat_ws('; ', {', '.join(checks)}), '')" if checks else "null"
    cols = ", ".join(quote_ident(h) for h in header)
    con.execute(
        f"create or replace temp table {STAGE} as "
        f"select {cols}, row_number() over () as _i, {reason} as _reason from {reader}"
    )
    # DuckDB reports a rejected record's line counting the header as line 1; several errors
    # on one line are one bad row.
    con.execute(
        f"create or replace temp table _ingest_bad as "
        f"select line - 1 as record, min(error_type) as error_type, "
        f"any_value(csv_line) as csv_line, "
        f"row_number() over (order by line) as j from {REJECTS} group by line"
    )
    accepted, typed_bad = con.sql(
        f"select count(*), count(_reason) from {STAGE}"
    ).fetchall()[0]
    structural = con.sql("select count(*) from _ingest_bad").fetchall()[0][0]
    rows_read = accepted + structural
    quarantined = structural + typed_bad
    reasons = Counter(
        dict(
            con.sql(
                f"select reason, count(*) from ("
                f" select 'parse error: ' || lower(error_type) as reason from _ingest_bad"
                f" union all select _reason from {STAGE} where _reason is not null)"
                f" group by reason"
            ).fetchall()
        )
    )
    top = reasons.most_common(3)
    base = {"file": path, "source": spec.source, "entity": spec.entity}

    if rows_read and quarantined / rows_read > error_budget:
        summary = ", ".join(f"{r} ({n})" for r, n in top)
        message = (
            f"{path}: rejected, {quarantined} of {rows_read} rows are bad "
            f"({quarantined / rows_read:.1%}, over the error budget of {error_budget:.0%}); "
            f"most common reasons: {summary}. Nothing from this file was loaded. Fix the "
            f"export, or raise MARKETING_ERROR_BUDGET if these rows are expected."
        )
        con.execute("drop table if exists _ingest_bad")
        return LoadResult(**base, status="rejected", rows_read=rows_read,
                          rows_quarantined=quarantined, message=message, top_reasons=top)

    _ensure_raw_table(con, spec.table, header + tuple(
        c.name for c in spec.columns if c.name not in header))
    # The data row number of accepted row i: i plus the rejected records that precede it.
    con.execute(
        f"insert into {spec.table} by name "
        f"select {cols}, {quote_literal(path)} as _file, "
        f"  s._i + (select count(*) from _ingest_bad b where b.record - b.j < s._i) as _row, "
        f"  now() as _loaded_at, {quote_literal(run_id)} as _run_id "
        f"from {STAGE} s where s._reason is null"
    )
    row_json = "json_object(" + ", ".join(
        f"{quote_literal(h)}, {quote_ident(h)}" for h in header
    ) + ")"
    con.execute(
        "insert into raw.quarantine "
        f"select {quote_literal(spec.source)}, {quote_literal(spec.entity)}, "
        f"{quote_literal(path)}, {quote_literal(facts.sha256)}, record, csv_line, "
        f"'parse error: ' || lower(error_type), {quote_literal(run_id)}, now() "
        f"from _ingest_bad "
        f"union all "
        f"select {quote_literal(spec.source)}, {quote_literal(spec.entity)}, "
        f"{quote_literal(path)}, {quote_literal(facts.sha256)}, "
        f"  s._i + (select count(*) from _ingest_bad b where b.record - b.j < s._i), "
        f"  cast({row_json} as varchar), s._reason, {quote_literal(run_id)}, now() "
        f"from {STAGE} s where s._reason is not null"
    )
    con.execute("drop table if exists _ingest_bad")
    loaded = accepted - typed_bad
    ledger.record(con, **ledger_base, rows_read=rows_read, rows_loaded=loaded,
                  rows_quarantined=quarantined, status="loaded")
    if quarantined:
        log.warning("%s: %d of %d rows quarantined (%s)", path, quarantined, rows_read,
                    ", ".join(f"{r}: {n}" for r, n in top))
    return LoadResult(**base, status="loaded", rows_read=rows_read, rows_loaded=loaded,
                      rows_quarantined=quarantined, top_reasons=top)


def _ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, header: tuple[str, ...]) -> None:
    """Create the raw table on first sight; add columns a later file brings (schema drift).

    Columns the spec names but the file lacks are created empty, so staging can rely on them.
    """
    schema, name = table.split(".")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    if not existing:
        cols = ", ".join(f"{quote_ident(h)} varchar" for h in header)
        con.execute(
            f"create table {table} ({cols}, _file varchar, _row bigint, "
            f"_loaded_at timestamptz, _run_id varchar)"
        )
        return
    for h in header:
        if h not in existing:
            log.warning("%s: new column %r in the export, added to the raw table", table, h)
            con.execute(f"alter table {table} add column {quote_ident(h)} varchar")
