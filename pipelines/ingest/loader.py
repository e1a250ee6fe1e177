"""Load landing files into their raw tables with the ledger and quarantine: a file, or a batch
of small NDJSON files of one export folder, in one transaction.

DuckDB's own readers do the parsing (streamed, no row-by-row Python). Each format first stages
the files as temporary rows (`_ingest_stage`, or for CSV the view `_ingest_csv_rows`, with the
file, the data row number `__mp_row` and a `__mp_reason` when the row is bad) and a table of CSV
records the reader could not parse (`_ingest_bad`; NDJSON explains those lines in the staged
rows). The shared finish then checks each file's error budget and, in one transaction,
replaces earlier exports of the same partitions and writes the raw rows, the quarantine and
every file's ledger entry.

CSV columns are stored as text (staging casts them); NDJSON and Parquet are stored typed,
nested records kept as structs and lists of structs.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath

import duckdb

from pipelines.ingest import ledger
from pipelines.ingest.files import FileFacts
from pipelines.ingest.sources import Column, EntitySpec

log = logging.getLogger(__name__)

STAGE = "_ingest_stage"
BAD = "_ingest_bad"
REJECTS = "_ingest_rejects"
SCANS = "_ingest_scans"
LINES = "_ingest_lines"
SHIFTS = "_ingest_shifts"
CSV_ROWS = "_ingest_csv_rows"
TEMPS = (STAGE, BAD, REJECTS, SCANS, LINES, SHIFTS)
# Accepted CSV rows are renumbered in blocks of this many rows (see `_csv_row_shifts`).
SHIFT_BLOCK = 1024
RECORD_SEPARATOR = "\x1e"  # never in valid NDJSON, so each line is one field
# The reader splits a file into scan units of 16 lines of the longest size it allows: at
# 2 MB, a 120 MB GA4 file is read on every thread; a file with a longer line is read again
# at 64 MB, in one unit.
LINE_LIMITS = (2 << 20, 64 << 20)
SUSPECT = "(recheck)"
# The raw tables' own columns (their names are the contract dbt's staging reads). An export's
# column or key of the same name (any case) is stored as `<name>__export`; the loader's
# working columns all start with `__mp_`, a prefix no export column may use.
META_COLUMNS = ("_file", "_row", "_loaded_at", "_run_id")
RESERVED = "__mp_"
RENAMED = "{}__export"


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


@dataclass
class Staged:
    """A file staged for the finish: its data columns with their types, and how to show a
    good-but-broken row in the quarantine."""

    columns: dict[str, str]
    raw_line: str
    rows: str = STAGE  # the relation `_commit` reads the staged rows from
    notes: list[str] = field(default_factory=list)  # what the ledger says of a loaded file


class FileRejected(ValueError):
    """Staging found the file cannot be loaded; `reason` follows "<file>: rejected, "."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: rejected, {reason}")
        self.path, self.reason = path, reason


