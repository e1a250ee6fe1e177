"""Analysts' access: the published file opens in the DuckDB 1.x shell from the package registry
(what analysts' tools embed), through `marketing sql` as the README prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipelines.warehouse import connect, publish

BIN = Path(sys.executable).parent


def test_the_shell_is_duckdb_1x():
    out = subprocess.run([str(BIN / "duckdb"), "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("v1."), out


def test_marketing_sql_reads_the_published_file_in_the_duckdb_1x_shell(settings):
    con = connect(settings)
    con.execute("create schema marts")
    con.execute("create table marts.customers as select range as id, 'Zoë' as name, "
                "now() as seen_at, 1.25::decimal(18, 2) as revenue from range(4)")
    con.close()
    publish(settings, ["marts.customers"], "run1", date(2010, 12, 9), {}, {})
    env = {**os.environ, "MARKETING_HOME": str(settings.home)}
    proc = subprocess.run(
        [str(BIN / "marketing"), "sql",
         "select count(*) || ' ' || min(name) || ' ' || sum(revenue) as answer "
         "from marts.customers"],
        env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "4 Zoë 5.00" in proc.stdout
    # Read-only: the shell cannot change the publication.
    proc = subprocess.run([str(BIN / "marketing"), "sql", "drop table marts.customers"],
                          env=env, capture_output=True, text=True, check=False)
    assert "read-only" in (proc.stdout + proc.stderr).lower()


def test_marketing_sql_before_any_publication_says_so(settings):
    env = {**os.environ, "MARKETING_HOME": str(settings.home)}
    proc = subprocess.run([str(BIN / "marketing"), "sql", "select 1"], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"nothing is published yet at {settings.published_db}; run `make run` first")
