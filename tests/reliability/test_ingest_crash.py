"""A load killed mid-file leaves nothing of that file; the rerun gives the same raw tables, the
same quarantine and the same ledger as a load that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.warehouse import connect

pytestmark = pytest.mark.slow

INGEST = (
    "import sys; from datetime import date; from pathlib import Path; "
    "from pipelines.config import Settings; from pipelines.ingest.run import ingest_source; "
    "ingest_source(Settings(home=Path(sys.argv[1]), duckdb_threads=1), 'orders', 'killed', "
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


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    con = connect(settings, read_only=True)
    try:
        return {
            "raw": con.sql("select * exclude (_loaded_at, _run_id, _file) "
                           "from raw.orders__orders order by order_id").fetchall(),
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

    kills = 0
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen([sys.executable, "-c", INGEST, str(interrupted.home)],
                                start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    ingest_source(interrupted, "orders", "rerun", date(2026, 10, 31))
    ingest_source(clean, "orders", "clean", date(2026, 10, 31))

    assert kills >= 1, "every load finished before the kill; make the files bigger"
    got, want = snapshot(interrupted), snapshot(clean)
    assert len(want["raw"]) == 600_000 - len(want["quarantine"])
    assert got == want