def stored_names(header: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    """The name each column of a header is read and stored under, the problems that reject
    the file, and notes for the ledger.

    An empty name (a header ending in a comma) is read under a working name and decided by its
    values (`_stage_csv`). A name of the raw table's own columns is stored as `<name>__export`.
    Two names that differ only in case reject the file: DuckDB's names ignore case, and which
    of the two the pipeline should read is not the loader's guess to make.
    """
    names: list[str] = []
    problems: list[str] = []
    notes: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    for position, name in enumerate(header, 1):
        if not name:
            names.append(f"{RESERVED}unnamed_{position}")
            continue
        if name.lower().startswith(RESERVED):
            problems.append(f"column {position} {name!r} starts with {RESERVED!r}, a prefix "
                            "the loader keeps for its own columns; rename it")
        stored = name
        if name.lower() in META_COLUMNS:
            stored = RENAMED.format(name)
            notes.append(f"column {position} {name!r} is stored as {stored!r}: the raw "
                         f"table's own columns are {', '.join(META_COLUMNS)}")
        first = seen.setdefault(stored.lower(), (name, position))
        if first[1] != position:
            if first[0] == name:
                problems.append(f"column {name!r} appears more than once (columns {first[1]} "
                                f"and {position})")
            else:
                problems.append(f"columns {first[0]!r} (column {first[1]}) and {name!r} "
                                f"(column {position}) differ only in case, which the warehouse "
                                "cannot tell apart; rename or remove one")
        names.append(stored)
    return names, problems, notes


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parsed(column: Column, value: str) -> str | None:
    """SQL that parses `value` as the column's kind (NULL when it does not); None for text."""
    if column.kind == "integer":
        return f"try_cast({value} as bigint)"
    if column.kind == "decimal":
        return f"try_cast({value} as decimal(18, 2))"
    if column.kind == "timestamp":
        if column.fmt:
            return f"try_strptime({value}, {quote_literal(column.fmt)})"
        return f"try_cast({value} as timestamptz)"
    return None


BAD_KIND = {"integer": "is not a whole number", "decimal": "is not a number"}


def _violation(column: Column, expression: str | None = None) -> str | None:
    """SQL that yields a reason when the column's text breaks its rule, else NULL.

    The rule reads the text trimmed, blank as missing. Trimming costs more than the rest of a
    CSV row's checks together, and the rule holds for nearly every value as it is, so the
    CASE settles those first: a value that parses as it is also parses trimmed, and text that
    starts with a printable ASCII character is not blank. Only the rest are trimmed.
    """
    value = expression or quote_ident(column.name)
    parsed = _parsed(column, value)
    rule = None
    if column.rule:
        condition, reason = column.rule
        trimmed = f"nullif(trim({value}), '')"
        checked = condition.format(trimmed)
        if parsed is not None:
            checked = f"{_parsed(column, trimmed)} is null or {checked}"
        rule = f"case when {trimmed} is not null and not ({checked}) then " \
               f"{quote_literal(reason)} end"
    if parsed is None and not column.required:
        return rule
    missing = quote_literal(f"missing required field: {column.name}")
    branches: list[tuple[str, str]] = []
    if column.required:
        branches.append((f"{value} is null", missing))
    if parsed is not None:
        branches.append((f"{parsed} is not null", "null"))
    else:
        branches.append((f"{value} >= '!' and {value} < chr(127)", "null"))
    trimmed = f"nullif(trim({value}), '')"
    if column.required:
        branches.append((f"{trimmed} is null", missing))
    if parsed is not None:
        reason = (f"bad timestamp: {column.name}" if column.kind == "timestamp"
                  else f"bad type: {column.name} {BAD_KIND[column.kind]}")
        branches.append((f"{trimmed} is not null and {_parsed(column, trimmed)} is null",
                         quote_literal(reason)))
    checks = "case " + " ".join(f"when {cond} then {then}" for cond, then in branches) + " end"
    return f"coalesce({checks}, {rule})" if rule else checks


def _reason_sql(checks: list[str]) -> str:
    return f"nullif(concat_ws('; ', {', '.join(checks)}), '')" if checks else "null"


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


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    facts: FileFacts,
    run_id: str,
    error_budget: float,
    min_bad_rows: int = 1,
) -> LoadResult:
    """Load one file of `spec` into its raw table, or reject it whole.

    One transaction covers the raw rows, the quarantined rows, the replacement of an earlier
    export of the same partition, and the ledger entry: a crash leaves nothing of the file
    behind and the rerun loads it again from the start.
    """
    return _load(con, spec, [facts], run_id, (error_budget, min_bad_rows))[0]


def load_ndjson_files(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    files: list[FileFacts],
    run_id: str,
    error_budget: float,
    min_bad_rows: int = 1,
) -> list[LoadResult]:
    """Load several small NDJSON files of `spec` from one export folder, in one encoding, each
    with its own error budget, row numbers and ledger entry, in one transaction.

    They are read, checked and written by one query each: planning a query costs more than
    reading a small file (25 ms for Meta Ads insights, whose monthly files hold ~200 rows).
    """
    return _load(con, spec, files, run_id, (error_budget, min_bad_rows))


def _load(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    files: list[FileFacts],
    run_id: str,
    budget: tuple[float, int],
) -> list[LoadResult]:
    results: dict[str, LoadResult] = {}
    todo = []
    for facts in files:
        early = _without_rows(con, spec, facts, run_id)
        if early:
            results[str(facts.path)] = early
        else:
            todo.append(facts)
    if todo:
        # Staging writes temporary tables only, so it runs before the transaction: a CSV
        # file's rowids are only numbered in file order once its table is committed.
        stage = {"csv": _stage_csv, "ndjson": _stage_ndjson, "parquet": _stage_parquet}
        try:
            if len(todo) == 1:
                staged = [stage[spec.format_of(todo[0].path.name)](con, spec, todo[0])]
            else:
                staged = _stage_ndjson_files(con, spec, todo)
        except (FileRejected, duckdb.InvalidInputException,
                duckdb.ConversionException) as error:
            _drop_temps(con)
            if len(todo) > 1:  # which file: each on its own
                for facts in todo:
                    results[str(facts.path)] = _load(con, spec, [facts], run_id, budget)[0]
                return [results[str(facts.path)] for facts in files]
            reason = error.reason if isinstance(error, FileRejected) else (
                "the reader could not read it: " + str(error).strip().splitlines()[0])
            results[str(todo[0].path)] = _reject(con, spec, todo[0], run_id, reason)
            return [results[str(facts.path)] for facts in files]
        except BaseException:
            _drop_temps(con)
            raise
        results.update({r.file: r for r in _commit(con, spec, todo, run_id, budget, staged)})
        _drop_temps(con)
    return [results[str(facts.path)] for facts in files]


