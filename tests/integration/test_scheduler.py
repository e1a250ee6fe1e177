"""Airflow as a data engineer runs it: the real scheduler, DAG processor and API server
(`marketing airflow standalone`, what `make airflow` starts) schedule `marketing_daily` for the
day that just ended, and every task of that run succeeds; then `marketing backfill` runs two
earlier days through Airflow's backfill, starting Airflow itself as no scheduler is running.

Before the shared JWT secret, every scheduled task failed with "Invalid auth token": each
Airflow process signed task tokens with a key of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines import airflow_env
from pipelines.config import Settings
from pipelines.simulate import continue_days, simulate
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


def test_the_scheduler_runs_the_day_that_ended_with_every_task_green(shop):
    settings, env, root = shop
    log_path = root / "standalone.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([MARKETING, "airflow", "standalone"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        run_id, states = None, []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and server.poll() is None:
            time.sleep(10)
            try:
                run_id, states = airflow_env.task_states(YESTERDAY, env)
            except RuntimeError:
                continue  # the metadata DB is still being created
            if states and all(s.state in ("success", "failed", "upstream_failed", "skipped")
                              for s in states):
                break
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


def test_backfill_runs_each_earlier_day_through_airflow_oldest_first(shop):
    settings, env, _ = shop
    end = YESTERDAY - timedelta(days=1)
    proc = subprocess.run([MARKETING, "backfill", "--start", FIRST.isoformat(), "--end",
                           end.isoformat()], env=env, capture_output=True, text=True,
                          timeout=WAIT_S, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert [line.split(":")[0] for line in lines] == [FIRST.isoformat(), end.isoformat()]
    assert all(": success (backfill__" in line for line in lines), lines
    # The backfilled days get their own exports and reports; analysts keep the newest day.
    assert query(settings, "select logical_date from meta.runs", published=True) == [
        (YESTERDAY,)]
    assert query(settings, "select logical_date, outcome from audit.publications "
                           "where outcome = 'older' order by 1") == [(FIRST, "older"),
                                                                    (end, "older")]
    for day in (FIRST, end):
        assert (settings.exports_dir / day.isoformat() / "manifest.json").exists()
        assert (settings.reports_dir / day.isoformat() / "index.html").exists()
