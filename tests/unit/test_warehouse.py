"""Publish: audited tables into a new file, swapped in whole; content hashes; dbt results."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from pipelines.daily import PublishRefusedError, audited_tables
from pipelines.transform import read_run_results
from pipelines.warehouse import connect, publish, published_hashes, table_content_hash


def make_work(settings, rows: int) -> None:
    con = connect(settings)
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.t as select range as id, range * 2 as v "
                f"from range({rows})")
    con.close()


def test_content_hash_ignores_row_order_and_sees_any_change():
    con = duckdb.connect()
    con.execute("create table a as select * from (values (1, 'x'), (2, 'y')) t(i, s)")
    con.execute("create table b as select * from (values (2, 'y'), (1, 'x')) t(i, s)")
    con.execute("create table c as select * from (values (2, 'y'), (1, 'z')) t(i, s)")
    assert table_content_hash(con, "a") == table_content_hash(con, "b")
    assert table_content_hash(con, "a") != table_content_hash(con, "c")


def test_publish_replaces_the_file_whole_and_keeps_run_history(settings):
    make_work(settings, 3)
    first = publish(settings, ["marts.t"], "run1", date(2026, 1, 1), {"dbt": "1"}, {})
    reader = duckdb.connect(str(settings.published_db), read_only=True)
    make_work(settings, 5)
    publish(settings, ["marts.t"], "run2", date(2026, 1, 2), {"dbt": "1"}, {})
    # A reader that opened the old publication keeps seeing it whole.
    assert reader.sql("select count(*) from marts.t").fetchall() == [(3,)]
    reader.close()
    assert first.row_counts == {"marts.t": 3}
    con = connect(settings, path=settings.published_db, read_only=True)
    assert con.sql("select count(*) from marts.t").fetchall() == [(5,)]
    assert con.sql("select run_id from meta.runs order by published_at").fetchall() == [
        ("run1",), ("run2",)]
    con.close()
    assert list(published_hashes(settings)) == ["marts.t"]
    assert not list(settings.warehouse_dir.glob(".*building"))


def test_publish_writes_a_storage_format_duckdb_1x_reads(settings):
    make_work(settings, 3)
    publish(settings, ["marts.t"], "run1", date(2026, 1, 1), {"dbt": "1"}, {})
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.published_db}' as pub (read_only)")
        version = con.sql("select tags['storage_version'] from duckdb_databases() "
                          "where database_name = 'pub'").fetchall()[0][0]
    finally:
        con.close()
    # DuckDB reports the oldest release that reads the file; 2.0's default (v2.0.0) is read
    # by no 1.x release, which is what analysts' tools embed.
    assert version.startswith("v1.0"), version


def test_publish_writes_parquet_copies_and_views_that_polars_and_pandas_read(settings):
    import pandas as pd
    import polars as pl

    make_work(settings, 3)
    publish(settings, ["marts.t"], "run1", date(2026, 1, 1), {"dbt": "1"}, {})
    first_target = (settings.warehouse_dir / "parquet").resolve()
    make_work(settings, 5)
    publish(settings, ["marts.t"], "run2", date(2026, 1, 2), {"dbt": "1"}, {})
    folder = settings.warehouse_dir / "parquet"
    assert folder.is_symlink() and not first_target.exists()
    assert pl.read_parquet(folder / "marts" / "t.parquet").get_column("v").to_list() == [
        0, 2, 4, 6, 8]
    assert pd.read_parquet(folder / "meta" / "runs.parquet")["run_id"].tolist() == [
        "run1", "run2"]
    con = duckdb.connect()
    try:
        con.execute(f"set file_search_path = '{folder}'")
        con.execute((folder / "views.sql").read_text())
        assert con.sql("select sum(v) from marts.t").fetchall() == [(20,)]
    finally:
        con.close()
    # Only the copy the link points at is kept.
    assert [p.name for p in settings.warehouse_dir.glob(".parquet-*")] == [
        folder.resolve().name]


def test_publish_refuses_a_run_without_a_passing_audit(settings, tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "t.json").write_text(json.dumps({
        "name": "t", "meta": {"table": "marts.t"},
        "expectations": [{"type": "expect_column_values_to_not_be_null",
                          "kwargs": {"column": "id"}}]}))
    settings = type(settings)(home=settings.home, expectations_dir=suites)
    con = connect(settings)
    con.execute("create schema audit")
    con.execute("create table audit.validations (run_id varchar, table_name varchar, "
                "success boolean, severity varchar)")
    con.execute("insert into audit.validations values ('bad', 'marts.t', false, 'error'), "
                "('good', 'marts.t', true, 'error'), ('good', 'marts.t', false, 'warning')")
    con.close()
    with pytest.raises(PublishRefusedError, match=r"failed it: \[.marts.t.\]"):
        audited_tables(settings, "bad", date(2026, 1, 1))
    with pytest.raises(PublishRefusedError, match=r"without an audit: \[.marts.t.\]"):
        audited_tables(settings, "never-audited", date(2026, 1, 1))
    tables, summary = audited_tables(settings, "good", date(2026, 1, 1))
    assert tables == ["marts.t"] and summary["marts.t"]["failed_warnings"] == 1


def test_dbt_run_results_are_summarised_by_status(tmp_path):
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({
        "elapsed_time": 3.5, "metadata": {"dbt_version": "1.11.16"},
        "results": [
            {"unique_id": "model.m.a", "status": "success", "execution_time": 1.0},
            {"unique_id": "test.m.b", "status": "fail", "message": "Got 2 results"},
            {"unique_id": "test.m.c", "status": "warn", "message": "Got 1 result"},
        ]}))
    result = read_run_results(path)
    assert result.status_counts == {"success": 1, "fail": 1, "warn": 1}
    assert result.failures == ["test.m.b: fail: Got 2 results"]
    assert result.warnings == ["test.m.c: Got 1 result"]
    assert read_run_results(tmp_path / "missing.json").status_counts == {}


def test_replace_rows_swaps_the_matching_rows_and_a_failed_write_keeps_the_old():
    import pyarrow as pa

    from pipelines.warehouse import replace_rows

    con = duckdb.connect()
    ddl = "create table if not exists ml.t (day integer, v varchar)"
    replace_rows(con, "ml.t", ddl, pa.table({"day": [1, 2], "v": ["a", "b"]}))
    replace_rows(con, "ml.t", ddl, pa.table({"day": [2], "v": ["c"]}), "day = ?", [2])
    assert con.sql("select * from ml.t order by day").fetchall() == [(1, "a"), (2, "c")]
    with pytest.raises(duckdb.Error):  # three columns into two: the insert fails
        replace_rows(con, "ml.t", ddl, pa.table({"day": [9], "v": ["x"], "w": [0]}))
    assert con.sql("select * from ml.t order by day").fetchall() == [(1, "a"), (2, "c")]