def _reject(con: duckdb.DuckDBPyConnection, spec: EntitySpec, facts: FileFacts, run_id: str,
            reason: str) -> LoadResult:
    """Record a file rejected whole, and say why in one sentence naming it."""
    message = f"{facts.path}: rejected, {reason}"
    ledger.record(con, **_ledger_base(spec, facts, run_id), rows_read=0, rows_loaded=0,
                  rows_quarantined=0, status="rejected", message=message)
    return LoadResult(str(facts.path), spec.source, spec.entity, "rejected", message=message)


def _ledger_base(spec: EntitySpec, facts: FileFacts, run_id: str) -> dict:
    return {
        "file_path": str(facts.path), "size": facts.size, "sha256": facts.sha256,
        "source": spec.source, "entity": spec.entity, "encoding": facts.encoding,
        "run_id": run_id, "modified_ns": facts.modified_ns,
    }


def _without_rows(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, facts: FileFacts, run_id: str
) -> LoadResult | None:
    """Record an empty file, or reject a CSV file whose header lacks what the entity needs;
    None when the file's rows are to be read."""
    path = str(facts.path)
    base = {"file": path, "source": spec.source, "entity": spec.entity}
    ledger_base = _ledger_base(spec, facts, run_id)
    if facts.problem:
        message = f"{path}: rejected, {facts.problem}"
        ledger.record(con, **ledger_base, rows_read=0, rows_loaded=0, rows_quarantined=0,
                      status="rejected", message=message)
        return LoadResult(**base, status="rejected", message=message)
    if not facts.has_data:
        ledger.record(con, **ledger_base, rows_read=0, rows_loaded=0, rows_quarantined=0,
                      status="empty", message="file has no data rows")
        log.info("%s: empty file recorded", path)
        return LoadResult(**base, status="empty", message="file has no data rows")

    if spec.format_of(facts.path.name) == "csv":
        problems = stored_names(facts.header)[1] + missing_columns(spec, facts.header)
        if problems:
            message = f"{path}: rejected, " + "; ".join(problems)
            ledger.record(con, **ledger_base, rows_read=0, rows_loaded=0, rows_quarantined=0,
                          status="rejected", message=message)
            return LoadResult(**base, status="rejected", message=message)
    return None


