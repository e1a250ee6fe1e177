"""Airflow as a data engineer runs it: the real scheduler, DAG processor and API server
(`marketing airflow standalone`, what `make airflow` starts) schedule `marketing_daily` for the
day that just ended, and every task of that run succeeds. `marketing backfill` catches up days
nobody ran, oldest first, and refuses days before what the warehouse already holds.

Before the shared JWT secret, every scheduled task failed with "Invalid auth token": each
Airflow process signed task tokens with a key of its own.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines import airflow_env, daily
from pipelines.config import Settings
from simulator import continue_days, simulate
from tests.conftest import free_port, query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_S = 20 * 60
MARKETING = str(Path(sys.executable).parent / "marketing")
# The schedule's newest interval is yesterday (UTC): its exports are what arrived today. The
# world's first export is two days older, and a folder a day follows: days to backfill.
YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
FIRST = YESTERDAY - timedelta(days=2)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Settings, dict[str, str], Path]:
    root = tmp_path_factory.mktemp("scheduled")
    settings = Settings(home=root / "data")
    simulate(settings, scale="xs", seed=7, end_date=FIRST)
    continue_days(settings, 2)
    port = free_port()
    env = airflow_env.airflow_env({
        "MARKETING_HOME": str(settings.home),
        "AIRFLOW_HOME": "",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "GX_ANALYTICS_ENABLED": "false",
    })
    return settings, env, root


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _run_ended(settings: Settings, day) -> bool:
    """Whether every task instance of the DAG's run for `day` has ended, as the metadata DB
    holds it now (not yet created, or locked by a writer: not ended)."""
    try:
        con = sqlite3.connect(f"file:{settings.home / 'airflow' / 'airflow.db'}?mode=ro",
                              uri=True, timeout=1)
        try:
            states = [s for (s,) in con.execute(
                "select ti.state from task_instance ti join dag_run dr "
                "on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id "
                "where dr.dag_id = ? and substr(dr.logical_date, 1, 10) = ?",
                [airflow_env.DAG_ID, day.isoformat()])]
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return bool(states) and all(s in ("success", "failed", "upstream_failed", "skipped")
                                for s in states)


def test_the_scheduler_runs_the_day_that_ended_with_every_task_green(shop):
    settings, env, root = shop
    log_path = root / "standalone.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([MARKETING, "airflow", "standalone"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and server.poll() is None:
            time.sleep(5)
            # A read of the metadata DB while waiting, not an `airflow` command: each would
            # take seconds of the two cores the scheduled tasks run on.
            if _run_ended(settings, YESTERDAY):
                break
        run_id, states = airflow_env.task_states(YESTERDAY, env)
        log_text = log_path.read_text()
        assert run_id is not None and run_id.startswith("scheduled__"), log_text[-4000:]
        not_green = {s.task_id: s.state for s in states if s.state != "success"}
        assert states and not not_green, f"{not_green}\n{log_text[-6000:]}"
        assert "Invalid auth token" not in log_text and "InvalidSignatureError" not in log_text
    finally:
        _stop(server)
    assert query(settings, f"select logical_date from meta.runs where run_id = '{run_id}'",
                 published=True) == [(YESTERDAY,)]
    # Airflow's state stayed in the data folder, the secret with it, and never in the repo.
    assert (settings.home / "airflow" / "airflow.db").exists()
    assert (settings.home / "airflow" / airflow_env.JWT_SECRET_FILE).stat().st_mode & 0o077 == 0


def test_backfill_catches_up_missed_days_oldest_first(tmp_path):
    settings = Settings(home=tmp_path / "data")
    first = datetime(2019, 10, 30, tzinfo=UTC).date()
    simulate(settings, scale="xs", seed=8, end_date=first)
    continue_days(settings, 1)
    env = airflow_env.airflow_env({"MARKETING_HOME": str(settings.home), "AIRFLOW_HOME": "",
                                   "GX_ANALYTICS_ENABLED": "false"})
    second = first + timedelta(days=1)
    proc = subprocess.run([MARKETING, "backfill", "--start", first.isoformat(), "--end",
                           second.isoformat()], env=env, capture_output=True, text=True,
                          timeout=WAIT_S, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    done = [line for line in proc.stdout.splitlines() if line.startswith("marketing_daily ")]
    assert [line.split(":")[0] for line in done] == [f"marketing_daily {first}",
                                                     f"marketing_daily {second}"]
    assert all("published as run manual__" in line for line in done), done
    assert query(settings, "select logical_date from meta.runs order by published_at",
                 published=True) == [(first,), (second,)]
    # The second day loaded only its own folder: the first day's were loaded the day before.
    assert query(settings, "select count(distinct run_id) from audit.loads "
                           "where status = 'loaded'") == [(2,)]


def test_a_backfill_before_what_the_warehouse_holds_is_refused(shop):
    settings, env, _ = shop
    # The scheduled run loaded every folder up to yesterday; run alone, load the shop's files.
    daily.ingest(settings, "shop", YESTERDAY, "load-yesterday")
    proc = subprocess.run([MARKETING, "backfill", "--start", FIRST.isoformat(), "--end",
                           YESTERDAY.isoformat()], env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1
    # The scheduler the first test started was stopped without releasing the folder: the
    # backfill says so in a note, then refuses.
    *notes, refusal = proc.stderr.strip().splitlines()
    assert all(n.startswith("note: `marketing airflow standalone`") for n in notes), notes
    assert refusal == (
        f"not run: {FIRST} is before {YESTERDAY}, whose exports the warehouse already holds: "
        "the customer view keeps no history of earlier days, so a run for an earlier day "
        "would mix in later data; run it in a fresh data folder (MARKETING_HOME) instead")
