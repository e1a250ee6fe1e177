"""`marketing status`: each run's state, what it loaded and quarantined, and what was published,
from a real work file, ledger and published file."""

from __future__ import annotations

import dataclasses
from datetime import date

from pipelines import daily, status
from pipelines.ingest.run import ingest_files
from pipelines.warehouse import connect, publish
from tests.conftest import write_landing

ORDERS = ("order_id,order_date,amount,customer_id\nA1,2010-12-01 10:00:00,12.50,c1\n"
          "A2,not a date,3.00,c2\n")


def test_status_shows_loads_quarantine_and_publication_per_run(settings):
    path = write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    settings = dataclasses.replace(settings, error_budget_min_rows=5)
    ingest_files(settings, "orders", [path], "run-2")
    con = connect(settings)
    con.execute("create schema marts; create table marts.t as select 1 as x")
    con.close()
    publish(settings, ["marts.t"], "run-1", date(2010, 12, 8), {}, {})
    daily._record_publication(settings, "run-3", date(2010, 12, 8), "unchanged", "run-1")
    runs = [{"run_id": "run-3", "logical_date": "2010-12-08T00:00:00+00:00", "state": "success"},
            {"run_id": "run-2", "logical_date": "2010-12-09T00:00:00+00:00", "state": "failed"},
            {"run_id": "run-1", "logical_date": "2010-12-08T00:00:00+00:00", "state": "success"}]
    rows, notes = status.runs_status(settings, runs)
    assert [(r.run_id, r.state, r.files_loaded, r.rows_loaded, r.rows_quarantined, r.outcome)
            for r in rows] == [
        ("run-3", "success", 0, 0, 0, "nothing new (as run-1)"),
        ("run-2", "failed", 1, 1, 1, "not published"),
        ("run-1", "success", 0, 0, 0, "published"),
    ]
    text = status.render(rows, notes, "published now: run run-1")
    assert "2010-12-09    failed        1           1            1  not published  (run-2)" in text


def test_a_busy_work_file_is_said_not_hidden(settings):
    writer = connect(settings)  # a running step holds the work file
    try:
        rows, notes = status.runs_status(
            settings, [{"run_id": "r", "logical_date": "2010-12-09", "state": "running"}])
    finally:
        writer.close()
    assert rows[0].files_loaded is None
    assert notes == [f"{settings.work_db} is held by a running step; loads not shown"]
