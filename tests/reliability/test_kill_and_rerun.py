"""A daily run killed at a step boundary, or inside publish, and run again: the rerun publishes
what the run computed, the last publication stands until then, and nothing of a killed run is
published. Also: two runs of a day compute the same content (scores included); a booster
changed on disk is refused when it is loaded. (A second run of a day that publishes nothing
new is tests/integration/test_daily_dag.py's, through Airflow.)

One `xs` world; every run is the daily steps (real dbt, XGBoost, Great Expectations) in the
order the DAG runs them. A killed run is a process of its own, killed with SIGKILL where it
waits (a step boundary) or in the middle of publish (the new file built, not yet swapped in).
tests/reliability/test_publish_crash.py kills publish at random moments on synthetic tables
and test_ingest_crash.py kills loads mid-file; tests/integration/test_daily_dag.py runs the day
twice through Airflow. Here the whole day's steps are killed between one another.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import source_names
from pipelines.ml.registry import ModelMismatchError, decision, model_dir
from pipelines.quality import suite_tables
from pipelines.warehouse import RUN_LOGS, connect, published_hashes, work_content_hashes
from simulator import simulate

pytestmark = pytest.mark.slow

DAY = date(2026, 10, 31)
STEPS = ("transform", "score_churn", "score_ltv", "score_lead", "forecast_units", "find_personas",
         "optimise_ads", "run_experiments", "personalize", "generate_content",
         "transform_reports", "export", "audit", "publish", "report")
# The DAG's tasks in the order the steps run, named as the DAG names them.
TASKS = (*(f"ingest_{s}" for s in source_names()), *STEPS)
# Where killed runs stop, each before the task named. In CI (make test): after the loads;
# after scoring (models saved, model records written); after the audit, every step's state
# written and only publish to go. `make test-reliability` sets MARKETING_TEST_BOUNDARIES=all:
# before every task up to publish, the run killed at one boundary rerun and killed at the next.
BOUNDARIES = (TASKS[1:TASKS.index("report")]
              if os.environ.get("MARKETING_TEST_BOUNDARIES") == "all"
              else ("transform", "find_personas", "publish"))
# One run of the day's steps in a process of its own: from the step `argv[4]` (or the start),
# waiting to be killed before the step `argv[3]`, or inside publish ("inside-publish").
RUN = f"""
import sys
from datetime import date
from pathlib import Path
from pipelines import daily, warehouse
from pipelines.config import Settings
from pipelines.ingest.sources import source_names

settings = Settings(home=Path(sys.argv[1]), duckdb_memory_limit="2GB")
run_id, stop_at, start = sys.argv[2], sys.argv[3], sys.argv[4]
day = date.fromisoformat({DAY.isoformat()!r})


def wait_to_be_killed(where):
    print(where, flush=True)
    sys.stdin.read()
    raise SystemExit("not killed")


fsync = warehouse._fsync


def fsync_then_stop(path):
    fsync(path)
    if path.name.endswith(".building"):  # built and on disk; the swap is next
        wait_to_be_killed("inside-publish")


if stop_at == "inside-publish":
    warehouse._fsync = fsync_then_stop
steps = [*(("ingest", s) for s in source_names()), *{STEPS!r}]
names = [s if isinstance(s, str) else f"ingest_{{s[1]}}" for s in steps]
for step, name in list(zip(steps, names))[names.index(start) if start else 0:]:
    if name == stop_at:
        wait_to_be_killed(name)
    if isinstance(step, tuple):
        daily.ingest(settings, step[1], day, run_id)
    else:
        getattr(daily, step)(settings, day, run_id)
print("finished", flush=True)
"""


def killed_run(settings: Settings, run_id: str, stop_at: str, start: str = "") -> None:
    """Run the day's steps as `run_id` in another process and kill it at `stop_at`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, str(settings.home), run_id, stop_at, start],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    reached = proc.stdout.readline().strip()
    if reached != stop_at:  # it ended by itself
        proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert reached == stop_at, (
        f"run {run_id} did not stop at {stop_at}: {reached!r}, exit code {proc.returncode}")


