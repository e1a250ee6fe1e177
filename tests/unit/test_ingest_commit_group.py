"""Files written in one transaction until they fill a row group: each is still all or nothing."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from conftest import write_landing
from test_ingest_json import ga4_event

from pipelines.ingest import ledger
from pipelines.ingest.files import inspect_file
from pipelines.ingest.loader import CommitGroup, ensure_raw_table, load_file, start_run
from pipelines.ingest.run import ingest_source
from pipelines.ingest.sources import SOURCES
from pipelines.warehouse import connect

GA4 = SOURCES["ga4"][0]


def ga4_files(settings, days: int, rows: int) -> list:
    return [
        write_landing(settings, "ga4", "2026-10-30", f"events_2026102{d}.ndjson",
                      "\n".join(ga4_event(i, f"2026102{d}") for i in range(rows)))
        for d in range(days)
    ]


def committed(reader: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Ledger entries and raw rows another connection sees: only what is committed."""
    return (reader.sql("select count(*) from audit.loads").fetchall()[0][0],
            reader.sql("select count(*) from raw.ga4__events").fetchall()[0][0])


def load(con, path, group=None):
    return load_file(con, GA4, inspect_file(path, "ndjson"), "r1", 0.05, 1, group)


def test_files_share_a_transaction_until_their_rows_fill_the_group(settings):
    paths = ga4_files(settings, 4, 100)
    con = connect(settings)
    start_run()
    try:
        ledger.ensure_ledger(con)
        ensure_raw_table(con, GA4)
        reader = con.cursor()
        with CommitGroup(con, rows=250) as group:
            load(con, paths[0], group)
            load(con, paths[1], group)
            assert committed(reader) == (0, 0)
            load(con, paths[2], group)  # 300 rows: the group commits
            assert committed(reader) == (3, 300)
            load(con, paths[3], group)
            assert committed(reader) == (3, 300)
        assert committed(reader) == (4, 400)
        load(con, ga4_files(settings, 5, 10)[4])  # no group: commits on its own
        assert committed(reader) == (5, 410)
    finally:
        con.close()


def test_a_failure_in_the_group_undoes_its_files_and_the_rerun_loads_them(settings):
    paths = ga4_files(settings, 3, 100)
    con = connect(settings)
    start_run()
    try:
        ledger.ensure_ledger(con)
        ensure_raw_table(con, GA4)
        reader = con.cursor()
        with pytest.raises(duckdb.IOException), CommitGroup(con, rows=10_000) as group:
            load(con, paths[0], group)
            facts = inspect_file(paths[1], "ndjson")
            paths[1].unlink()  # gone between its inspection and its load
            load_file(con, GA4, facts, "r1", 0.05, 1, group)
        assert committed(reader) == (0, 0)
        load(con, paths[2])  # the connection is usable after the rollback
        assert committed(reader) == (1, 100)
    finally:
        con.close()
    report = ingest_source(settings, "ga4", "r2", date(2026, 10, 31))
    assert [(r.file.rsplit("_", 1)[1], r.status) for r in report.results] == [
        ("20261020.ndjson", "loaded"), ("20261022.ndjson", "skipped")]