def _commit(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    files: list[FileFacts],
    run_id: str,
    budget: tuple[float, int],
    staged: list[Staged],
) -> list[LoadResult]:
    """One transaction for the staged files: the raw rows and quarantine of those within the
    error budget, and every file's ledger entry (saying why, for a file over the budget).
    A crash leaves nothing of them behind; the rerun loads them again from the start."""
    results = _verdicts(con, spec, files, budget, staged[0].rows)
    for result, st in zip(results, staged, strict=True):
        if result.status == "loaded" and st.notes:
            result.message = "; ".join(st.notes)
    accepted = [(f, st) for f, st, r in zip(files, staged, results, strict=True)
                if r.status == "loaded"]
    con.execute("begin transaction")
    try:
        if accepted:
            _write(con, spec, run_id, accepted, every_file=len(accepted) == len(files))
        for facts, result in zip(files, results, strict=True):
            ledger.record(con, **_ledger_base(spec, facts, run_id), rows_read=result.rows_read,
                          rows_loaded=result.rows_loaded,
                          rows_quarantined=result.rows_quarantined, status=result.status,
                          message=result.message or None)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        _columns_cache.clear()  # the rollback may have undone a table or column made here
        _drop_temps(con)
        raise
    for result in results:
        if result.status == "loaded" and result.rows_quarantined:
            log.warning("%s: %d of %d rows quarantined (%s)", result.file,
                        result.rows_quarantined, result.rows_read,
                        ", ".join(f"{r}: {n}" for r, n in result.top_reasons))
    return results


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    """Staging tables are replaced by the next file; the CSV reader's rejects tables must go,
    or the next file would inherit their rows, and a CSV file's lines are let go at once."""
    con.execute(f"drop table if exists {REJECTS}")
    con.execute(f"drop table if exists {SCANS}")
    con.execute(f"drop view if exists {CSV_ROWS}")
    con.execute(f"drop table if exists {LINES}")


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every staging table; called once a source is done."""
    con.execute(f"drop view if exists {CSV_ROWS}")
    for temp in TEMPS:
        con.execute(f"drop table if exists {temp}")


def _stage_csv(con: duckdb.DuckDBPyConnection, spec: EntitySpec, facts: FileFacts) -> Staged:
    path = str(facts.path)
    header = facts.header
    names, _, notes = stored_names(header)
    # The reader takes the columns by position, under these names.
    columns_struct = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in names) + "}"
    encoding = "utf-8" if facts.read_path else facts.encoding
    reader = (
        f"read_csv({quote_literal(str(facts.readable_path))}, columns = {columns_struct}, "
        f"auto_detect = false, "
        f"header = true, delim = ',', quote = '\"', escape = '\"', "
        f"encoding = {quote_literal(encoding)}, store_rejects = true, "
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
    cols = ", ".join(quote_ident(h) for h in names)
    # Read and checked on every thread. The insertion order is kept, so once committed the
    # table's rowid is the record's place among the records the reader accepted.
    con.execute(f"create or replace temp table {LINES} as "
                f"select {cols}, {_reason_sql(checks)} as __mp_reason from {reader}")
    header = _unnamed_columns(con, path, names, notes)
    cols = ", ".join(quote_ident(h) for h in header)
    # DuckDB numbers a rejected record's line counting the header as line 1; several errors
    # on one line are one bad row.
    con.execute(
        f"create or replace temp table {BAD} as "
        f"select line - 1 as record, 'parse error: ' || lower(min(error_type)) as reason, "
        f"any_value(csv_line) as raw_line, row_number() over (order by line) as j, "
        f"{quote_literal(path)} as __mp_file_path from {REJECTS} group by line"
    )
    row, shifts = "__mp_n", ""
    if con.sql(f"select 1 from {BAD} limit 1").fetchall():
        _csv_row_shifts(con)
        row = ("__mp_n + __mp_shift_base + "
               "coalesce(len(list_filter(__mp_shift_keys, lambda k: k < __mp_n)), 0)")
        shifts = f"join {SHIFTS} on __mp_n // {SHIFT_BLOCK} = __mp_shift_block"
    # A view: the finish's few reads of it cost less than writing the file once more.
    con.execute(
        f"create or replace temp view {CSV_ROWS} as "
        f"with numbered as (select *, rowid + 1 as __mp_n from {LINES}) "
        f"select {cols}, {row} as __mp_row, __mp_reason, {quote_literal(path)} as __mp_file_path "
        f"from numbered {shifts}"
    )
    raw_line = "json_object(" + ", ".join(
        f"{quote_literal(h)}, {quote_ident(h)}" for h in header) + ")"
    return Staged(columns={h: "VARCHAR" for h in header}, raw_line=f"cast({raw_line} as varchar)",
                  rows=CSV_ROWS, notes=notes)


def _unnamed_columns(con: duckdb.DuckDBPyConnection, path: str, names: list[str],
                     notes: list[str]) -> list[str]:
    """The staged columns less those with no name in the header: one empty throughout (a
    header ending in a comma, as spreadsheets write) is left out with a note; one that holds
    a value rejects the file, naming its position and first row."""
    kept = []
    for position, name in enumerate(names, 1):
        if not name.startswith(f"{RESERVED}unnamed_"):
            kept.append(name)
            continue
        first = con.sql(f"select min(rowid) + 1 from {LINES} "
                        f"where nullif(trim({quote_ident(name)}), '') is not null").fetchall()
        if first[0][0] is not None:
            raise FileRejected(path, f"column {position} has no name in the header but holds "
                                     f"values (first in row {first[0][0]}); name it in the "
                                     "header or remove it")
        notes.append(f"column {position} has no name and no values; left out")
    return kept


def _csv_row_shifts(con: duckdb.DuckDBPyConnection) -> None:
    """How far each accepted row's number moves for the rejected records before it.

    Accepted row i is data row i plus the rejected records before it. The j-th rejected
    record comes before accepted row i when record - j < i (its key); keys never fall as j
    grows. The count of keys below i is the count in earlier blocks of rows (`__mp_shift_base`)
    plus those in i's own block below i (`__mp_shift_keys`, a few): an equality join on the block
    that runs on every thread, where an as-of join took 1.9 s for 2.3M rows and a correlated
    count minutes.
    """
    con.execute(
        f"create or replace temp table {SHIFTS} as "
        f"with keys as (select record - j as key from {BAD}), "
        f"blocks as (select unnest(range(0, (select count(*) from {LINES}) // {SHIFT_BLOCK} "
        f"+ 1)) as __mp_shift_block), "
        f"filled as (select key // {SHIFT_BLOCK} as __mp_shift_block, count(*) as n, "
        f"list(key) as __mp_shift_keys from keys group by 1) "
        f"select __mp_shift_block, coalesce(sum(n) over (order by __mp_shift_block rows between "
        f"unbounded preceding and 1 preceding), 0) as __mp_shift_base, __mp_shift_keys "
        f"from blocks left join filled using (__mp_shift_block)"
    )


@contextmanager
def _order_free(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let a query's rows come out in any order (`__mp_row` keeps the file's), so every thread
    works on it."""
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute("set preserve_insertion_order = true")


