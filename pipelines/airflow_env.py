"""Prepare and drive the project's own Airflow: metadata DB, the writer pool, `dags test`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipelines.config import REPO_ROOT

WRITER_POOL = ("duckdb_writer", "1", "DuckDB allows one writing process at a time")


def airflow_executable() -> str:
    candidate = Path(sys.executable).parent / "airflow"
    return str(candidate) if candidate.exists() else "airflow"


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Airflow commands run in: AIRFLOW_HOME at the repo, venv on PATH."""
    env = {**os.environ, **(extra or {})}
    env.setdefault("AIRFLOW_HOME", str(REPO_ROOT))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def prepare(env: dict[str, str]) -> None:
    """Create or upgrade the metadata DB and the one-slot pool that serialises DuckDB writers."""
    _airflow(["db", "migrate"], env)
    _airflow(["pools", "set", *WRITER_POOL], env)


def dags_test(logical_date: date, env: dict[str, str]) -> int:
    """Run the whole `marketing_daily` DAG for one day in this process group; return its code."""
    command = [airflow_executable(), "dags", "test", "marketing_daily", logical_date.isoformat()]
    return subprocess.run(command, env=env, check=False).returncode


def _airflow(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run([airflow_executable(), *args], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
