"""Hostile input files and landing folders: each is refused, skipped or quarantined with one
sentence that names the file (and the row, line or column) and the reason, never a traceback,
and every other file of the run still loads (the ledger accounts for each file and row)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pipelines import cli, runcheck
from pipelines.ingest.run import IngestError, discover, ingest_source
from tests.conftest import query as rows
from tests.conftest import write_landing

DAY = date(2026, 10, 31)
HEADER = "order_id,order_date,amount,customer_id,email,currency,product_id,quantity"


def order(i: int, amount: str = "10.50", when: str = "2026-01-02T10:00:00Z") -> str:
    return f"{i},{when},{amount},{7000 + i},p{i}@x.com,USD,SKU-1,1"


def orders(n: int) -> str:
    return HEADER + "\n" + "".join(order(i) + "\n" for i in range(1, n + 1))


def ga4_line(i: int, **extra) -> str:
    return json.dumps({"event_date": "20261030", "event_timestamp": str(1761782400000000 + i),
                       "event_name": "page_view", "user_pseudo_id": f"{i}.1", **extra})


def marketing(settings, *args: str) -> subprocess.CompletedProcess:
    """The installed command line, as a user runs it."""
    env = {**os.environ, "MARKETING_HOME": str(settings.home)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# 1. Binary garbage named .csv


def test_binary_garbage_named_csv_is_rejected_by_name_and_the_other_files_load(settings):
    garbage = settings.landing_dir / "orders" / "2026-10-31" / "orders_garbage.csv"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(bytes(range(256)) * 40 + b"\x00\x00\xff\xfe\x00")
    write_landing(settings, "orders", "2026-10-31", "orders_good.csv", orders(3))
    result = marketing(settings, "ingest", "--source", "orders", "--path", str(garbage),
                       str(garbage.with_name("orders_good.csv")))
    no_traceback(result)
    assert result.returncode == 1
    assert f"{garbage}: rejected, not a text file" in result.stderr
    assert rows(settings, "select count(*) from raw.orders__orders") == [(3,)]
    assert sorted(rows(settings, "select file_path, status from audit.loads")) == [
        (str(garbage), "rejected"), (str(garbage.with_name("orders_good.csv")), "loaded")]


# 2. A header ending in a comma


def test_an_unnamed_empty_column_is_left_out_and_the_file_loads(settings):
    text = HEADER + ",\n" + "".join(order(i) + ",\n" for i in range(1, 4))
    write_landing(settings, "orders", "2026-10-31", "orders.csv", text)
    report = ingest_source(settings, "orders", "r1", DAY)
    assert [r.status for r in report.results] == ["loaded"]
    assert "column 9 has no name and no values; left out" in report.results[0].message
    assert rows(settings, "select count(*) from raw.orders__orders") == [(3,)]
    columns = rows(settings, "select column_name from information_schema.columns "
                             "where table_name = 'orders__orders' and column_name like '%mp%'")
    assert columns == []


def test_an_unnamed_column_with_values_is_rejected_with_its_position(settings):
    text = HEADER + ",\n" + order(1) + ",\n" + order(2) + ",oops\n"
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", text)
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "orders", "r1", DAY)
    assert str(err.value) == (
        f"{path}: rejected, column 9 has no name in the header but holds values (first in "
        "row 2); name it in the header or remove it")
    assert rows(settings, "select status from audit.loads") == [("rejected",)]


# 3. Headers that differ only in case


def test_headers_differing_only_in_case_are_rejected_naming_both(settings):
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv",
                         HEADER + ",Email\n" + order(1) + ",P1@X.COM\n")
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "orders", "r1", DAY)
    assert str(err.value) == (
        f"{path}: rejected, columns 'email' (column 5) and 'Email' (column 9) differ only in "
        "case, which the warehouse cannot tell apart; rename or remove one")


# 4. Line-size and file-size limits


def test_an_ndjson_line_over_the_line_limit_is_named_and_the_file_rejected(settings):
    settings = replace(settings, max_line_bytes=4096)
    long_line = ga4_line(2, page_title="x" * 10_000)
    path = write_landing(settings, "ga4", "2026-10-31", "events_20261030.ndjson",
                         "\n".join([ga4_line(1), long_line, ga4_line(3)]) + "\n")
    write_landing(settings, "ga4", "2026-10-31", "events_20261029.ndjson", ga4_line(4) + "\n")
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "ga4", "r1", DAY)
    assert str(err.value) == (
        f"{path}: rejected, line 2 is {len(long_line) + 1:,} bytes long, over the limit of "
        "4,096 bytes per line (MARKETING_MAX_LINE_BYTES); nothing from this file was loaded")
    assert rows(settings, "select count(*) from raw.ga4__events") == [(1,)]


def test_a_gzipped_line_over_the_limit_is_named_too(settings):
    settings = replace(settings, max_line_bytes=4096)
    path = settings.landing_dir / "ga4" / "2026-10-31" / "events_20261030.ndjson.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(("\n".join(
        [ga4_line(i) for i in range(1, 50)] + [ga4_line(50, x="y" * 5000)]) + "\n").encode()))
    with pytest.raises(IngestError, match=r"rejected, line 50 is .* over the limit of 4,096"):
        ingest_source(settings, "ga4", "r1", DAY)


def test_a_file_over_the_size_limit_is_rejected_unread(settings):
    settings = replace(settings, max_file_bytes=1000)
    big = write_landing(settings, "orders", "2026-10-31", "orders_big.csv", orders(100))
    write_landing(settings, "orders", "2026-10-31", "orders_small.csv", HEADER + "\n" + order(1))
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "orders", "r1", DAY)
    assert str(err.value) == (
        f"{big}: rejected, the file is {big.stat().st_size:,} bytes, over the limit of 1,000 "
        "bytes per file (MARKETING_MAX_FILE_BYTES); split the export or raise the limit")
    assert rows(settings, "select count(*) from raw.orders__orders") == [(1,)]


def test_limits_are_settings_with_sane_defaults(monkeypatch):
    from pipelines.config import Settings

    defaults = Settings.from_env()
    assert defaults.max_line_bytes == 16 << 20
    assert defaults.max_file_bytes >= 1 << 30
    monkeypatch.setenv("MARKETING_MAX_LINE_BYTES", "2048")
    assert Settings.from_env().max_line_bytes == 2048
    monkeypatch.setenv("MARKETING_MAX_LINE_BYTES", "0")
    with pytest.raises(ValueError, match="MARKETING_MAX_LINE_BYTES must be at least 1"):
        Settings.from_env()


# 5. Input columns named like the loader's own


def test_a_csv_column_named_like_the_loaders_keeps_row_checks(settings):
    header = HEADER + ",_row,_reason,_file,_n"
    text = (header + "\n" + order(1) + ",a,b,c,d\n" + order(2, amount="five") + ",a,,c,d\n"
            + order(3, when="yesterday") + ",a,b,c,d\n" + "".join(
                order(i) + ",a,b,c,d\n" for i in range(4, 100)))
    write_landing(settings, "orders", "2026-10-31", "orders.csv", text)
    report = ingest_source(settings, "orders", "r1", DAY)
    assert report.results[0].status == "loaded"
    assert "'_row' is stored as '_row__export'" in report.results[0].message
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (2, "bad type: amount is not a number"), (3, "bad timestamp: order_date")]
    assert rows(settings, "select count(*), min(_row), max(_row) from raw.orders__orders") == [
        (97, 1, 99)]
    assert rows(settings, "select distinct _row__export, _reason, _file__export "
                          "from raw.orders__orders") == [("a", "b", "c")]


def test_a_ga4_key_named_like_the_loaders_keeps_row_checks(settings):
    lines = [ga4_line(i, _row="x", _reason=None, _file_path="f") for i in range(1, 60)]
    lines[4] = json.dumps({"event_date": "20261030", "event_timestamp": "soon",
                           "event_name": "page_view", "user_pseudo_id": "5.1", "_row": "x"})
    write_landing(settings, "ga4", "2026-10-31", "events_20261030.ndjson",
                  "\n".join(lines) + "\n")
    report = ingest_source(settings, "ga4", "r1", DAY)
    assert report.results[0].status == "loaded"
    assert rows(settings, "select row_number, reason from raw.quarantine") == [
        (5, "bad type: event_timestamp is not bigint")]
    assert rows(settings, "select count(*), max(_row) from raw.ga4__events") == [(58, 59)]
    assert rows(settings, "select distinct _row__export from raw.ga4__events") == [('"x"',)]


def test_a_column_with_the_loaders_reserved_prefix_is_rejected(settings):
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv",
                         HEADER + ",__mp_row\n" + order(1) + ",1\n")
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "orders", "r1", DAY)
    assert str(err.value) == (
        f"{path}: rejected, column 9 '__mp_row' starts with '__mp_', a prefix the loader "
        "keeps for its own columns; rename it")


# 6. Date folders


def test_a_folder_that_is_no_date_is_skipped_named_and_never_loaded(settings):
    from pipelines.ingest import landing

    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders(2))
    write_landing(settings, "orders", "not-a-date", "orders.csv", orders(5))
    write_landing(settings, "orders", "2026-02-30", "orders.csv", orders(7))
    found = landing.scan(settings.landing_dir, "orders")
    assert found.skipped == {
        settings.landing_dir / "orders" / "2026-02-30":
            "the folder name is not a real date (YYYY-MM-DD)",
        settings.landing_dir / "orders" / "not-a-date":
            "the folder name is not an export date (YYYY-MM-DD)",
    }
    assert [p.parent.name for p in discover(settings, "orders", DAY)] == ["2026-10-31"]
    assert [p.parent.name for p in discover(settings, "orders", None)] == ["2026-10-31"]
    assert runcheck.landing_dates(settings) == [DAY]
    report = ingest_source(settings, "orders", "r1", DAY)
    assert "2 folders skipped" in report.summary()
    assert rows(settings, "select count(*) from raw.orders__orders") == [(2,)]
    waiting = dict(runcheck.waiting_files(settings, DAY))
    assert waiting[settings.landing_dir / "orders" / "not-a-date" / "orders.csv"] == (
        "its folder not-a-date is skipped: the folder name is not an export date (YYYY-MM-DD)")


def test_bad_date_folders_never_crash_a_command(settings):
    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders(2))
    write_landing(settings, "orders", "2026-02-30", "orders.csv", orders(7))
    write_landing(settings, "shop", "not-a-date", "orders_export.csv", "x\n1\n")
    result = marketing(settings, "landing-date")
    no_traceback(result)
    assert result.stdout.strip() == "2026-10-31"
    assert f"{settings.landing_dir / 'orders' / '2026-02-30'}: skipped" in result.stderr
    runcheck.check_date(settings, DAY)


# 7. A folder dated in the future


def test_a_future_folder_is_refused_as_the_run_date_unless_asked(settings, monkeypatch, capsys):
    monkeypatch.setenv("MARKETING_HOME", str(settings.home))
    write_landing(settings, "shop", "2026-10-31", "orders_export.csv", "x\n1\n")
    future = write_landing(settings, "shop", "2099-01-01", "orders_export.csv", "x\n1\n")
    with pytest.raises(SystemExit) as stop:
        cli.main(["run"])
    assert str(stop.value) == (
        f"not run: {future.parent} is dated after today ({date.today()}); a folder's name is "
        "its export date, so rename it, run an earlier day with --date, or pass "
        "--allow-future to run for 2099-01-01")
    with pytest.raises(ValueError, match=r"shop/2099-01-01 is dated after today"):
        runcheck.check_date(settings, date(2099, 1, 1))
    runcheck.check_date(settings, date(2099, 1, 1), allow_future=True)
    assert cli.build_parser().parse_args(["run", "--allow-future"]).allow_future


# 8. Encodings


def test_a_cp1252_file_from_excel_keeps_curly_quotes_and_the_euro_sign(settings):
    names = ["“Deluxe” mug – 10€", "Café crème", "Zoë’s order", "Straße 5 € off"]
    text = HEADER + ",note\r\n" + "".join(
        f"{order(i)},{names[i % 4]}\r\n" for i in range(1, 41))
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", text,
                         encoding="cp1252")
    bom = write_landing(settings, "orders", "2026-10-30", "orders_bom.csv",
                  "\ufeff" + HEADER + ",note\n" + order(99) + ",“BOM” ok €\n")
    ingest_source(settings, "orders", "r1", DAY)
    notes = rows(settings, "select distinct note from raw.orders__orders")
    assert sorted(r[0] for r in notes) == sorted(
        [*names, "“BOM” ok €"])
    assert sorted(rows(settings, "select file_path, encoding from audit.loads")) == [
        (str(bom), "utf-8"), (str(path), "cp1252")]
    assert rows(settings, "select count(*) from raw.orders__orders where order_id = '99'") == [
        (1,)]


# Empty and header-only files


def test_empty_and_header_only_files_load_as_zero_rows_with_a_note(settings):
    write_landing(settings, "orders", "2026-10-31", "orders_empty.csv", "")
    write_landing(settings, "orders", "2026-10-31", "orders_header.csv", HEADER + "\r\n")
    write_landing(settings, "orders", "2026-10-31", "orders_blank.csv", "\n\n  \n")
    write_landing(settings, "ga4", "2026-10-31", "events_20261030.ndjson", "\n")
    for source in ("orders", "ga4"):
        report = ingest_source(settings, source, "r1", DAY)
        assert {r.status for r in report.results} == {"empty"}
    assert sorted(rows(settings, "select file_path, rows_read, status, message "
                                 "from audit.loads")) == sorted([
        (str(settings.landing_dir / p), 0, "empty", "file has no data rows")
        for p in ("orders/2026-10-31/orders_empty.csv", "orders/2026-10-31/orders_header.csv",
                  "orders/2026-10-31/orders_blank.csv", "ga4/2026-10-31/events_20261030.ndjson")
    ])


@pytest.mark.parametrize("name", ["orders.csv", "nested/orders.csv"])
def test_discover_never_raises_on_any_folder_name(settings, name: str, tmp_path: Path):
    from pipelines.ingest import landing

    for folder in ("2026-13-01", "0000-00-00", "9999-99-99", "2026-1-1", " 2026-10-31"):
        write_landing(settings, "orders", folder, name, orders(1))
    assert discover(settings, "orders", DAY) == []
    assert len(landing.scan(settings.landing_dir, "orders").skipped) == 5
