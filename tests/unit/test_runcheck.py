"""A run that did nothing never counts as done: the checks `marketing run` makes around a DAG
run, on a real work file and landing folder (Airflow's task states given)."""

from __future__ import annotations

import os
from datetime import date

import pytest

from pipelines import airflow_env, cli, runcheck
from pipelines.airflow_env import TaskState
from pipelines.ingest.run import ingest_files
from pipelines.warehouse import connect, publish
from tests.conftest import write_landing

DAY = date(2010, 12, 9)
ORDERS = "order_id,order_date,amount,customer_id\nA1,2010-12-01 10:00:00,12.50,c1\n"
ALL_DONE = [TaskState("ingest_orders", "success"), TaskState("publish", "success")]


def _publish(settings, run_id: str) -> None:
    con = connect(settings)
    try:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.t as select 1 as x")
    finally:
        con.close()
    publish(settings, ["marts.t"], run_id, DAY, versions={}, validation={})


def test_a_run_with_no_task_instance_is_an_error(settings):
    check = runcheck.check_run(settings, DAY, None, [])
    assert check.errors == [
        f"Airflow ran no task for {DAY}: the DAG created no task instance for that date "
        "(its start date or schedule excludes it), so nothing was loaded or published"
    ]


def test_a_run_that_loaded_and_published_is_done(settings):
    path = write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    ingest_files(settings, "orders", [path], "run-1")
    _publish(settings, "run-1")
    check = runcheck.check_run(settings, DAY, "run-1", ALL_DONE)
    assert (check.errors, check.warnings) == ([], [])
    assert (check.files_loaded, check.rows_loaded, check.published) == (1, 1, True)


def test_files_waiting_while_nothing_loaded_is_an_error_naming_them(settings):
    write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    waiting = write_landing(settings, "shop", "2010-12-09", "orders.xlsx", "not a csv")
    ingest_files(settings, "orders", [settings.landing_dir / "orders/2010-12-09/orders.csv"],
                 "run-0")
    _publish(settings, "run-1")
    check = runcheck.check_run(settings, DAY, "run-1", ALL_DONE)
    assert check.files_loaded == 0
    assert check.errors == [
        f"the run for {DAY} loaded nothing although 1 export file is waiting and was not "
        f"loaded: {waiting} (its name matches no shop export)"
    ]


def test_waiting_files_are_a_warning_when_the_run_loaded_others(settings):
    path = write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    write_landing(settings, "orders", "2010-12-08", "more.csv", ORDERS.replace("A1", "A2"))
    ingest_files(settings, "orders", [path], "run-1")
    _publish(settings, "run-1")
    check = runcheck.check_run(settings, DAY, "run-1", ALL_DONE)
    assert check.errors == []
    assert len(check.warnings) == 1 and "more.csv (not loaded)" in check.warnings[0]


def test_a_copy_of_loaded_bytes_under_another_name_is_not_waiting(settings):
    path = write_landing(settings, "orders", "2010-12-08", "orders.csv", ORDERS)
    write_landing(settings, "orders", "2010-12-09", "orders_again.csv", ORDERS)
    ingest_files(settings, "orders", [path], "run-1")
    assert runcheck.waiting_files(settings, DAY) == []


def test_files_from_after_the_day_are_not_waiting(settings):
    path = write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    write_landing(settings, "orders", "2010-12-10", "orders.csv", ORDERS.replace("A1", "A3"))
    ingest_files(settings, "orders", [path], "run-1")
    assert runcheck.waiting_files(settings, DAY) == []


def test_a_failed_task_and_no_publication_are_named(settings):
    states = [TaskState("transform", "failed"), TaskState("publish", "upstream_failed")]
    check = runcheck.check_run(settings, DAY, "run-9", states)
    assert check.errors == [
        f"tasks that did not succeed for {DAY}: transform (failed), publish (upstream_failed)"
    ]


def test_a_successful_run_that_published_nothing_is_an_error(settings):
    path = write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    ingest_files(settings, "orders", [path], "run-2")
    _publish(settings, "run-1")
    check = runcheck.check_run(settings, DAY, "run-2", ALL_DONE)
    assert check.errors == [
        f"the run for {DAY} published nothing: {settings.published_db} has no record of "
        "run run-2"
    ]


def test_a_day_with_no_exports_is_refused_before_anything_runs(settings):
    with pytest.raises(ValueError, match=r"no export files dated 2010-12-09 or earlier"):
        runcheck.check_date(settings, DAY)
    write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    runcheck.check_date(settings, DAY)
    with pytest.raises(ValueError, match=r"no exports for 2099-01-01: the newest export folder"
                                         r" under .* is 2010-12-09"):
        runcheck.check_date(settings, date(2099, 1, 1))
    with pytest.raises(ValueError, match=r"no export files dated 2010-12-08 or earlier"):
        runcheck.check_date(settings, date(2010, 12, 8))


