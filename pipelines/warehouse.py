"""DuckDB connections, and write-audit-publish of the warehouse file analysts read.

The pipeline writes only `work.duckdb`. `publish` copies the audited tables into a new file
beside `marketing.duckdb` and swaps it in with `os.replace`, so a reader sees either the old or
the new publication, never a mix, and a crash at any point leaves the last good one in place.

Analysts' tools embed older DuckDB releases than the pipeline's, so the published file is
written in an older storage format, and every published table is also written as a Parquet
file (`parquet/<schema>/<table>.parquet`, with `views.sql`) that any tool reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Settings

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

# The storage format of the published file. DuckDB 2.0 writes format 69 by default, which no
# 1.x release reads (DBeaver, BI drivers and the registry's DuckDB CLI 1.5.6 embed 1.x). A
# file written as 'v1.0.0' opened in DuckDB 1.1.3, 1.2.2 and 1.5.6 (checked 2026-12-05), and
# was the same size as one in 'v1.5.0' format for our column types.
PUBLISHED_STORAGE_VERSION = "v1.0.0"
# The Parquet copy of the publication: a link swapped atomically to the newest copy's folder.
PARQUET_LINK = "parquet"

RUNS_DDL = """
create table if not exists meta.runs (
    run_id varchar not null,
    logical_date date not null,
    published_at timestamptz not null,
    tables varchar not null,
    row_counts varchar not null,
    content_hashes varchar not null,
    versions varchar not null,
    validation varchar not null
)
"""


def connect(settings: Settings, path: Path | None = None, read_only: bool = False,
            storage_version: str | None = None):
    """Open a DuckDB connection with the configured memory limit, threads and spill folder;
    `storage_version` sets the format a new file is written in."""
    target = path or settings.work_db
    target.parent.mkdir(parents=True, exist_ok=True)
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int] = {
        "memory_limit": settings.duckdb_memory_limit,
        "threads": settings.duckdb_threads,
        "temp_directory": str(settings.temp_dir),
    }
    if storage_version:
        config["storage_compatibility_version"] = storage_version
    from pipelines.normalize import udfs  # polars and phonenumbers: loaded only when used

    con = duckdb.connect(str(target), read_only=read_only, config=config)
    # The work file's staging views call the normalisation functions (dbt's connection has
    # them from its plugin): any connection that reads those views needs them too.
    return udfs.register(con)


@contextmanager
def work_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the work file that is always closed, so no task holds the write lock."""
    con = connect(settings)
    try:
        yield con
    finally:
        con.close()


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, ddl: str, rows: pa.Table,
                 where: str = "true", params: Sequence[object] = ()) -> None:
    """Replace the rows of `table` (`schema.name`, created by `ddl` if missing) that match
    `where` with `rows`, in one transaction: a failed write leaves the old rows, and readers
    never see the table half written. Callers sort `rows`, so a rerun writes the same rows."""
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    con.execute(ddl)
    view = f"_replace_{table.replace('.', '_')}"
    con.register(view, rows)
    try:
        con.execute("begin transaction")
        con.execute(f"delete from {table} where {where}", list(params))
        con.execute(f"insert into {table} select * from {view}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister(view)


def table_content_hash(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A hash of a table's columns (names and types) and rows, in any row order: equal tables
    give equal hashes. The rows count as their number and two independent 64-bit sums of
    their DuckDB `hash`es: one pass, no sort and no text, where an MD5 of each row as text,
    sorted, took several times as long."""
    relation = con.sql(f"select * from {table}")
    columns = [f"{n} {t}" for n, t in zip(relation.columns, relation.types, strict=True)]
    count, first, second = con.execute(
        f"select count(*), sum(hash(t)), sum(hash(t, 1)) from {table} as t").fetchall()[0]
    return hashlib.sha256(json.dumps([columns, count, str(first), str(second)]).encode()
                          ).hexdigest()


@dataclass(frozen=True)
class Publication:
    """What one publish wrote: the file, the tables with their row counts and content hashes."""

    path: Path
    row_counts: dict[str, int]
    content_hashes: dict[str, str]


def _existing_runs(published: Path) -> list[tuple]:
    if not published.exists():
        return []
    con = duckdb.connect(str(published), read_only=True)
    try:
        found = con.sql(
            "select count(*) from information_schema.tables "
            "where table_schema = 'meta' and table_name = 'runs'"
        ).fetchall()[0][0]
        if not found:
            return []
        return con.sql("select * from meta.runs order by published_at").fetchall()
    finally:
        con.close()


@dataclass(frozen=True)
class LastPublication:
    run_id: str
    logical_date: date
    content_hashes: dict[str, str]  # every table but the run logs


def last_publication(settings: Settings) -> LastPublication | None:
    """The newest publication recorded in the published file's `meta.runs`, if any."""
    runs = _existing_runs(settings.published_db)
    if not runs:
        return None
    newest = max(runs, key=lambda r: r[2])  # published_at
    hashes = {t: h for t, h in json.loads(newest[5]).items() if t not in RUN_LOGS}
    return LastPublication(newest[0], newest[1], hashes)


def work_content_hashes(settings: Settings, tables: Sequence[str]) -> dict[str, str]:
    """Content hash of each of `tables` in the work file, the run logs left out: equal to
    the hashes their published copies get, as the hash ignores row order."""
    with work_connection(settings) as con:
        return {t: table_content_hash(con, t) for t in tables if t not in RUN_LOGS}


def published_run_ids(settings: Settings) -> list[str]:
    """The run ids of every publication so far."""
    return [row[0] for row in _existing_runs(settings.published_db)]


def publish(
    settings: Settings,
    tables: Sequence[str],
    run_id: str,
    logical_date: date,
    versions: dict[str, str],
    validation: dict,
    row_filters: dict[str, str] | None = None,
    known_hashes: dict[str, str] | None = None,
) -> Publication:
    """Copy the audited `tables` from the work file into a new published file, atomically.

    The new file is built under a temporary name, fsynced, then moved over
    `marketing.duckdb` with `os.replace`. `meta.runs` carries the history of every publish,
    this one included. `row_filters` maps a table to a SQL condition its published rows
    meet; `known_hashes` are content hashes already taken of the work tables (not filtered),
    so they are not taken twice. Returns the row counts and content hashes published.
    """
    published = settings.published_db
    staging = published.with_name(f".{published.name}.{os.getpid()}.building")
    # A publish killed midway leaves its half-built file; writers are serialised, so any such
    # file is garbage by now.
    for leftover in published.parent.glob(f".{published.name}.*.building*"):
        leftover.unlink(missing_ok=True)
    history = _existing_runs(published)

    con = connect(settings, path=staging, storage_version=PUBLISHED_STORAGE_VERSION)
    try:
        con.execute(f"attach '{settings.work_db}' as work (read_only)")
        row_counts: dict[str, int] = {}
        hashes: dict[str, str] = {}
        for table in tables:
            schema = table.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            key_order = _order_clause(con, f"work.{table}")
            where = f"where {row_filters[table]}" if row_filters and table in row_filters else ""
            con.execute(
                f"create table {table} as select * from work.{table} {where} {key_order}")
            row_counts[table] = con.sql(f"select count(*) from {table}").fetchall()[0][0]
            unfiltered = not (row_filters and table in row_filters)
            hashes[table] = ((known_hashes or {}).get(table) if unfiltered else None) or (
                table_content_hash(con, table))
        con.execute("detach work")
        con.execute("create schema if not exists meta")
        con.execute(RUNS_DDL)
        if history:
            con.executemany("insert into meta.runs values (?, ?, ?, ?, ?, ?, ?, ?)", history)
        con.execute(
            "insert into meta.runs values (?, ?, now(), ?, ?, ?, ?, ?)",
            [
                run_id,
                logical_date,
                json.dumps(sorted(tables)),
                json.dumps(row_counts, sort_keys=True),
                json.dumps(hashes, sort_keys=True),
                json.dumps(versions, sort_keys=True),
                json.dumps(validation, sort_keys=True, default=str),
            ],
        )
        con.execute("checkpoint")
        parquet = _write_parquet(con, published.parent, [*tables, "meta.runs"])
    finally:
        con.close()

    _fsync(staging)
    os.replace(staging, published)
    _fsync(published.parent)
    _swap_link(published.parent / PARQUET_LINK, parquet)
    log.info("published %d tables to %s and %s", len(tables), published,
             published.parent / PARQUET_LINK)
    return Publication(path=published, row_counts=row_counts, content_hashes=hashes)


def _write_parquet(con: duckdb.DuckDBPyConnection, folder: Path, tables: Sequence[str]) -> Path:
    """Write each table to `<new folder>/<schema>/<table>.parquet` with a `views.sql` that
    makes a view of each over its file (paths relative to the folder); returns the folder."""
    target = folder / f".{PARQUET_LINK}-{os.getpid()}-{os.urandom(4).hex()}"
    views = [
        "-- The published tables as views over their Parquet files. Run it from this folder:",
        f"--   cd {PARQUET_LINK} && duckdb -init views.sql",
    ]
    for table in sorted(tables):
        schema, name = table.split(".")
        (target / schema).mkdir(parents=True, exist_ok=True)
        relative = f"{schema}/{name}.parquet"
        con.execute(f"copy {table} to '{target / relative}' (format parquet)")
        views.append(f"create schema if not exists {schema};")
        views.append(f"create or replace view {table} as select * from read_parquet('{relative}');")
    (target / "views.sql").write_text("\n".join(views) + "\n")
    return target


def _swap_link(link: Path, target: Path) -> None:
    """Point `link` at `target` in one atomic step, then delete the folders it pointed at
    before. A reader that opened a file through the old link keeps reading the old copy."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)
    if link.exists() and not link.is_symlink():
        temporary.unlink()
        raise RuntimeError(f"{link} is a folder, not the link publish keeps there; move it away")
    os.replace(temporary, link)
    for old in link.parent.glob(f".{link.name}-*"):
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)


def _order_clause(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Order published rows by their first column so the file's layout does not vary by run."""
    first = con.sql(f"select * from {table} limit 0").columns[0]
    return f'order by "{first}"'


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Logs of runs, which grow with every run by design; the rest is the published content.
RUN_LOGS = frozenset({"meta.runs", "ml.model_runs"})


def published_hashes(settings: Settings) -> dict[str, str]:
    """Content hash of every published table except the run logs."""
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        tables = con.sql(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema <> 'meta' order by 1"
        ).fetchall()
        return {t: table_content_hash(con, t) for (t,) in tables if t not in RUN_LOGS}
    finally:
        con.close()
