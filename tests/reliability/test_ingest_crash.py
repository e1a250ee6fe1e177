"""A load killed mid-file leaves nothing of that file; the rerun gives the same raw tables, the
same quarantine and the same ledger as a load that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.warehouse import connect

pytestmark = pytest.mark.slow

INGEST = (
    "import sys; from datetime import date; from pathlib import Path; "
    "from pipelines.config import Settings; from pipelines.ingest.run import ingest_source; "
    "ingest_source(Settings(home=Path(sys.argv[1]), duckdb_threads=1), sys.argv[2], 'killed', "
    "date(2026, 10, 31))"
)


def write_orders(home: Path, name: str, first: int, rows: int) -> None:
    folder = home / "landing" / "orders" / "2026-10-31"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w") as fh:
        fh.write("order_id,order_date,amount,customer_id,email,currency,product_id,quantity\n")
        for i in range(first, first + rows):
            date_field = "not a date" if i % 997 == 0 else "2026-01-02T03:04:05Z"
            fh.write(f"{i},{date_field},{i % 500}.25,{i % 9000},p{i}@x.com,USD,SKU-{i % 60},1\n")


def write_ga4(home: Path, day: int, rows: int) -> None:
    folder = home / "landing" / "ga4" / "2026-10-31"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"events_202610{day:02}.ndjson").open("w") as fh:
        for i in range(rows):
            if i % 997 == 5:
                fh.write('{"event_date": "cut off\n')
                continue
            fh.write(json.dumps({
                "event_date": f"202610{day:02}", "event_timestamp": str(1761696000000000 + i),
                "event_name": "page_view", "user_pseudo_id": f"{i}.1761696000",
                "event_params": [{"key": "ga_session_id", "value": {"int_value": str(i)}}],
            }) + "\n")


def load_seconds(home: Path, source: str) -> float:
    """Wall time of a whole load of `source` from `home`, in a child process as the killed
    loads run it (a home without files times the child's start-up alone)."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", INGEST, str(home), source], check=True)
    return time.monotonic() - start


def kill_delays(clean: Settings, empty: Path, source: str) -> tuple[float, ...]:
    """Loads `source` into `clean` and returns kill delays at a quarter, half and three
    quarters of its loading time after the child's start-up: fixed delays let a fast machine
    finish every load before the first kill."""
    startup = load_seconds(empty, source)
    loading = max(load_seconds(clean.home, source) - startup, 0.0)
    return tuple(startup + share * loading for share in (0.25, 0.5, 0.75))


def kill_loads(home: Path, source: str, delays: tuple[float, ...], check) -> int:
    """Start the load of `source` and kill it after each delay; `check` runs after each kill."""
    kills = 0
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-c", INGEST, str(home), source],
                                start_new_session=True)
        try:
            proc.wait(timeout=delay)  # a load that finishes first is not waited out
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
            proc.wait()
        check()
    return kills


def snapshot(settings: Settings, table: str = "raw.orders__orders",
             order: str = "order_id") -> dict[str, list[tuple]]:
    con = connect(settings, read_only=True)
    try:
        return {
            "raw": con.sql(f"select * exclude (_loaded_at, _run_id, _file) "
                           f"from {table} order by {order}").fetchall(),
            "quarantine": con.sql("select row_number, raw_line, reason from raw.quarantine "
                                  "order by all").fetchall(),
            "ledger": con.sql("select size_bytes, sha256, rows_read, rows_loaded, "
                              "rows_quarantined, status from audit.loads "
                              "where status <> 'rejected' order by sha256").fetchall(),
        }
    finally:
        con.close()


def test_killed_load_then_rerun_equals_an_uninterrupted_load(tmp_path):
    interrupted = Settings(home=tmp_path / "interrupted", duckdb_threads=1)
    clean = Settings(home=tmp_path / "clean", duckdb_threads=1)
    for settings in (interrupted, clean):
        write_orders(settings.home, "orders_a.csv", 1, 300_000)
        write_orders(settings.home, "orders_b.csv", 300_001, 300_000)

    delays = kill_delays(clean, tmp_path / "empty", "orders")
    kills = kill_loads(interrupted.home, "orders", delays, lambda: None)
    ingest_source(interrupted, "orders", "rerun", date(2026, 10, 31))

    assert kills >= 1, "every load finished before the kill; make the files bigger"
    got, want = snapshot(interrupted), snapshot(clean)
    assert len(want["raw"]) == 600_000 - len(want["quarantine"])
    assert got == want


def test_killed_ndjson_load_leaves_whole_files_and_the_rerun_completes(tmp_path):
    """NDJSON is staged by its own path (lines numbered, then parsed): after any kill, each
    GA4 file in the ledger has all its rows and no other file has any."""
    interrupted = Settings(home=tmp_path / "interrupted", duckdb_threads=1)
    clean = Settings(home=tmp_path / "clean", duckdb_threads=1)
    for settings in (interrupted, clean):
        for day in range(20, 25):
            write_ga4(settings.home, day, 40_000)

    def each_file_whole_or_absent() -> None:
        if not interrupted.work_db.exists():
            return
        con = connect(interrupted, read_only=True)
        try:
            ledger = con.sql("select file_path, rows_loaded from audit.loads "
                             "where status = 'loaded' order by 1").fetchall()
            raw = con.sql("select _file, count(*) from raw.ga4__events "
                          "group by 1 order by 1").fetchall()
        except duckdb.CatalogException:
            return  # killed before the tables were made
        finally:
            con.close()
        assert raw == ledger

    delays = kill_delays(clean, tmp_path / "empty", "ga4")
    kills = kill_loads(interrupted.home, "ga4", delays, each_file_whole_or_absent)
    ingest_source(interrupted, "ga4", "rerun", date(2026, 10, 31))

    assert kills >= 1, "every load finished before the kill; make the files bigger"
    got = snapshot(interrupted, "raw.ga4__events", "event_date, _row")
    want = snapshot(clean, "raw.ga4__events", "event_date, _row")
    assert len(want["raw"]) == 5 * 40_000 - len(want["quarantine"])
    assert got == want
