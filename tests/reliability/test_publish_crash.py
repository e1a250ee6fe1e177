"""A publish killed at any moment leaves the old publication or the new one, never a mix, and a
rerun completes. A reader that holds the published file open keeps working throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest

from pipelines.warehouse import connect, publish, published_hashes

pytestmark = pytest.mark.slow

TABLES = ["marts.a", "marts.b"]
PUBLISH = (
    "import sys; from datetime import date; from pathlib import Path; "
    "from pipelines.config import Settings; from pipelines.warehouse import publish; "
    "s = Settings(home=Path(sys.argv[1]), duckdb_memory_limit='1GB', duckdb_threads=1); "
    "publish(s, ['marts.a', 'marts.b'], 'new', date(2026, 1, 2), {}, {})"
)
# An analyst's session: opens the published file once, answers a count per line of input.
READER = (
    "import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "for _ in sys.stdin:\n"
    "    print(con.sql('select count(*) from marts.a').fetchall()[0][0], flush=True)"
)


def ask(reader: subprocess.Popen) -> int:
    reader.stdin.write("count\n")
    reader.stdin.flush()
    return int(reader.stdout.readline())


def fill_work(settings, offset: int) -> None:
    con = connect(settings)
    con.execute("create schema if not exists marts")
    for table in TABLES:
        con.execute(f"create or replace table {table} as select range as id, "
                    f"md5(cast(range + {offset} as varchar)) as v from range(600000)")
    con.close()


def test_killed_publish_leaves_old_or_new_and_a_rerun_completes(settings):
    fill_work(settings, 0)
    publish(settings, TABLES, "old", date(2026, 1, 1), {}, {})
    old = published_hashes(settings)
    fill_work(settings, 1)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.published_db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert ask(reader) == 600000

    seen = []
    killed_midway = 0
    for delay in (0.4, 0.9, 1.4, 2.0):
        proc = subprocess.Popen([sys.executable, "-c", PUBLISH, str(settings.home)],
                                env={**os.environ}, start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_midway += 1
        proc.wait()
        seen.append(published_hashes(settings))
        # The reader opened before any of this still answers from the file it opened.
        assert ask(reader) == 600000

    publish(settings, TABLES, "rerun", date(2026, 1, 2), {}, {})
    new = published_hashes(settings)
    reader.stdin.close()
    reader.wait(timeout=30)
    assert new != old
    assert killed_midway >= 2, "the publish finished before any kill; make it slower"
    assert all(state in (old, new) for state in seen), seen
    assert not list(settings.warehouse_dir.glob(".*building*"))
