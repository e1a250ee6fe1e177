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
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.airflow_batch import MARKER, json_rows
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
    until a scheduler or `dags test` has parsed it, and a backfill or a list of runs needs it).

    A metadata DB this Airflow release prepared before, still at the revision it left and with
    the pool as it set it (`_prepared`), is left alone: migrating and setting the pool would
    change nothing there and cost an Airflow start-up, about 4 s, on every `marketing run`."""
    stamp = airflow_home(env) / PREPARED_FILE
    state = _prepared(env)
    if not register_dag and state is not None and _read_stamp(stamp) == state:
        return
    commands = [["db", "migrate"], ["pools", "set", *WRITER_POOL]]
    if register_dag:
        commands.append(["dags", "reserialize"])
    run_airflow_batch({"commands": commands}, env)
    state = _prepared(env)
    if state is not None:
        stamp.write_text(json.dumps(state, sort_keys=True))


PREPARED_FILE = "prepared.json"


def _read_stamp(path: Path) -> Any:
    """What `prepare` recorded, or None where nothing readable is (a damaged file prepares
    again rather than stopping the run)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _prepared(env: dict[str, str]) -> dict | None:
    """What makes a prepared metadata DB still prepared: the Airflow release (its migrations),
    the DB's migration revision and the writer pool's slots, read from the DB. Only for the
    project's own SQLite DB in the Airflow home (None for any other, which is always prepared,
    as is a DB that cannot be read)."""
    import sqlite3
    from importlib.metadata import version

    home = airflow_home(env)
    own = (Path(env.get("AIRFLOW_CONFIG", "")) == REPO_ROOT / "airflow.cfg"
           and not (home / "airflow.cfg").exists()
           and "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env)
    db = home / "airflow.db"
    if not own or not db.exists():
        return None
    try:
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            revision = [r for (r,) in con.execute("select version_num from alembic_version")]
            pool = [list(r) for r in con.execute(
                "select slots, description from slot_pool where pool = ?", [WRITER_POOL[0]])]
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return {"airflow": version("apache-airflow-core"), "revision": revision, "pool": pool}


class RunInterrupted(RuntimeError):
    """A stop signal reached the CLI while Airflow ran the DAG; Airflow's processes are ended."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


# The signals that stop a run: a service manager's stop, Ctrl-C, a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def dags_test(logical_date: date, env: dict[str, str], log_path: Path | None = None,
              on_line: Callable[[str], None] | None = None, keep_fds: tuple[int, ...] = (),
              on_start: Callable[[int], None] | None = None) -> int:
    """Run the whole `marketing_daily` DAG for one day; return its exit code. With `log_path`,
    Airflow's output goes to that file and each line to `on_line`; else to this console.

    Airflow runs in a process group of its own (`keep_fds` stay open in it: the run lock), so
    a terminal's Ctrl-C reaches this process only. A stop signal (STOP_SIGNALS) ends Airflow's
    whole process tree, dbt included, before it can start another task, then raises
    RunInterrupted. `on_start` gets Airflow's pid."""
    command = [airflow_executable(), "dags", "test", DAG_ID, logical_date.isoformat()]
    piped = log_path is not None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE if piped else None,
        stderr=subprocess.STDOUT if piped else None, text=True, bufsize=1,
        start_new_session=True, pass_fds=keep_fds,
    )
    if on_start:
        on_start(proc.pid)
    with _ends_on_signal(proc):
        if log_path is None:
            return proc.wait()
        assert proc.stdout is not None
        with log_path.open("w") as log, proc.stdout:
            for line in proc.stdout:
                log.write(line)
                if on_line:
                    on_line(line)
        return proc.wait()


@contextmanager
def _ends_on_signal(proc: subprocess.Popen) -> Iterator[None]:
    """While the block runs, a stop signal ends `proc`'s process tree and raises
    RunInterrupted; any other error ends it too, so no Airflow outlives its CLI's run."""
    def stop(signum: int, frame: object) -> None:
        raise RunInterrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; a caller elsewhere handles them
        return
    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    except BaseException:
        for s in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(s, signal.SIG_IGN)
        end_process_tree(proc)
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def end_process_tree(proc: subprocess.Popen) -> None:
    """Kill `proc`, its process group and every descendant (one that left the group too).

    SIGKILL, not SIGTERM and a grace period: in a grace period `dags test` could fail the task
    and start the next one its state allows (a publish after an audit that had just ended),
    which is what a stop must prevent; and every step is built to survive a kill at any
    instant (the ledger's transactions, DuckDB's log, the atomic publish), which the
    reliability tests check."""
    import psutil

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in descendants:
        with suppress(psutil.NoSuchProcess):
            child.kill()
    proc.wait()
    psutil.wait_procs(descendants, timeout=30)


@dataclass(frozen=True)
class TaskState:
    task_id: str
    state: str | None


def dag_runs(env: dict[str, str]) -> list[dict]:
    """Every run of the DAG as Airflow's metadata DB holds it (run_id, state, logical_date,
    run_after, start and end)."""
    return json_rows(run_airflow(["dags", "list-runs", DAG_ID, "--output", "json"], env))


def task_states(logical_date: date, env: dict[str, str]) -> tuple[str | None, list[TaskState]]:
    """The run id of the newest DAG run for `logical_date` and the state of each of its task
    instances, as Airflow's metadata DB holds them (no run: None and no tasks)."""
    found = run_airflow_batch({"task_states": DAG_ID, "date": logical_date.isoformat()}, env)
    return found["run_id"], [TaskState(t["task_id"], t["state"]) for t in found["states"]]


def run_airflow_batch(request: dict, env: dict[str, str]) -> Any:
    """Airflow CLI commands in one process (pipelines.airflow_batch, which reads `request`):
    Airflow starts once for all of them. Its result, or an error with all it printed."""
    proc = subprocess.run([sys.executable, "-m", "pipelines.airflow_batch"],
                          input=json.dumps(request), env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0 or MARKER not in proc.stdout:
        raise RuntimeError(f"airflow {request} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.rpartition(MARKER)[2])


def run_airflow(args: list[str], env: dict[str, str]) -> str:
    """Run `airflow <args>` in `env`; its standard output, or an error with all it printed."""
    proc = subprocess.run([airflow_executable(), *args], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