def _json_path(key: str) -> str:
    return quote_literal("$." + json.dumps(key))


def _stage_ndjson(con: duckdb.DuckDBPyConnection, spec: EntitySpec, facts: FileFacts) -> Staged:
    return _stage_ndjson_files(con, spec, [facts])[0]


def _stage_ndjson_files(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, files: list[FileFacts]
) -> list[Staged]:
    """One JSON object per line: each line read whole, then checked and cast to the source's
    structure in the same pass. Lines whose cast fails are explained field by field.

    The staged rows keep the raw line only where it is needed later: quarantined rows, and
    rows with keys the structure does not know. Several files (of one encoding) are staged
    together, each row with its `__mp_file_path` and its row number in that file.
    """
    paths = [str(f.path) for f in files]
    known = dict(spec.structure)
    by_name = {c.name: c for c in spec.columns}
    # Vectorised evaluation does not short-circuit AND: every JSON function gets a safe input,
    # and the costly tests sit in CASE branches that run only for the rows that reach them.
    safe = "try_cast(__mp_line as json)"
    checks = []
    for key, sql_type in known.items():
        column = by_name.get(key)
        field = quote_ident(key)
        if column and column.required:
            # Text is NULL only when absent or an explicit null: both are missing.
            absent = "" if sql_type == "VARCHAR" else (
                f" and not list_contains(__mp_keys, {quote_literal(key)})")
            checks.append(f"case when {field} is null{absent} then "
                          f"{quote_literal('missing required field: ' + key)} end")
        if sql_type != "VARCHAR":
            # Present but NULL once cast: a bad value or an explicit JSON null. An optional
            # field's null is recognised here, since exports written by Arrow or pandas keep
            # every null, on most lines; the branch parses the line again only for the rows
            # that reach it. The rest are explained field by field below.
            explicit_null = "" if column and column.required else (
                f"when json_extract({safe}, {_json_path(key)}) = 'null' then null ")
            checks.append(f"case when {field} is not null then null "
                          f"when not coalesce(list_contains(__mp_keys, {quote_literal(key)}), "
                          f"false) then null {explicit_null}"
                          f"else {quote_literal(SUSPECT)} end")
        elif column and column.kind != "text":
            rule = _violation(Column(key, column.kind, False, column.fmt))
            if rule:
                checks.append(rule)

    struct = "STRUCT(" + ", ".join(f"{quote_ident(k)} {t}" for k, t in known.items()) + ")"
    known_keys = "[" + ", ".join(quote_literal(k) for k in known) + "]"
    many = len(files) > 1
    encoding = "utf-8" if files[0].read_path else files[0].encoding

    def reader(line_limit: int) -> str:
        return (
            f"read_csv([{', '.join(quote_literal(str(f.readable_path)) for f in files)}], "
            f"columns = {{'__mp_line': 'VARCHAR'}}, auto_detect = false, header = false, "
            f"delim = {quote_literal(RECORD_SEPARATOR)}, quote = '', escape = '', "
            f"encoding = {quote_literal(encoding)}, max_line_size = {line_limit}, "
            f"filename = {'true' if many else 'false'})"
        )

    # Invalid JSON has no keys; valid JSON that starts with a brace is an object.
    unparsed = (
        "case when __mp_keys is null then 'parse error: invalid JSON' "
        "when prefix(__mp_line, '{') then null "
        f"when json_type({safe}) <> 'OBJECT' then 'parse error: not a JSON object' end"
    )
    # Read on every thread with the insertion order kept, so once committed the table's rowid
    # is the line's place in the batch (`row_number() over ()` read on one thread). A table
    # this size is one row group, scanned by one thread; materialised, its lines are parsed
    # on every thread once the order of the staged rows is free (`__mp_row` keeps the file's).
    file_path = "filename" if many else quote_literal(paths[0])
    for limit in LINE_LIMITS:
        try:
            con.execute(f"create or replace temp table {LINES} as "
                        f"select __mp_line, {file_path} as __mp_file_path "
                        f"from {reader(limit)}")
            break
        except duckdb.InvalidInputException as error:
            # The error quotes the whole line; only its kind matters here.
            if limit == LINE_LIMITS[-1] or "Maximum line size" not in str(error):
                raise
    lines = f"(select __mp_line, __mp_file_path, rowid + 1 as __mp_row from {LINES})"
    if many:
        # The files come out one after another, in order: a row's number in its file is its
        # place in the batch less the rows of the files before it.
        lines = (f"(select __mp_line, __mp_file_path, rowid + 1 - __mp_before as __mp_row "
                 f"from {LINES} join "
                 f"(select __mp_file_path, min(rowid) as __mp_before from {LINES} group by 1) "
                 f"using (__mp_file_path))")
    with _order_free(con):
        # Each line's keys stay in the staged rows: they tell a missing field from a null one,
        # and show the keys the source's structure does not know.
        con.execute(
            f"create or replace temp table {STAGE} as "
            f"with lines as materialized (select * from {lines}), "
            f"parsed as (select __mp_line, __mp_row, __mp_file_path, "
            f"try_cast({safe} as {struct}) as __mp_typed, "
            f"json_keys({safe}) as __mp_keys from lines "
            f"where case when prefix(__mp_line, '{{') then true else trim(__mp_line) <> '' end), "
            f"checked as (select unnest(__mp_typed), __mp_row, __mp_file_path, __mp_keys, "
            f"__mp_line, "
            f"{unparsed} as __mp_unparsed "
            f"from parsed), "
            f"reasoned as (select * exclude (__mp_unparsed), "
            f"coalesce(__mp_unparsed, {_reason_sql(checks)}) as __mp_reason from checked) "
            f"select * replace (case when __mp_reason is not null "
            f"or not list_has_all({known_keys}, __mp_keys) then __mp_line end as __mp_line) "
            f"from reasoned"
        )
    con.execute(f"drop table {LINES}")
    _no_bad_rows(con)
    keys_by_file: dict[str, set[str]] = {p: set() for p in paths}
    for file_path, key in con.sql(
        f"select distinct __mp_file_path, unnest(__mp_keys) as k from {STAGE}"
    ).fetchall():
        if key not in known:
            keys_by_file[file_path].add(key)
    extra = sorted(set().union(*keys_by_file.values()))
    stored = _stored_keys(keys_by_file, known)
    if extra:
        # Drift: keys the structure does not know are kept, as JSON, on the lines that have
        # them (which kept their raw line for this).
        for key in extra:
            con.execute(f"alter table {STAGE} add column {quote_ident(stored[key])} JSON")
        sets = ", ".join(f"{quote_ident(stored[k])} = "
                         f"nullif(json_extract(__mp_line, {_json_path(k)}), 'null')"
                         for k in extra)
        names = "[" + ", ".join(quote_literal(k) for k in extra) + "]"
        con.execute(f"update {STAGE} set {sets} where list_has_any(__mp_keys, {names})")
    if con.sql(f"select 1 from {STAGE} where contains(__mp_reason, {quote_literal(SUSPECT)}) "
               f"limit 1").fetchall():
        _explain_suspects(con, known, by_name)
    # A file's raw rows get the new keys it has, not those of the files staged with it.
    return [
        Staged(columns={**known, **{stored[key]: "JSON" for key in sorted(keys_by_file[p])}},
               raw_line="__mp_line", notes=[
                   f"key {key!r} is stored as {stored[key]!r}: the raw table's own columns are "
                   f"{', '.join(META_COLUMNS)}"
                   for key in sorted(keys_by_file[p]) if stored[key] != key])
        for p in paths
    ]


