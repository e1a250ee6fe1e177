"""`make airflow` as a data engineer uses it: the real scheduler, DAG processor and API server
(`marketing airflow standalone`) schedule `marketing_daily` for the day that just ended, and
every task of that run succeeds.

Before the shared JWT secret, every scheduled task failed with "Invalid auth token": each
Airflow process signed task tokens with a key of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines import airflow_env
from pipelines.config import Settings
from pipelines.simulate import simulate
from pipelines.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_S = 20 * 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_scheduler_runs_the_day_that_ended_with_every_task_green(tmp_path: Path):
    settings = Settings(home=tmp_path / "data")
    # The schedule's newest interval is yesterday (UTC): its exports are what arrived today.
    day = datetime.now(UTC).date() - timedelta(days=1)
    simulate(settings, scale="xs", seed=7, end_date=day)
    port = _free_port()
    env = airflow_env.airflow_env({
        "MARKETING_HOME": str(settings.home),
        "AIRFLOW_HOME": "",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "GX_ANALYTICS_ENABLED": "false",
    })
    log_path = tmp_path / "standalone.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "marketing"), "airflow", "standalone"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        run_id, states = None, []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and server.poll() is None:
            time.sleep(10)
            try:
                run_id, states = airflow_env.task_states(day, env)
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
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        published = con.execute("select logical_date from meta.runs where run_id = ?",
                                [run_id]).fetchall()
    finally:
        con.close()
    assert published == [(day,)]
    # Airflow's state stayed in the data folder, the secret with it, and never in the repo.
    assert (settings.home / "airflow" / "airflow.db").exists()
    assert (settings.home / "airflow" / airflow_env.JWT_SECRET_FILE).stat().st_mode & 0o077 == 0