def full_run(settings: Settings, run_id: str) -> dict:
    for source in source_names():
        daily.ingest(settings, source, DAY, run_id)
    return {step: getattr(daily, step)(settings, DAY, run_id) for step in STEPS}


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "data", duckdb_memory_limit="2GB")
        simulate(self.settings, scale="xs", seed=7, end_date=DAY)
        self.tables = [t for t in suite_tables(self.settings.expectations_dir)
                       if t not in RUN_LOGS]

    def query(self, sql: str, published: bool = False) -> list[tuple]:
        path = self.settings.published_db if published else self.settings.work_db
        con = connect(self.settings, path=path, read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()

    def published_exports(self) -> dict[str, bytes]:
        folder = self.settings.exports_dir / DAY.isoformat()
        return {str(p.relative_to(folder)): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("rerun"))


def test_runs_killed_at_step_boundaries_then_a_rerun_publish_the_same_content(world):
    settings = world.settings
    for boundary in BOUNDARIES:
        killed_run(settings, f"killed-before-{boundary}", boundary)
    assert not settings.published_db.exists()
    assert not (settings.exports_dir / DAY.isoformat()).exists()
    computed = work_content_hashes(settings, world.tables)
    scores = world.query("select * from ml.scores order by all")

    summary = full_run(settings, "rerun")

    assert "row_counts" in summary["publish"], summary["publish"]
    # Two runs of the day, the same content: the rerun computed every table exactly as the
    # killed run did (rescoring the same data gives the same scores to the last digit), and
    # that is what is published.
    assert world.query("select * from ml.scores order by all") == scores
    assert work_content_hashes(settings, world.tables) == computed
    assert published_hashes(settings) == computed
    assert world.query("select run_id from meta.runs", published=True) == [("rerun",)]
    # Each file loaded once, by the killed runs; the rerun loaded nothing again.
    loaded_by = {r for (r,) in world.query(
        "select distinct run_id from audit.loads where status = 'loaded'")}
    assert loaded_by and "rerun" not in loaded_by
    assert world.query("select count(*) from audit.loads where status = 'loaded' "
                       "group by sha256 having count(*) > 1") == []
    # The killed runs' model records stay in the work file, out of the published one.
    scored = {f"killed-before-{b}" for b in BOUNDARIES
              if TASKS.index(b) > TASKS.index("score_churn")}
    assert {r for (r,) in world.query("select distinct run_id from ml.model_runs")} == {
        *scored, "rerun"}
    assert world.query("select distinct run_id from ml.model_runs", published=True) == [
        ("rerun",)]
    assert (settings.exports_dir / DAY.isoformat() / "manifest.json").exists()


def test_a_booster_changed_on_disk_is_refused_at_load(world):
    models = world.settings.models_dir
    in_use = {m: decision(models, m) for m in ("churn", "ltv", "lead")}
    scored_by_model = [m for m, d in in_use.items() if d and d.get("version")
                       and not d.get("rival")]
    assert scored_by_model, f"every model is replaced by a rival here: {in_use}"
    model = scored_by_model[0]
    booster = model_dir(models, model, in_use[model]["version"]) / "booster.json"
    original = booster.read_bytes()
    scores = world.query("select * from ml.scores order by all")
    booster.write_bytes(original.replace(b"{", b"{ ", 1))  # still valid JSON, other bytes
    try:
        with pytest.raises(ModelMismatchError) as refused:
            getattr(daily, f"score_{model}")(world.settings, DAY, "tampered")
    finally:
        booster.write_bytes(original)
    assert str(refused.value) == (
        f"{booster.parent}: booster.json does not match its recorded hash")
    assert not daily.retry_can_fix(refused.value)  # the task fails at once, not 3 times
    assert world.query("select * from ml.scores order by all") == scores


def test_a_publish_killed_inside_leaves_the_last_publication_and_resumes(world):
    settings = world.settings
    before = published_hashes(settings), world.published_exports()
    runs = world.query("select * from meta.runs", published=True)
    # New content for the day (a reason reworded), so publish has a new file to build.
    con = connect(settings)
    try:
        con.execute("update ml.scores set reason_1 = reason_1 || '.' where model = 'churn'")
    finally:
        con.close()

    killed_run(settings, "killed-in-publish", "inside-publish", start="export")

    assert (published_hashes(settings), world.published_exports()) == before
    assert world.query("select * from meta.runs", published=True) == runs
    # Airflow retries the task with the same run id; the half-built file is cleared.
    summary = daily.publish(settings, DAY, "killed-in-publish")
    assert "row_counts" in summary
    assert published_hashes(settings) != before[0]
    assert [r for (r,) in world.query("select run_id from meta.runs order by published_at",
                                      published=True)] == ["rerun", "killed-in-publish"]
    assert not list(settings.warehouse_dir.glob(".*building*"))