def _stored_keys(keys_by_file: dict[str, set[str]], known: dict[str, str]) -> dict[str, str]:
    """The column each key the structure does not know is stored under (a name of the raw
    table's own columns as `<name>__export`); a key with the loader's prefix, or two names
    that differ only in case, reject the file that has them."""
    stored: dict[str, str] = {}
    for path, keys in keys_by_file.items():
        taken = {k.lower(): k for k in known}
        for key in sorted(keys):
            if key.lower().startswith(RESERVED):
                raise FileRejected(path, f"key {key!r} starts with {RESERVED!r}, a prefix the "
                                         "loader keeps for its own columns; rename it")
            name = RENAMED.format(key) if key.lower() in META_COLUMNS else key
            clash = taken.setdefault(name.lower(), key)
            if clash != key:
                raise FileRejected(path, f"keys {clash!r} and {key!r} differ only in case, "
                                         "which the warehouse cannot tell apart; rename or "
                                         "remove one")
            stored[key] = name
    return stored


def _explain_suspects(con: duckdb.DuckDBPyConnection, known: dict[str, str],
                      by_name: dict[str, Column]) -> None:
    """Recheck rows with a present-but-NULL typed field field by field: a JSON null is fine
    (unless required), anything else is a bad type. Rare, so done only when needed."""
    reasons = []
    for key, sql_type in known.items():
        raw = f"json_extract(__mp_line, {_json_path(key)})"
        present = f"({raw} is not null and json_type({raw}) <> 'NULL')"
        column = by_name.get(key)
        if column and column.required:
            reasons.append(f"case when not {present} then "
                           f"{quote_literal('missing required field: ' + key)} end")
        if sql_type != "VARCHAR":
            reason = quote_literal(f"bad type: {key} is not {sql_type.lower()}")
            reasons.append(f"case when {present} and try_cast({raw} as {sql_type}) is null "
                           f"then {reason} end")
        elif column and column.kind != "text":
            rule = _violation(Column(key, column.kind, False, column.fmt),
                              f"json_extract_string(__mp_line, {_json_path(key)})")
            if rule:
                reasons.append(rule)
    con.execute(
        f"update {STAGE} set __mp_reason = {_reason_sql(reasons)} "
        f"where contains(__mp_reason, {quote_literal(SUSPECT)})"
    )


