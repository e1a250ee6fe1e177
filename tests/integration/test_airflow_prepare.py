"""`marketing run` prepares Airflow's metadata DB (migrations, the one-slot DuckDB writer pool)
once, not before every run: a DB this Airflow release prepared, still at its revision and with
its pool as set, is left alone; anything else about it (a pool changed by hand, a DB deleted)
prepares it again. Real Airflow, on the project's own SQLite metadata DB."""

from __future__ import annotations

import sqlite3

import pytest

from pipelines import airflow_env

pytestmark = pytest.mark.integration


def _pool_slots(env: dict[str, str]) -> int:
    con = sqlite3.connect(airflow_env.airflow_home(env) / "airflow.db")
    try:
        return con.execute("select slots from slot_pool where pool = 'duckdb_writer'").fetchone()[0]
    finally:
        con.close()


def test_a_prepared_db_is_left_alone_and_a_changed_pool_is_set_again(tmp_path, monkeypatch):
    env = airflow_env.airflow_env({"MARKETING_HOME": str(tmp_path / "data"), "AIRFLOW_HOME": ""})
    airflow_env.prepare(env)
    assert _pool_slots(env) == 1
    ran: list[dict] = []
    real = airflow_env.run_airflow_batch

    def counted(request: dict, env: dict[str, str]):
        ran.append(request)
        return real(request, env)

    monkeypatch.setattr(airflow_env, "run_airflow_batch", counted)
    airflow_env.prepare(env)
    assert ran == []

    # Someone gave the writer pool a second slot: two DuckDB writers at once would fail.
    con = sqlite3.connect(airflow_env.airflow_home(env) / "airflow.db")
    with con:
        con.execute("update slot_pool set slots = 2 where pool = 'duckdb_writer'")
    con.close()
    airflow_env.prepare(env)
    assert len(ran) == 1 and _pool_slots(env) == 1

    (airflow_env.airflow_home(env) / "airflow.db").unlink()
    airflow_env.prepare(env)
    assert len(ran) == 2 and _pool_slots(env) == 1
    # A damaged record of it prepares again instead of stopping the run.
    (airflow_env.airflow_home(env) / airflow_env.PREPARED_FILE).write_text("{not json")
    airflow_env.prepare(env)
    assert len(ran) == 3
    # Registering the DAG is asked for, never skipped.
    airflow_env.prepare(env, register_dag=True)
    assert len(ran) == 4
