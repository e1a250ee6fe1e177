"""The load ledger `audit.loads` and the quarantine `raw.quarantine`: every file, every row."""

from __future__ import annotations

import duckdb

DDL = (
    "create schema if not exists raw",
    "create schema if not exists audit",
    """
    create table if not exists audit.loads (
        file_path varchar not null,
        size_bytes bigint not null,
        sha256 varchar not null,
        source varchar not null,
        entity varchar,
        encoding varchar,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        run_id varchar not null,
        status varchar not null,
        message varchar,
        loaded_at timestamptz not null,
        modified_ns bigint
    )
    """,
    # Ledgers written before the file's modification time was kept.
    "alter table audit.loads add column if not exists modified_ns bigint",
    """
    create table if not exists raw.quarantine (
        source varchar not null,
        entity varchar not null,
        file_path varchar not null,
        sha256 varchar not null,
        row_number bigint,
        raw_line varchar,
        reason varchar not null,
        run_id varchar not null,
        quarantined_at timestamptz not null
    )
    """,
)

DONE_STATUSES = ("loaded", "empty")


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def loaded_hashes(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    """SHA-256 of every file of `source` already loaded (or found empty): those are skipped."""
    rows = con.execute(
        "select distinct sha256 from audit.loads where source = ? and status in (?, ?)",
        [source, *DONE_STATUSES],
    ).fetchall()
    return {sha for (sha,) in rows}


def unchanged_files(con: duckdb.DuckDBPyConnection, source: str) -> set[tuple[str, int, int]]:
    """(path, size, modification time in ns) of every file of `source` loaded (or found
    empty): a file that still shows all three is skipped without being read, as rsync's
    quick check does. A file rewritten in place gets a new modification time and is hashed."""
    rows = con.execute(
        "select distinct file_path, size_bytes, modified_ns from audit.loads "
        "where source = ? and status in (?, ?) and modified_ns is not null",
        [source, *DONE_STATUSES],
    ).fetchall()
    return {(path, size, modified) for path, size, modified in rows}


def note_modified(con: duckdb.DuckDBPyConnection, path: str, sha256: str,
                  modified_ns: int | None) -> None:
    """A file found to hold bytes already loaded from the same path (touched, or loaded
    before the ledger kept modification times): remember its time, so the next run need not
    read it."""
    con.execute(
        "update audit.loads set modified_ns = ? where file_path = ? and sha256 = ? "
        "and status in (?, ?)",
        [modified_ns, path, sha256, *DONE_STATUSES],
    )


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    file_path: str,
    size: int,
    sha256: str,
    source: str,
    entity: str | None,
    encoding: str | None,
    rows_read: int,
    rows_loaded: int,
    rows_quarantined: int,
    run_id: str,
    status: str,
    message: str | None = None,
    modified_ns: int | None = None,
) -> None:
    con.execute(
        "insert into audit.loads (file_path, size_bytes, sha256, source, entity, encoding, "
        "rows_read, rows_loaded, rows_quarantined, run_id, status, message, loaded_at, "
        "modified_ns) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [
            file_path,
            size,
            sha256,
            source,
            entity,
            encoding,
            rows_read,
            rows_loaded,
            rows_quarantined,
            run_id,
            status,
            message,
            modified_ns,
        ],
    )