def _no_bad_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Formats that find every bad row while staging leave the table of unparsed rows empty."""
    con.execute(f"create or replace temp table {BAD} as "
                f"select 0::bigint as record, ''::varchar as reason, ''::varchar as raw_line, "
                f"''::varchar as __mp_file_path where false")


def _stage_parquet(con: duckdb.DuckDBPyConnection, spec: EntitySpec, facts: FileFacts) -> Staged:
    """Parquet (e.g. GA4 exported from BigQuery) is typed already, but not always as the
    source's structure says: a column that is NULL in every row may be written as int64 where
    BigQuery has STRING, and records carry fields the product does not read. Each column is
    cast to its declared type (a value that does not cast is a bad row) and every other
    column kept as JSON, as for NDJSON, so a raw table looks the same whichever format its
    files came in. Required fields are checked."""
    path = quote_literal(str(facts.path))
    described = con.sql(f"describe select * from read_parquet({path})").fetchall()
    file_types = {name: sql_type for name, sql_type, *_ in described}
    declared = {c.name: "VARCHAR" for c in spec.columns}
    declared.update(dict(spec.structure))
    types = {name: declared.get(name, "JSON") for name in file_types}
    stored = _stored_keys({str(facts.path): set(file_types) - set(declared)}, declared)
    stored.update({name: name for name in declared})
    checks = [
        f"case when {quote_ident(c.name)} is null then "
        f"{quote_literal('missing required field: ' + c.name)} end"
        for c in spec.columns if c.required and c.name in types
    ]
    missing = [c.name for c in spec.columns if c.required and c.name not in types]
    if missing:
        checks.append(quote_literal(f"missing required field: {', '.join(missing)}"))
    typed = []
    for name, sql_type in types.items():
        column = quote_ident(name)
        if sql_type == "JSON":
            typed.append(f"to_json({column}) as {quote_ident(stored[name])}")
            continue
        cast = f"try_cast({column} as {sql_type})"
        typed.append(f"{cast} as {quote_ident(stored[name])}")
        checks.append(f"case when {column} is not null and {cast} is null then "
                      f"{quote_literal(f'bad type: {name} is not {sql_type.lower()}')} end")
    original = ", ".join(quote_ident(c) for c in file_types)
    con.execute(
        f"create or replace temp table {STAGE} as "
        f"with checked as (select *, {_reason_sql(checks)} as __mp_reason "
        f"from read_parquet({path}, file_row_number = true)) "
        f"select {', '.join(typed)}, file_row_number + 1 as __mp_row, __mp_reason, "
        f"case when __mp_reason is not null then "
        f"cast(to_json(struct_pack({original})) as varchar) end as __mp_line, "
        f"{path} as __mp_file_path from checked"
    )
    _no_bad_rows(con)
    return Staged(columns={stored[name]: t for name, t in types.items()},
                  raw_line="__mp_line")


def _verdicts(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    files: list[FileFacts],
    budget: tuple[float, int],
    rows: str,
) -> list[LoadResult]:
    """Each staged file's counts, and whether it is within the error budget."""
    tallies = con.sql(
        f"select __mp_file_path, 'bad' as kind, reason, count(*) from {BAD} group by all "
        f"union all select __mp_file_path, 'stage', __mp_reason, count(*) from {rows} group by all"
    ).fetchall()
    share, floor = budget
    results = []
    for facts in files:
        path = str(facts.path)
        base = {"file": path, "source": spec.source, "entity": spec.entity}
        mine = [(kind, reason, n) for file_path, kind, reason, n in tallies if file_path == path]
        accepted = sum(n for kind, _, n in mine if kind == "stage")
        typed_bad = sum(n for kind, reason, n in mine if kind == "stage" and reason)
        structural = sum(n for kind, _, n in mine if kind == "bad")
        rows_read = accepted + structural
        quarantined = structural + typed_bad
        reasons = Counter()
        for _, reason, n in mine:
            if reason:
                reasons[reason] += n
        top = reasons.most_common(3)
        if rows_read and quarantined > max(share * rows_read, floor):
            summary = ", ".join(f"{r} ({n})" for r, n in top)
            message = (
                f"{path}: rejected, {quarantined} of {rows_read} rows are bad "
                f"({quarantined / rows_read:.1%}, over the error budget of {share:.0%}); "
                f"most common reasons: {summary}. Nothing from this file was loaded. Fix the "
                f"export, or raise MARKETING_ERROR_BUDGET_{spec.source.upper()} if these rows "
                f"are expected."
            )
            results.append(LoadResult(**base, status="rejected", rows_read=rows_read,
                                      rows_quarantined=quarantined, message=message,
                                      top_reasons=top))
        else:
            results.append(LoadResult(**base, status="loaded", rows_read=rows_read,
                                      rows_loaded=accepted - typed_bad,
                                      rows_quarantined=quarantined, top_reasons=top))
    return results


