"""One run per data folder: a second `marketing run` refuses at once naming the first, or waits
with `--wait`; a lock whose holder was killed is taken over; a lock an Airflow child inherited
holds the folder while that child lives; two data folders never share a lock or Airflow state.

Each holder is a real process holding the real lock (pipelines/runlock.py); each contender is
the installed `marketing` command. The contenders ask for a day with no exports, which
`marketing run` refuses only after it holds the lock: that it got that far shows it got the
lock, without running the DAG.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from pipelines import airflow_env
from pipelines.runlock import LOCK_FILE, read_holder
from tests.conftest import write_landing

pytestmark = pytest.mark.slow

MARKETING = str(Path(sys.executable).parent / "marketing")
ORDERS = "order_id,order_date,amount,customer_id,email\nA1,2010-12-09,5.00,c1,a@x.com\n"
NO_DATA_DAY = "2001-01-01"
# A holder: takes the lock as `marketing run` would, says so, then waits for its stdin to close.
# With a second argument it first starts a child that inherits the lock (as Airflow does).
HOLDER = """
import os, subprocess, sys
from pathlib import Path
from pipelines.runlock import RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire("run", "2010-12-09")
if len(sys.argv) > 2:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             pass_fds=(lock.fd,), start_new_session=True)
    lock.note(child_pid=child.pid)
print("held", flush=True)
sys.stdin.read()
lock.release()
"""


def hold(home: Path, with_child: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-c", HOLDER, str(home)] + (["child"] if with_child else [])
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    return proc


def marketing(home: Path, *args: str, wait: bool = True) -> subprocess.Popen:
    env = {**os.environ, "MARKETING_HOME": str(home), "AIRFLOW_HOME": ""}
    proc = subprocess.Popen([MARKETING, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if wait:
        proc.wait(timeout=120)
    return proc


@pytest.fixture
def home(settings) -> Path:
    write_landing(settings, "orders", "2010-12-09", "orders.csv", ORDERS)
    return settings.home


def test_a_second_run_refuses_at_once_naming_the_running_one(home):
    holder = hold(home)
    try:
        second = marketing(home, "run", "--date", "2010-12-09")
        err = second.stderr.read().strip()
        assert second.returncode == 1
        assert "\n" not in err, err
        assert err.startswith(f"not run: another run is using the data folder {home}: "
                              f"`marketing run` for 2010-12-09, pid {holder.pid}, started 20")
        assert err.endswith("UTC; wait for it to end, or pass --wait")
        assert holder.poll() is None  # refused while the first still runs
        # The refusal wrote nothing: no Airflow state, no warehouse.
        assert sorted(p.name for p in home.iterdir()) == ["landing", LOCK_FILE]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert read_holder(home / LOCK_FILE) is None  # a clean release clears the note


def test_backfill_steps_and_a_scheduler_refuse_too(home):
    holder = hold(home)
    try:
        for args in (["backfill", "--start", "2010-12-08", "--end", "2010-12-09"],
                     ["score", "--date", "2010-12-09"], ["airflow", "standalone"]):
            refused = marketing(home, *args)
            assert refused.returncode == 1
            assert f"another run is using the data folder {home}" in refused.stderr.read()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_wait_queues_behind_the_running_one(home):
    holder = hold(home)
    waiting = marketing(home, "run", "--wait", "--date", NO_DATA_DAY, wait=False)
    try:
        first_line = waiting.stderr.readline()
        assert first_line.startswith(f"waiting for `marketing run` for 2010-12-09, pid "
                                     f"{holder.pid}, ")
        assert waiting.poll() is None
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    waiting.wait(timeout=120)
    # Once the first ended, it went on: the date check runs only under the lock.
    assert waiting.returncode == 1
    assert waiting.stderr.read().startswith(f"not run: no export files dated {NO_DATA_DAY}")


def test_a_lock_left_by_a_killed_run_is_taken_over(home):
    holder = hold(home)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    left = read_holder(home / LOCK_FILE)
    assert left is not None and left.pid == holder.pid  # its note is still there
    after = marketing(home, "run", "--date", NO_DATA_DAY)
    err = after.stderr.read()
    assert err.startswith(f"note: `marketing run` for 2010-12-09, pid {holder.pid}, started ")
    assert "ended without releasing the data folder (killed?); this run takes it over" in err
    assert f"not run: no export files dated {NO_DATA_DAY}" in err


def test_airflow_that_outlives_its_killed_cli_still_holds_the_folder(home):
    """The CLI killed with SIGKILL cannot end Airflow; while Airflow runs it writes the
    warehouse, so the folder stays held, and the refusal says so."""
    holder = hold(home, with_child=True)
    child = read_holder(home / LOCK_FILE).child_pid
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    try:
        refused = marketing(home, "run", "--date", "2010-12-09")
        err = refused.stderr.read()
        assert refused.returncode == 1
        assert f"pid {holder.pid} (Airflow pid {child})" in err
        assert "its CLI process is gone but its Airflow process still runs" in err
    finally:
        psutil.Process(child).kill()
        psutil.Process(child).wait(timeout=30)
    taken = marketing(home, "run", "--date", NO_DATA_DAY)
    assert "this run takes it over" in taken.stderr.read()


def test_two_data_folders_have_their_own_lock_and_their_own_airflow(tmp_path, home):
    other = tmp_path / "other"
    holder = hold(home)
    try:
        # A run in another data folder is not held up by this one.
        elsewhere = marketing(other, "run", "--date", NO_DATA_DAY)
        assert "another run" not in elsewhere.stderr.read()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    envs = [airflow_env.airflow_env({"MARKETING_HOME": str(h), "AIRFLOW_HOME": ""})
            for h in (home, other)]
    for env in envs:
        env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)  # a caller's own, not a user's
        airflow_env.prepare(env, register_dag=True)
    # Airflow itself says where each keeps its metadata DB and DAG state: in its data folder.
    for env, folder in zip(envs, (home, other), strict=True):
        url = airflow_env.run_airflow(["config", "get-value", "database", "sql_alchemy_conn"],
                                      env).strip().splitlines()[-1]
        assert url == f"sqlite:///{folder / 'airflow' / 'airflow.db'}"
        assert (folder / "airflow" / "airflow.db").exists()
    airflow_env.run_airflow(["dags", "trigger", airflow_env.DAG_ID, "--logical-date",
                             "2010-12-09T00:00:00+00:00"], envs[0])
    assert [r["logical_date"][:10] for r in airflow_env.dag_runs(envs[0])] == ["2010-12-09"]
    assert airflow_env.dag_runs(envs[1]) == []


# A process tree like Airflow's: a child in the group, and one that left it (a new session).
TREE = """
import subprocess, sys, time
sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
kids = [subprocess.Popen(sleep), subprocess.Popen(sleep, start_new_session=True)]
print(" ".join(str(k.pid) for k in kids), flush=True)
time.sleep(600)
"""


def test_a_stop_ends_the_whole_process_tree_even_a_child_that_left_its_group():
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    kids = [psutil.Process(int(pid)) for pid in proc.stdout.readline().split()]
    assert os.getpgid(kids[1].pid) != os.getpgid(proc.pid)
    airflow_env.end_process_tree(proc)
    assert proc.returncode == -signal.SIGKILL
    psutil.wait_procs(kids, timeout=30)
    assert [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE] == []
