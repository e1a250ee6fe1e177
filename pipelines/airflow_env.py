"""Prepare and drive the project's own Airflow: its environment, metadata DB, the writer pool,
`dags test`, and what a run's task instances did.

Airflow's state (metadata DB, logs, the generated admin password, the API's signing secret)
lives under the data folder, in `<MARKETING_HOME>/airflow/`, unless `AIRFLOW_HOME` is set: two
data folders never share a metadata database, and nothing Airflow writes lands in the
repository. The settings are the repository's `airflow.cfg` (through `AIRFLOW_CONFIG`) unless
the chosen `AIRFLOW_HOME` holds an `airflow.cfg` of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.config import REPO_ROOT

DAG_ID = "marketing_daily"
WRITER_POOL = ("duckdb_writer", "1", "DuckDB allows one writing process at a time")
JWT_SECRET_FILE = "jwt_secret"


def airflow_executable() -> str:
    candidate = Path(sys.executable).parent / "airflow"
    return str(candidate) if candidate.exists() else "airflow"


def airflow_home(env: dict[str, str]) -> Path:
    """`AIRFLOW_HOME` if set, else `airflow/` in the data folder (`MARKETING_HOME`)."""
    if env.get("AIRFLOW_HOME"):
        return Path(env["AIRFLOW_HOME"]).resolve()
    data = Path(env.get("MARKETING_HOME") or REPO_ROOT / "data").resolve()
    return data / "airflow"


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Airflow commands run in: AIRFLOW_HOME under the data folder (or the
    user's), the project's settings and DAG folder, one API signing secret, the venv on PATH."""
    env = {**os.environ, **(extra or {})}
    home = airflow_home(env)
    env["AIRFLOW_HOME"] = str(home)
    if not (home / "airflow.cfg").exists():
        env.setdefault("AIRFLOW_CONFIG", str(REPO_ROOT / "airflow.cfg"))
        env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
    # Every Airflow process (scheduler, API server, task runners) must sign and check task
    # tokens with the same key; without one each makes its own and scheduled tasks fail with
    # "Invalid auth token". One random key per Airflow home, made once, never in the repo.
    if "AIRFLOW__API_AUTH__JWT_SECRET" not in env:
        env["AIRFLOW__API_AUTH__JWT_SECRET"] = _jwt_secret(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _jwt_secret(home: Path) -> str:
    path = home / JWT_SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        # Created readable by the owner only, then filled: the key is never world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def prepare(env: dict[str, str], register_dag: bool = False) -> None:
    """Create or upgrade the metadata DB and the one-slot pool that serialises DuckDB writers;
    with `register_dag`, also parse the DAG into the DB (a fresh Airflow home knows no DAG
    until a scheduler or `dags test` has parsed it, and a backfill or a list of runs needs it)."""
    run_airflow(["db", "migrate"], env)
    run_airflow(["pools", "set", *WRITER_POOL], env)
    if register_dag:
        run_airflow(["dags", "reserialize"], env)


def dags_test(logical_date: date, env: dict[str, str], log_path: Path | None = None,
              on_line: Callable[[str], None] | None = None) -> int:
    """Run the whole `marketing_daily` DAG for one day; return its exit code. With `log_path`,
    Airflow's output goes to that file and each line to `on_line`; else to this console."""
    command = [airflow_executable(), "dags", "test", DAG_ID, logical_date.isoformat()]
    if log_path is None:
        return subprocess.run(command, env=env, check=False).returncode
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if on_line:
                on_line(line)
        return proc.wait()


@dataclass(frozen=True)
class TaskState:
    task_id: str
    state: str | None


def dag_runs(env: dict[str, str]) -> list[dict]:
    """Every run of the DAG as Airflow's metadata DB holds it (run_id, state, logical_date,
    run_after, start and end)."""
    return _json_rows(run_airflow(["dags", "list-runs", DAG_ID, "--output", "json"], env))


def task_states(logical_date: date, env: dict[str, str]) -> tuple[str | None, list[TaskState]]:
    """The run id of the newest DAG run for `logical_date` and the state of each of its task
    instances, as Airflow's metadata DB holds them (no run: None and no tasks)."""
    runs = [r for r in dag_runs(env)
            if str(r.get("logical_date", "")).startswith(logical_date.isoformat())]
    if not runs:
        return None, []
    run_id = max(runs, key=lambda r: str(r.get("run_after") or ""))["run_id"]
    rows = _json_rows(run_airflow(["tasks", "states-for-dag-run", DAG_ID, run_id,
                                "--output", "json"], env))
    return run_id, [TaskState(r["task_id"], r.get("state")) for r in rows]


def _json_rows(out: str) -> list[dict]:
    """The JSON list Airflow's `--output json` prints, past any log lines before it."""
    for line in reversed(out.strip().splitlines()):
        if line.startswith("["):
            return json.loads(line)
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


def run_airflow(args: list[str], env: dict[str, str]) -> str:
    """Run `airflow <args>` in `env`; its standard output, or an error with all it printed."""
    proc = subprocess.run([airflow_executable(), *args], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
