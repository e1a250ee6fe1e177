"""`marketing run` through Airflow when things go wrong, on one `xs` simulated shop:

- a file that can never pass (over its error budget) fails its ingest task once, not once per
  retry, and the CLI's last line names the file and the reason; the alert it sends carries
  planted secrets (an SMTP password, a webhook token) to no log, XCom or output;
- SIGTERM during a task ends Airflow and every process under it, publishes nothing, exits
  non-zero with a sentence, and a second run started meanwhile was refused naming the first;
- the rerun after that kill publishes, and the published `ml.model_runs` holds only the rows
  of runs that were published, not those the killed run left in the work file.

The tests run in order on the module's world, each starting where the one before left it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from pipelines.config import Settings
from pipelines.runlock import LOCK_FILE, read_holder
from pipelines.warehouse import connect
from simulator import simulate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2019, 10, 31)
MARKETING = str(Path(sys.executable).parent / "marketing")
SMTP_PASSWORD = "s3cret-pass"  # the one tests/conftest.py's SMTP server accepts
WEBHOOK_TOKEN = "xoxb-planted-9f3a7c1e"


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "data")
        self.env = {**os.environ, "MARKETING_HOME": str(self.settings.home), "AIRFLOW_HOME": "",
                    "GX_ANALYTICS_ENABLED": "false"}
        self.killed_runs: set[str] = set()

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen([MARKETING, "run", "--date", DAY.isoformat(), *args],
                                env={**self.env, **env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def run(self, **env: str) -> tuple[int, str, str]:
        proc = self.start(**env)
        out, err = proc.communicate(timeout=1800)
        return proc.returncode, out, err

    def query(self, sql: str, published: bool = False) -> list[tuple]:
        path = self.settings.published_db if published else self.settings.work_db
        con = connect(self.settings, path=path, read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()

    def airflow_db(self, sql: str) -> list[tuple]:
        con = sqlite3.connect(self.settings.home / "airflow" / "airflow.db")
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def asset_events(self) -> int:
        return self.airflow_db(
            "select count(*) from asset_event e join asset a on a.id = e.asset_id "
            "where a.name = 'marketing_published'")[0][0]

    def newest_log(self) -> Path | None:
        logs = sorted((self.settings.home / "logs").glob(f"run-{DAY}-*.log"))
        return logs[-1] if logs else None


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("stop"))
    simulate(w.settings, scale="xs", seed=42, end_date=DAY)
    return w


def test_a_file_over_its_error_budget_fails_once_and_the_cli_names_it(
        world, smtp_server, webhook_server):
    bad = world.settings.landing_dir / "orders" / DAY.isoformat() / "orders.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("order_id,order_date,amount,customer_id,email\n"
                   + "".join(f"O{i},not a date,5.00,c{i},c{i}@x.com\n" for i in range(40)))
    port, inbox = smtp_server
    url, posted = webhook_server
    try:
        code, out, err = world.run(
            AIRFLOW_CONN_MARKETING_ALERTS_SMTP=f"smtp://pipeline:{SMTP_PASSWORD}@127.0.0.1:"
            f"{port}?from=pipeline%40shop.example&to=data%40shop.example",
            AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK=json.dumps(
                {"conn_type": "http", "host": f"{url.rsplit('/', 1)[0]}/{WEBHOOK_TOKEN}"}))
    finally:
        bad.unlink()
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"the run for {DAY} failed: ingest_orders failed: ingest: {bad}: "
                           "rejected, 40 of 40 rows are bad (100.0%, over the error budget of "
                           "5%); most common reasons: "), last
    # Failed at once: one try, not the two retries the DAG allows for errors a retry can fix.
    (tries,) = world.airflow_db("select try_number from task_instance "
                                "where task_id = 'ingest_orders'")
    assert tries == (1,)
    assert world.airflow_db("select count(*) from task_instance_history "
                            "where task_id = 'ingest_orders'") == [(0,)]
    assert world.newest_log().read_text().count("starting task_id=ingest_orders") == 1
    assert not world.settings.published_db.exists()
    assert world.asset_events() == 0
    # The alert went out through both connections, so both secrets were in use...
    (_, mail), = inbox.messages
    assert str(bad) in mail.get_content() and len(posted) == 1
    # ... and neither is anywhere a person or a later step reads: the CLI's output, Airflow's
    # logs, XCom, the data folder's files (DuckDB files hold no such text either).
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN):
        assert secret not in out + err
        assert not [p for p in world.settings.home.rglob("*")
                    if p.is_file() and secret.encode() in p.read_bytes()]
        assert not [v for (v,) in world.airflow_db("select value from xcom")
                    if secret in str(v)]


def test_sigterm_during_a_task_ends_every_airflow_process_and_publishes_nothing(world):
    first = world.start()
    try:
        log = None
        deadline = time.monotonic() + 1500
        while time.monotonic() < deadline and first.poll() is None:
            log = world.newest_log()
            # Scoring is done when find_personas starts: the run has written model records.
            if log and "[DAG TEST] starting task_id=find_personas" in log.read_text():
                break
            time.sleep(0.5)
        assert first.poll() is None, first.communicate()
        holder = read_holder(world.settings.home / LOCK_FILE)
        assert holder.pid == first.pid and holder.child_pid

        # A second run meanwhile is refused at once, naming the first; nothing is disturbed.
        second = subprocess.run([MARKETING, "run", "--date", DAY.isoformat()], env=world.env,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 1
        assert second.stderr.startswith(
            f"not run: another run is using the data folder {world.settings.home}: "
            f"`marketing run` for {DAY}, pid {first.pid} (Airflow pid {holder.child_pid}), "
            "started ")
        assert first.poll() is None

        tree = psutil.Process(first.pid).children(recursive=True)
        assert psutil.Process(holder.child_pid) in tree and len(tree) > 1
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == (
        f"the run for {DAY} was stopped by SIGTERM: Airflow and every process it started "
        "were ended before another step could begin; nothing has been published yet")
    survivors = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert not world.settings.published_db.exists()
    assert not (world.settings.exports_dir / DAY.isoformat()).exists()
    assert world.asset_events() == 0
    assert read_holder(world.settings.home / LOCK_FILE) is None  # released
    world.killed_runs = {r for (r,) in world.query("select distinct run_id from ml.model_runs")}
    assert len(world.killed_runs) == 1  # the killed run had scored


def test_the_rerun_publishes_only_the_published_runs_model_records(world):
    code, out, err = world.run()
    assert code == 0, out[-4000:] + err[-3000:]
    published_runs = {r for (r,) in world.query("select run_id from meta.runs", True)}
    (run_id,) = published_runs
    assert f"published as run {run_id}." in out
    in_work = {r for (r,) in world.query("select distinct run_id from ml.model_runs")}
    assert in_work == world.killed_runs | {run_id}
    published_records = world.query("select distinct run_id from ml.model_runs", True)
    assert published_records == [(run_id,)]
    assert world.asset_events() == 1