def test_a_folder_named_like_an_impossible_date_is_skipped_and_named(settings):
    bad = write_landing(settings, "orders", "2026-02-30", "orders.csv", ORDERS)
    assert runcheck.landing_dates(settings) == []
    assert runcheck.waiting_files(settings, DAY) == [
        (bad, "its folder 2026-02-30 is skipped: the folder name is not a real date "
              "(YYYY-MM-DD)")]


def test_cli_refuses_a_day_without_data_in_one_sentence(settings, monkeypatch, capsys):
    monkeypatch.setenv("MARKETING_HOME", str(settings.home))
    write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    assert cli.main(["run", "--date", "2099-01-01"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("not run: no exports for 2099-01-01") and "\n" not in err
    # Refused before anything ran: no warehouse, model, export, report or Airflow state; the
    # run lock's file stays, empty (deleting a lock file races with a run waiting on it).
    assert sorted(p.name for p in settings.home.iterdir()) == ["landing", "run.lock"]
    assert (settings.home / "run.lock").read_text() == ""
    with pytest.raises(SystemExit):
        cli.main(["run", "--date", "2026-02-30"])
    assert "'2026-02-30' is not a real date written YYYY-MM-DD" in capsys.readouterr().err


def test_airflow_state_lives_under_the_data_folder_unless_airflow_home_is_set(tmp_path):
    env = airflow_env.airflow_env({"MARKETING_HOME": str(tmp_path / "shop"),
                                   "AIRFLOW_HOME": ""})
    assert env["AIRFLOW_HOME"] == str(tmp_path / "shop" / "airflow")
    assert env["AIRFLOW_CONFIG"].endswith("airflow.cfg")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("dags")
    secret = tmp_path / "shop" / "airflow" / airflow_env.JWT_SECRET_FILE
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == secret.read_text().strip()
    assert len(secret.read_text().strip()) >= 32 and secret.stat().st_mode & 0o077 == 0
    again = airflow_env.airflow_env({"MARKETING_HOME": str(tmp_path / "shop"),
                                     "AIRFLOW_HOME": ""})
    assert again["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    other = airflow_env.airflow_env({"MARKETING_HOME": str(tmp_path / "other"),
                                     "AIRFLOW_HOME": ""})
    assert other["AIRFLOW__API_AUTH__JWT_SECRET"] != env["AIRFLOW__API_AUTH__JWT_SECRET"]
    mine = airflow_env.airflow_env({"AIRFLOW_HOME": str(tmp_path / "mine")})
    assert mine["AIRFLOW_HOME"] == str(tmp_path / "mine")
    assert os.path.exists(tmp_path / "mine" / airflow_env.JWT_SECRET_FILE)


def test_exports_arrived_for_a_day_when_a_folder_is_dated_that_day_or_later(settings):
    from pipelines.daily import exports_arrived

    assert not exports_arrived(settings, DAY, "run")
    write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    assert exports_arrived(settings, DAY, "run")
    assert exports_arrived(settings, date(2010, 1, 1), "run")
    assert not exports_arrived(settings, date(2010, 12, 10), "run")


def test_only_errors_a_retry_can_fix_are_retried():
    import duckdb

    from pipelines.daily import PublishRefusedError, retry_can_fix
    from pipelines.ingest.run import IngestError

    assert retry_can_fix(duckdb.IOException("Could not set lock on file"))
    assert retry_can_fix(OSError(28, "No space left on device"))
    assert not retry_can_fix(FileNotFoundError("landing/orders/x.csv"))
    assert not retry_can_fix(IngestError("orders.csv: 30% of rows are bad"))
    assert not retry_can_fix(PublishRefusedError("no passing audit"))
    assert not retry_can_fix(ValueError("setting MARKETING_ERROR_BUDGET must be a number"))
    assert not retry_can_fix(KeyError("a bug"))


def test_a_day_before_the_newest_loaded_exports_is_refused(settings):
    write_landing(settings, "orders", "2010-12-08", "orders.csv", ORDERS)
    newer = write_landing(settings, "orders", "2010-12-09", "orders.csv",
                          ORDERS.replace("A1", "A2"))
    ingest_files(settings, "orders", [newer], "run-1")
    assert runcheck.newest_loaded_date(settings) == DAY
    runcheck.check_date(settings, DAY)  # the same day again: a rerun
    with pytest.raises(ValueError, match=r"2010-12-08 is before 2010-12-09, whose exports the "
                                         r"warehouse already holds"):
        runcheck.check_date(settings, date(2010, 12, 8))


def test_a_command_that_fails_says_so_in_one_sentence_and_v_shows_the_traceback(
        settings, monkeypatch, capsys):
    monkeypatch.setenv("MARKETING_HOME", str(settings.home))
    monkeypatch.setenv("MARKETING_LEAD_CLICK_LEVELS", "3")
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("marketing status failed: setting MARKETING_LEAD_CLICK_LEVELS='3'")
    assert "\n" not in err and "Traceback" not in err
    with pytest.raises(ValueError, match="MARKETING_LEAD_CLICK_LEVELS"):
        cli.main(["-v", "status"])