def _write(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    run_id: str,
    accepted: list[tuple[FileFacts, Staged]],
    every_file: bool,
) -> None:
    """Write the accepted files' raw rows and quarantined rows, replacing what earlier export
    folders held for their partitions. Unless `every_file` was accepted, the staged rows of
    the others are left out."""
    rows, raw_line = accepted[0][1].rows, accepted[0][1].raw_line
    paths = [str(facts.path) for facts, _ in accepted]
    mine = "true" if every_file else (
        "list_contains([" + ", ".join(quote_literal(p) for p in paths) + "], __mp_file_path)")
    columns: dict[str, str] = {}
    for _, staged in accepted:
        columns.update(staged.columns)
    spec_columns = {c.name: "VARCHAR" for c in spec.columns}
    _ensure_raw_table(con, spec.table, {**spec_columns, **dict(spec.structure), **columns})
    if spec.replace_by:
        # A newer export of a day replaces what earlier export folders delivered for it;
        # files of one export folder (parts, several days) live side by side.
        folder = str(PurePath(paths[0]).parent) + "/"
        key = quote_ident(spec.replace_by)
        replaced = con.execute(
            f"delete from {spec.table} where not starts_with(_file, ?) and {key} in "
            f"(select distinct {key} from {rows} where __mp_reason is null and {mine})", [folder]
        ).fetchall()
        if replaced[0][0]:
            log.info("%s: replaced %d rows that earlier exports held for their days",
                     ", ".join(paths), replaced[0][0])
    cols = ", ".join(quote_ident(c) for c in columns)
    con.execute(
        f"insert into {spec.table} by name select {cols}, __mp_file_path as _file, "
        f"__mp_row as _row, now() as _loaded_at, {quote_literal(run_id)} as _run_id "
        f"from {rows} where __mp_reason is null and {mine}"
    )
    source, entity, run = quote_literal(spec.source), quote_literal(spec.entity), \
        quote_literal(run_id)
    sha = "case __mp_file_path " + " ".join(
        f"when {quote_literal(str(facts.path))} then {quote_literal(facts.sha256)}"
        for facts, _ in accepted) + " end"
    con.execute(
        f"insert into raw.quarantine "
        f"select {source}, {entity}, __mp_file_path, {sha}, record, raw_line, reason, {run}, now() "
        f"from {BAD} where {mine} union all "
        f"select {source}, {entity}, __mp_file_path, {sha}, __mp_row, {raw_line}, __mp_reason, "
        f"{run}, now() from {rows} where __mp_reason is not null and {mine}"
    )


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> None:
    """Create the raw table of `spec` if it does not exist yet, so staging can always read it,
    even before the first file of an optional source arrives."""
    wanted = {c.name: "VARCHAR" for c in spec.columns}
    wanted.update(dict(spec.structure))
    _ensure_raw_table(con, spec.table, wanted)


# Columns of each raw table as last seen during one ingest call (`start_run` empties it), so
# each file does not ask the catalog again.
_columns_cache: dict[str, set[str]] = {}


def start_run() -> None:
    """Forget cached table columns: a new ingest call may be on another database."""
    _columns_cache.clear()


def _ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, wanted: dict[str, str]) -> None:
    """Create the raw table on first sight; add columns a later file brings (schema drift)."""
    schema, name = table.split(".")
    key = table
    existing = _columns_cache.get(key)
    if existing is None:
        existing = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
        }
    if set(wanted) <= existing:
        _columns_cache[key] = existing
        return
    if not existing:
        cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in wanted.items())
        con.execute(
            f"create table {table} ({cols}, _file varchar, _row bigint, "
            f"_loaded_at timestamptz, _run_id varchar)"
        )
        _columns_cache[key] = set(wanted) | set(META_COLUMNS)
        return
    added = [c for c in wanted if c not in existing]
    for column in added:
        con.execute(f"alter table {table} add column {quote_ident(column)} {wanted[column]}")
    # Informational, not a warning: an export carries more columns than the pipeline reads
    # (42 of Shopify's, on a first load) and a vendor adds some over time; nothing to act on.
    # A column the pipeline needs that goes missing is caught by the file's checks instead.
    log.info("%s: %d new columns in the export, added to the raw table: %s", table,
             len(added), ", ".join(added))
    _columns_cache[key] = existing | set(wanted)
