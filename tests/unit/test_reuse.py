"""A step keeps its last result only when nothing it reads or wrote has changed since."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import duckdb
import pytest

from pipelines import reuse
from pipelines.transform import built_relations
from pipelines.warehouse import table_content_hash, work_connection
from tests.conftest import query

DAY = date(2026, 3, 2)


def execute(settings, *statements: str) -> None:
    with work_connection(settings) as con:
        for statement in statements:
            con.execute(statement)


class Step:
    """A step that copies `raw.src` into `marts.out`, counting its runs."""

    def __init__(self, settings) -> None:
        self.settings, self.runs = settings, 0
        execute(settings, "create schema if not exists raw", "create schema if not exists marts",
                "create or replace table raw.src as select range as id from range(5)")

    def __call__(self, given: dict | None = None, day: date = DAY, run_id: str = "r",
                 settings=None) -> dict:
        def run():
            self.runs += 1
            execute(self.settings, "create or replace table marts.out as select * from raw.src")
            return {"rows": 5, "run": run_id}, ["raw.src"], ["marts.out"]

        return reuse.reuse_or_run(settings or self.settings, "copy", day, run_id,
                                  given or {"setting": 1}, run)


@pytest.fixture
def step(settings) -> Step:
    return Step(settings)


def test_the_same_inputs_keep_the_last_result_and_say_whose_it_is(step):
    first = step(run_id="r1")
    second = step(run_id="r2")
    assert step.runs == 1
    assert first == {"rows": 5, "run": "r1"}
    assert second == {"rows": 5, "run": "r1", "reused": "r1"}


@pytest.mark.parametrize("change", [
    "insert into raw.src values (99)",  # an input's rows
    "update raw.src set id = id + 100 where id = 0",  # one value
    "alter table raw.src alter id type varchar",  # an input's type
    "update marts.out set id = 7 where id = 0",  # what the step wrote, changed since
    "drop table marts.out",
])
def test_a_changed_input_or_output_runs_the_step_again(step, change):
    step()
    execute(step.settings, change)
    assert "reused" not in step()
    assert step.runs == 2


def test_other_settings_another_day_or_reuse_switched_off_run_it_again(step):
    step()
    assert "reused" not in step(given={"setting": 2})
    assert "reused" not in step(given={"setting": 2}, day=date(2026, 3, 3))
    assert "reused" not in step(given={"setting": 2}, day=date(2026, 3, 3),
                                settings=replace(step.settings, reuse=False))
    assert step.runs == 4
    assert "reused" in step(given={"setting": 2}, day=date(2026, 3, 3))


def test_a_step_that_fails_leaves_nothing_to_reuse(step):
    step()

    def fail():
        raise RuntimeError("stopped midway")

    with pytest.raises(RuntimeError):
        reuse.reuse_or_run(step.settings, "copy", DAY, "r2", {"setting": 2}, fail)
    # The earlier result was forgotten before the failed run began: the same inputs as then
    # run again, since the failed run may have written part of its outputs.
    assert "reused" not in step()
    assert step.runs == 2
    assert query(step.settings, f"select step, run_id from {reuse.TABLE}") == [("copy", "r")]


def test_fingerprints_see_views_by_their_sql_and_tables_in_any_row_order():
    con = duckdb.connect()
    con.execute("create table a as select * from (values (1, 'x'), (2, 'y')) t(i, s)")
    con.execute("create table b as select * from (values (2, 'y'), (1, 'x')) t(i, s)")
    con.execute("create view v as select i from a")
    found = reuse.fingerprints(con, ["main.a", "main.b", "main.v", "main.gone"])
    assert found["main.a"] == found["main.b"] == "table " + table_content_hash(con, "main.a")
    assert found["main.gone"] == "absent"
    con.execute("create or replace view v as select i + 1 as i from a")
    assert reuse.fingerprints(con, ["main.v"])["main.v"] != found["main.v"]


def test_files_digest_sees_a_changed_file_and_skips_caches(tmp_path):
    (tmp_path / "m.sql").write_text("select 1")
    (tmp_path / "__pycache__").mkdir()
    before = reuse.files_digest([tmp_path])
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert reuse.files_digest([tmp_path]) == before
    (tmp_path / "m.sql").write_text("select 2")
    assert reuse.files_digest([tmp_path]) != before
    # The same files in another checkout digest the same.
    other = tmp_path.parent / f"{tmp_path.name}-other"
    other.mkdir()
    (other / "m.sql").write_text("select 2")
    assert reuse.files_digest([other]) == reuse.files_digest([tmp_path])


def test_a_dbt_invocation_reads_what_it_did_not_build(tmp_path):
    """From dbt's manifest and run results: sources and models of another invocation are
    read, the models it ran are written, and tests write nothing."""
    def node(kind, schema, name, deps=(), materialized="table", identifier=None):
        return {"resource_type": kind, "schema": schema, "name": name, "alias": name,
                **({"identifier": identifier} if identifier else {}),
                "config": {"materialized": materialized}, "depends_on": {"nodes": list(deps)}}

    manifest = {
        "sources": {"source.p.shop.orders": node("source", "raw", "orders", materialized=None,
                                                   identifier="shop__orders")},
        "nodes": {
            "model.p.stg": node("model", "staging", "stg", ["source.p.shop.orders"], "view"),
            "model.p.fct": node("model", "marts", "fct", ["model.p.stg", "model.p.other"]),
            "model.p.other": node("model", "marts", "other"),
            "test.p.not_null": node("test", "dbt_test", "not_null", ["model.p.fct"], "test"),
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": u} for u in ("model.p.stg", "model.p.fct", "test.p.not_null")]}))
    assert built_relations(tmp_path) == (["marts.other", "raw.shop__orders"],
                                         ["marts.fct", "staging.stg"])


def test_a_file_output_is_part_of_what_the_step_wrote(settings):
    """A saved model (a folder under the data folder) counts like a table: gone or changed,
    the step runs again."""
    runs = []

    def run():
        runs.append(1)
        folder = settings.home / "models" / "m"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "state.json").write_text("{}")
        return {}, [], [reuse.FILE + "models/m"]

    def step() -> dict:
        return reuse.reuse_or_run(settings, "fit", DAY, "r", {}, run)

    step()
    assert step() == {"reused": "r"}
    (settings.home / "models" / "m" / "state.json").write_text('{"k": 2}')
    step()
    assert len(runs) == 2


def test_the_environment_digest_ignores_a_distribution_listed_twice(monkeypatch):
    """Under pytest the repository is on sys.path, and the project's egg-info there lists the
    project a second time; Airflow's task processes see it once. Their keys must agree."""
    from importlib import metadata

    listed = list(metadata.distributions())
    reuse.environment_digest.cache_clear()
    once = reuse.environment_digest()
    monkeypatch.setattr(metadata, "distributions", lambda: [*listed, listed[0]])
    reuse.environment_digest.cache_clear()
    try:
        assert reuse.environment_digest() == once
    finally:
        reuse.environment_digest.cache_clear()
