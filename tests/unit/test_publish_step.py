"""The daily publish step: only published runs' model records are published, and a rerun with
nothing new publishes nothing again and says so."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest

from pipelines import daily, runcheck
from pipelines.activation.export import staging_dir
from pipelines.airflow_env import TaskState
from pipelines.warehouse import connect
from tests.conftest import query

DAY = date(2010, 12, 9)


def _settings(settings, tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    for table in ("marts.t", "ml.model_runs"):
        (suites / f"{table}.json").write_text(json.dumps({"meta": {"table": table}}))
    return dataclasses.replace(settings, expectations_dir=suites)


def _run(settings, run_id: str, rows: int) -> dict:
    """What a run leaves in the work file before publish: a table, its model record, a
    passing audit; then the publish step."""
    con = connect(settings)
    try:
        con.execute("create schema if not exists marts; create schema if not exists ml; "
                    "create schema if not exists audit")
        con.execute(f"create or replace table marts.t as select range as x from range({rows})")
        con.execute("create table if not exists ml.model_runs (run_id varchar, model varchar, "
                    "version varchar)")
        con.execute("insert into ml.model_runs values (?, 'churn', 'v1')", [run_id])
        con.execute("create table if not exists audit.validations (run_id varchar, "
                    "table_name varchar, success boolean, severity varchar)")
        con.execute("insert into audit.validations values (?, 'marts.t', true, 'error'), "
                    "(?, 'ml.model_runs', true, 'error')", [run_id, run_id])
    finally:
        con.close()
    staged = staging_dir(settings, DAY)  # the export step's output, audited
    staged.mkdir(parents=True, exist_ok=True)
    (staged / "manifest.json").write_text(json.dumps({"files": []}))
    return daily.publish(settings, DAY, run_id)


def _published(settings, sql: str) -> list[tuple]:
    return query(settings, sql, published=True)


def test_a_failed_runs_model_records_are_never_published(settings, tmp_path):
    settings = _settings(settings, tmp_path)
    _run(settings, "run-1", 3)
    con = connect(settings)
    try:  # a run that scored, then failed its audit: its record stays in the work file only
        con.execute("insert into ml.model_runs values ('run-failed', 'churn', 'v2')")
    finally:
        con.close()
    _run(settings, "run-2", 4)
    assert _published(settings, "select run_id from ml.model_runs order by 1") == [
        ("run-1",), ("run-2",)]


def test_a_rerun_with_nothing_new_publishes_nothing_and_says_so(settings, tmp_path):
    settings = _settings(settings, tmp_path)
    first = _run(settings, "run-1", 3)
    assert "path" in first
    before = settings.published_db.stat().st_mtime_ns
    again = _run(settings, "run-2", 3)
    assert again == {"unchanged_since": "run-1"}
    assert settings.published_db.stat().st_mtime_ns == before
    assert _published(settings, "select run_id from meta.runs") == [("run-1",)]
    check = runcheck.check_run(settings, DAY, "run-2", [TaskState("publish", "success")])
    assert (check.errors, check.stands, check.stands_because) == ([], "run-1", "unchanged")
    # New content is published.
    assert "path" in _run(settings, "run-3", 5)
    assert _published(settings, "select run_id from meta.runs order by published_at") == [
        ("run-1",), ("run-3",)]


def test_an_older_day_publishes_its_exports_and_leaves_the_newer_warehouse(settings, tmp_path):
    settings = _settings(settings, tmp_path)
    _run(settings, "run-new", 3)
    before = settings.published_db.stat().st_mtime_ns
    older = DAY - timedelta(days=3)
    staged = staging_dir(settings, older)
    staged.mkdir(parents=True, exist_ok=True)
    (staged / "manifest.json").write_text(json.dumps({"files": []}))
    con = connect(settings)
    try:
        con.execute("insert into audit.validations values ('run-old', 'marts.t', true, "
                    "'error'), ('run-old', 'ml.model_runs', true, 'error')")
    finally:
        con.close()
    assert daily.publish(settings, older, "run-old")["older_than"] == "run-new"
    assert settings.published_db.stat().st_mtime_ns == before
    assert (settings.exports_dir / older.isoformat() / "manifest.json").exists()
    check = runcheck.check_run(settings, older, "run-old", [TaskState("publish", "success")])
    assert (check.errors, check.stands, check.stands_because) == ([], "run-new", "older")


def test_a_retried_publish_of_a_published_run_finishes_it_and_publishes_nothing_twice(
        settings, tmp_path):
    """Airflow retries publish with the same run id when a try was killed after the warehouse
    swap: before the exports moved (they are still staged) or after."""
    settings = _settings(settings, tmp_path)
    _run(settings, "run-1", 3)
    before = settings.published_db.stat().st_mtime_ns
    # Killed after the exports moved: nothing is staged any more.
    assert daily.publish(settings, DAY, "run-1")["resumed"] is True
    # Killed before they moved: they are staged still, and move now.
    staged = staging_dir(settings, DAY)
    staged.mkdir(parents=True)
    (staged / "manifest.json").write_text(json.dumps({"files": [], "retry": True}))
    assert daily.publish(settings, DAY, "run-1")["resumed"] is True
    published = settings.exports_dir / DAY.isoformat() / "manifest.json"
    assert json.loads(published.read_text())["retry"] is True and not staged.exists()
    assert settings.published_db.stat().st_mtime_ns == before
    assert _published(settings, "select run_id from meta.runs") == [("run-1",)]
    assert query(settings, "select outcome from audit.publications where run_id = 'run-1'") \
        == [("published",)]


def test_without_staged_exports_nothing_is_published(settings, tmp_path):
    settings = _settings(settings, tmp_path)
    _run(settings, "run-1", 3)
    before = settings.published_db.stat().st_mtime_ns
    con = connect(settings)
    try:
        con.execute("create or replace table marts.t as select range as x from range(9)")
        con.execute("insert into audit.validations values ('run-2', 'marts.t', true, "
                    "'error'), ('run-2', 'ml.model_runs', true, 'error')")
    finally:
        con.close()
    with pytest.raises(daily.PublishRefusedError, match=r"run run-2: not publishing; no staged "
                                                         r"exports in .*: run the export step"):
        daily.publish(settings, DAY, "run-2")
    assert settings.published_db.stat().st_mtime_ns == before
