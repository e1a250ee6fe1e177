"""`marketing backfill --start D1 --end D2`: run the daily DAG for every day of a range through
Airflow's own backfill, oldest first, one at a time, so each day gets its outputs (scores,
exports, report) as they stood that day.

Airflow 3 runs a backfill in its scheduler. If one is running for this data folder (`make
airflow`), it takes the backfill; otherwise this starts Airflow (`airflow standalone`) for the
backfill's length and stops it after. Days that already ran are run again
(`--reprocess-behavior completed`), so a backfill also redoes days whose exports were restated.
Data that arrived during a gap needs no backfill to be loaded: every run loads all files not yet
loaded, and the incremental models rebuild every day that received new rows, however long ago.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines import airflow_env

log = logging.getLogger(__name__)

FINISHED = ("success", "failed")
POLL_S = 10


@dataclass(frozen=True)
class DayOutcome:
    day: date
    run_id: str
    state: str


def scheduler_running(env: dict[str, str]) -> bool:
    """Whether an Airflow scheduler is alive for this metadata DB."""
    proc = subprocess.run([airflow_env.airflow_executable(), "jobs", "check", "--job-type",
                           "SchedulerJob", "--allow-multiple", "--limit", "10"], env=env,
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0


def backfill_runs(env: dict[str, str], start: date, end: date) -> dict[date, dict]:
    """The newest backfill run of each day in [start, end], by Airflow's metadata."""
    runs: dict[date, dict] = {}
    for run in airflow_env.dag_runs(env):
        if not str(run.get("run_id", "")).startswith("backfill__"):
            continue
        day = date.fromisoformat(str(run.get("logical_date", ""))[:10])
        if start <= day <= end and str(run.get("run_after") or "") >= str(
                runs.get(day, {}).get("run_after") or ""):
            runs[day] = run
    return runs


def backfill(env: dict[str, str], start: date, end: date, log_path: Path,
             report: Callable[[DayOutcome], None], timeout_s: float = 24 * 3600
             ) -> list[DayOutcome]:
    """Create Airflow's backfill of [start, end] and wait for each day's run to finish,
    reporting each as it does; starts (and stops) Airflow when no scheduler is running."""
    before = {d: r["run_id"] for d, r in backfill_runs(env, start, end).items()}
    airflow_env.run_airflow(
        ["backfill", "create", "--dag-id", airflow_env.DAG_ID, "--from-date", start.isoformat(),
         "--to-date", end.isoformat(), "--max-active-runs", "1",
         "--reprocess-behavior", "completed"], env)
    days = (end - start).days + 1
    server = None
    if not scheduler_running(env):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w") as out:
            server = subprocess.Popen([airflow_env.airflow_executable(), "standalone"], env=env,
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
    done: dict[date, DayOutcome] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(done) < days and time.monotonic() < deadline:
            if server is not None and server.poll() is not None:
                raise RuntimeError(f"Airflow stopped (exit {server.returncode}); see {log_path}")
            for day, run in sorted(backfill_runs(env, start, end).items()):
                new = run["run_id"] != before.get(day)
                if day not in done and new and run.get("state") in FINISHED:
                    done[day] = DayOutcome(day, run["run_id"], run["state"])
                    report(done[day])
            if len(done) < days:
                time.sleep(POLL_S)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    if len(done) < days:
        raise TimeoutError(f"the backfill of {start} to {end} did not finish in "
                           f"{timeout_s / 3600:.0f} hours; {len(done)} of {days} days done")
    return [done[d] for d in sorted(done)]
