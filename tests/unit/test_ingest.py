"""The loader: ledger identity, quarantine with reasons, error budget, idempotence, drift."""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import write_landing
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from pipelines.config import Settings
from pipelines.ingest import files, loader, run
from pipelines.ingest.files import inspect_file
from pipelines.ingest.run import IngestError, discover, ingest_files, ingest_source
from pipelines.ingest.sources import SOURCES, Column
from pipelines.warehouse import connect
from tests.conftest import query as rows

HEADER = "order_id,order_date,amount,customer_id,email,currency,product_id,quantity\n"


def good_line(i: int) -> str:
    return f"{i},2026-01-{1 + i % 28:02d}T10:00:00Z,{10 + i}.50,{7000 + i},p{i}@x.com,USD,SKU-1,1\n"


def orders_file(n: int, bad: dict[int, str] | None = None) -> str:
    bad = bad or {}
    return HEADER + "".join(bad.get(i, good_line(i)) for i in range(1, n + 1))



def test_one_percent_bad_rows_are_quarantined_with_reasons_and_ledger_adds_up(settings):
    bad = {
        10: "10,2026-01-02T10:00:00Z\n",  # too few columns
        20: "20,yesterday,5.00,1,a@x.com,USD,SKU-1,1\n",  # bad timestamp
        30: ",2026-01-02T10:00:00Z,5.00,1,a@x.com,USD,SKU-1,1\n",  # missing order id
        40: "40,2026-01-02T10:00:00Z,five,1,a@x.com,USD,SKU-1,1\n",  # amount not a number
    }
    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(400, bad))
    report = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert report.results[0].rows_quarantined == 4
    quarantined = rows(settings, "select row_number, reason from raw.quarantine order by 1")
    assert quarantined == [
        (10, "parse error: missing columns"),
        (20, "bad timestamp: order_date"),
        (30, "missing required field: order_id"),
        (40, "bad type: amount is not a number"),
    ]
    loaded = rows(settings, "select min(_row), max(_row), count(*) from raw.orders__orders")
    assert loaded == [(1, 400, 396)]
    # Every loaded row keeps the row number of its line in the file.
    mismatched = "select count(*) from raw.orders__orders where _row <> cast(order_id as int)"
    assert rows(settings, mismatched) == [(0,)]
    ledger = rows(settings, "select rows_read, rows_loaded, rows_quarantined, status "
                            "from audit.loads")
    assert ledger == [(400, 396, 4, "loaded")]


def test_over_the_error_budget_the_file_is_rejected_and_nothing_loads(settings):
    bad = {i: f"{i},never,1,1,a@x.com,USD,SKU,1\n" for i in range(1, 7)}  # 6 of 100
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(100, bad))
    with pytest.raises(IngestError) as err:
        ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    message = str(err.value)
    assert str(path) in message and "6 of 100" in message and "bad timestamp: order_date" in message
    assert rows(settings, "select count(*) from raw.orders__orders") == [(0,)]
    assert rows(settings, "select count(*) from raw.quarantine") == [(0,)]
    assert rows(settings, "select status from audit.loads") == [("rejected",)]


def test_same_file_twice_loads_once_and_a_new_version_loads_again(settings):
    write_landing(settings, "orders", "2026-10-30", "orders.csv", orders_file(5))
    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(5))  # same bytes
    first = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert [r.status for r in first.results] == ["loaded", "skipped"]
    second = ingest_source(settings, "orders", "r2", date(2026, 10, 31))
    assert [r.status for r in second.results] == ["skipped", "skipped"]
    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(6))
    third = ingest_source(settings, "orders", "r3", date(2026, 10, 31))
    assert [r.status for r in third.results] == ["skipped", "loaded"]
    assert rows(settings, "select count(*) from raw.orders__orders") == [(11,)]


def test_a_file_unchanged_since_its_load_is_skipped_without_reading_it(settings, monkeypatch):
    import os

    from pipelines.ingest import run

    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(5))
    ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    real_inspect = run.inspect_file
    read = []
    monkeypatch.setattr(run, "inspect_file",
                        lambda p, f, *a: read.append(p) or real_inspect(p, f, *a))
    again = ingest_source(settings, "orders", "r2", date(2026, 10, 31))
    assert [r.status for r in again.results] == ["skipped"] and read == []
    assert "same size and modification time" in again.results[0].message
    # Touched (a new modification time): read and hashed, and skipped as the same bytes.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = ingest_source(settings, "orders", "r3", date(2026, 10, 31))
    assert [r.status for r in touched.results] == ["skipped"] and read == [path]
    assert touched.results[0].message == "same bytes already loaded"
    # Its new time is remembered: the next run does not read it.
    ingest_source(settings, "orders", "r4", date(2026, 10, 31))
    assert read == [path]
    assert rows(settings, "select count(*) from raw.orders__orders") == [(5,)]


def test_missing_required_column_names_the_closest_match(settings):
    text = orders_file(3).replace("order_date", "order_datetime", 1)
    write_landing(settings, "orders", "2026-10-31", "orders.csv", text)
    with pytest.raises(IngestError, match=r"'order_date' is missing.*'order_datetime'"):
        ingest_source(settings, "orders", "r1", date(2026, 10, 31))


INVOICE_HEADER = "order_id,order_date,customer_id,product_id,quantity,unit_price,country\n"


def test_an_invoice_line_export_loads_with_guests_and_returns(settings):
    """Unit prices instead of amounts, guest lines (no customer id, no email) and returns
    (negative quantity or price) are all good rows; only a line with no price is bad."""
    text = INVOICE_HEADER + (
        "489434,2009-12-01 07:45:00,13085,85048,12,6.95,United Kingdom\n"
        "489435,2009-12-01 07:46:00,,22350,3,2.55,United Kingdom\n"  # guest
        "C489449,2009-12-01 10:33:00,16321,22087,-12,0.85,Australia\n"  # credit note
        "A506401,2010-04-29 13:36:00,,B,1,-53594.36,United Kingdom\n"  # bad-debt adjustment
        "489436,2009-12-01 09:06:00,13078,21755,,,United Kingdom\n"  # no price at all
        "489437,2009-12-01 09:08:00,15362,22143,6,2.1O,United Kingdom\n"  # letter O
    ) + "".join(f"5{i:05d},2010-01-04 10:00:00,13085,85048,1,1.25,EIRE\n" for i in range(60))
    path = write_landing(settings, "orders", "2026-10-31", "invoices.csv", text)
    report = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    result = report.results[0]
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 64, 2)
    assert rows(settings, "select file_path, row_number, reason from raw.quarantine "
                          "order by row_number") == [
        (str(path), 5, "missing required field: one of amount, unit_price"),
        (str(path), 6, "bad type: unit_price is not a number"),
    ]
    assert rows(settings, "select order_id, customer_id, unit_price, amount "
                          "from raw.orders__orders where _row <= 6 order by _row") == [
        ("489434", "13085", "6.95", None),
        ("489435", None, "2.55", None),
        ("C489449", "16321", "0.85", None),
        ("A506401", None, "-53594.36", None),
    ]


def test_a_file_with_neither_amount_nor_unit_price_is_rejected_by_name(settings):
    text = "order_id,order_date,customer_id\n1,2026-01-01,7\n"
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", text)
    with pytest.raises(IngestError, match=r"needs one of the columns \['amount', 'unit_price'\]"):
        ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert rows(settings, "select file_path, status from audit.loads") == [(str(path), "rejected")]


def test_a_file_of_guest_checkouts_loads_whole(settings):
    """Orders naming no customer are no bad rows: a guest-heavy export is not rejected."""
    lines = "".join(f"{i},2026-01-01T10:00:00Z,{i}.00\n" for i in range(1, 101))
    write_landing(settings, "orders", "2026-10-31", "orders.csv",
                  "order_id,order_date,amount\n" + lines)
    report = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert [(r.status, r.rows_loaded, r.rows_quarantined) for r in report.results] == [
        ("loaded", 100, 0)]


def test_added_and_reordered_columns_are_kept(settings):
    write_landing(settings, "orders", "2026-10-30", "orders.csv", orders_file(2))
    drifted = "coupon,amount,order_id,order_date\nSPRING,3.00,9,2026-02-01T00:00:00Z\n"
    write_landing(settings, "orders", "2026-10-31", "orders_b.csv", drifted.replace(
        "\n", ",x@y.com\n").replace("order_date,x@y.com", "order_date,email"))
    ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    got = rows(settings,
               "select order_id, amount, coupon from raw.orders__orders order by _file, _row")
    assert got == [("1", "11.50", None), ("2", "12.50", None), ("9", "3.00", "SPRING")]


def test_latin1_and_bom_files_decode(settings):
    text = "\ufeff" + HEADER + "1,2026-01-01T00:00:00Z,1.00,1,zoé@x.com,EUR,SKU,1\n"
    write_landing(settings, "orders", "2026-10-30", "orders_utf8.csv", text)
    write_landing(settings, "orders", "2026-10-31", "orders_latin1.csv",
                  text[1:].replace("1,2026", "2,2026"), encoding="latin-1")
    ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert rows(settings, "select email from raw.orders__orders order by _file") == [
        ("zoé@x.com",), ("zoé@x.com",)]
    # Detected: Windows-1252, which reads every Latin-1 letter the same.
    assert sorted(r[0] for r in rows(settings, "select encoding from audit.loads")) == [
        "cp1252", "utf-8"]


def test_empty_file_is_recorded_and_no_files_is_not_an_error(settings):
    report = ingest_source(settings, "orders", "r0", date(2026, 10, 31))
    assert report.summary() == "orders: no new files"
    write_landing(settings, "orders", "2026-10-31", "orders.csv", HEADER)
    report = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert [r.status for r in report.results] == ["empty"]
    assert rows(settings, "select rows_read, status from audit.loads") == [(0, "empty")]


def test_files_dated_after_the_run_are_left_for_later(settings):
    write_landing(settings, "orders", "2026-10-30", "orders.csv", orders_file(1))
    write_landing(settings, "orders", "2026-11-01", "orders.csv", orders_file(2))
    found = discover(settings, "orders", date(2026, 10, 31))
    assert [p.parent.name for p in found] == ["2026-10-30"]


def test_unknown_source_and_missing_file_are_clear_errors(settings, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown source 'shopify'"):
        ingest_files(settings, "shopify", [], "r1")
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        ingest_files(settings, "orders", [tmp_path / "orders_nope.csv"], "r1")


@hyp_settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.one_of(st.integers(5, 60), st.integers(1000, 4000)), data=st.data())
def test_row_numbers_survive_any_pattern_of_bad_lines(tmp_path_factory, n, data):
    """Whatever lines are bad, the rest load with their own row numbers: read = loaded + bad.
    Files of thousands of rows span several blocks of the renumbering (`SHIFT_BLOCK`)."""
    home = tmp_path_factory.mktemp("h")
    settings = Settings(home=home, duckdb_memory_limit="1GB", duckdb_threads=2,
                        error_budget=1.0)
    bad_rows = data.draw(st.sets(st.integers(1, n), max_size=min(n // 2, 60)))
    kinds = ["{i},2026-01-01\n", "{i},2026-01-01T00:00:00Z,1,1,a@x.com,USD,SKU,1,extra\n",
             "{i},soon,1,1,a@x.com,USD,SKU,1\n"]
    bad = {i: kinds[i % 3].format(i=i) for i in bad_rows}
    write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(n, bad))
    ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    con = connect(settings, read_only=True)
    try:
        loaded = con.sql("select _row, cast(order_id as int) from raw.orders__orders").fetchall()
        quarantined = {r[0] for r in con.sql("select row_number from raw.quarantine").fetchall()}
        read, ok, q = con.sql(
            "select rows_read, rows_loaded, rows_quarantined from audit.loads").fetchall()[0]
    finally:
        con.close()
    assert all(r == oid for r, oid in loaded)
    assert {r for r, _ in loaded} == set(range(1, n + 1)) - bad_rows
    assert quarantined == bad_rows
    assert (read, ok, q) == (n, n - len(bad_rows), len(bad_rows))


def test_row_numbers_hold_in_a_file_read_in_parallel(tmp_path_factory):
    """A file of several of the CSV reader's 8 MB scan units is read on two threads; each
    loaded row keeps its own line's number and the bad lines, wherever they fall, are
    quarantined with theirs."""
    settings = Settings(home=tmp_path_factory.mktemp("h"), duckdb_memory_limit="1GB",
                        duckdb_threads=2)
    n = 360_000
    rng = random.Random(7)
    bad_rows = set(rng.sample(range(1, n + 1), 300))
    kinds = ["{i},2026-01-01\n", "{i},soon,1,1,a@x.com,USD,SKU,1\n"]
    bad = {i: kinds[i % 2].format(i=i) for i in bad_rows}
    path = write_landing(settings, "orders", "2026-10-31", "orders.csv", orders_file(n, bad))
    assert path.stat().st_size > 2.5 * 8 * 2**20
    ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    out_of_place = "select count(*) from raw.orders__orders where _row <> cast(order_id as int)"
    assert rows(settings, out_of_place) == [(0,)]
    assert rows(settings, "select count(*) from raw.orders__orders") == [(n - len(bad_rows),)]
    quarantined = rows(settings, "select row_number from raw.quarantine order by 1")
    assert [r for (r,) in quarantined] == sorted(bad_rows)


def test_the_next_file_is_hashed_while_the_one_before_it_loads(settings, monkeypatch):
    paths = [write_landing(settings, "orders", "2026-10-31", f"orders_{i}.csv",
                           orders_file(5 + i)) for i in range(3)]
    started = {path: threading.Event() for path in paths}

    def inspect(path, file_format, *limits):
        started[path].set()
        return inspect_file(path, file_format, *limits)

    monkeypatch.setattr(run, "inspect_file", inspect)
    spec = SOURCES["orders"][0]
    ahead = run._inspect_ahead([(path, spec) for path in paths])
    first = next(ahead)
    assert started[paths[1]].wait(10)  # hashed before anyone asked for it
    assert not started[paths[2]].is_set()  # one file ahead, no more
    assert [first, *ahead] == [inspect_file(path, "csv") for path in paths]


def _trimmed_rule(column: Column) -> str | None:
    """The checks' rule as plainly written: every value trimmed, blank as missing."""
    value = "nullif(trim(v), '')"
    parse = {"integer": f"try_cast({value} as bigint)",
             "decimal": f"try_cast({value} as decimal(18, 2))",
             "timestamp": (f"try_strptime({value}, '{column.fmt}')" if column.fmt
                           else f"try_cast({value} as timestamptz)")}.get(column.kind)
    whens = []
    if column.required:
        whens.append(f"when {value} is null then 'missing required field: v'")
    if parse:
        reason = ("bad timestamp: v" if column.kind == "timestamp"
                  else f"bad type: v {loader.BAD_KIND[column.kind]}")
        whens.append(f"when {value} is not null and {parse} is null then '{reason}'")
    return f"case {' '.join(whens)} end" if whens else None


RULE_COLUMNS = [Column("v", kind, required, fmt)
                for kind, fmt in [("text", None), ("integer", None), ("decimal", None),
                                  ("timestamp", None), ("timestamp", "%Y-%m-%d %H:%M:%S"),
                                  ("timestamp", "%Y-%m-%d %H:%M:%S %z")]
                for required in (False, True)]
# The characters DuckDB's trim removes (space and Unicode space separators), and others that
# are not: a tab, a DEL, accented letters.
SPACES = " \u00a0\u2000\u3000"
CLEAN = ["12", "-3", "1.50", "2024-01-05 10:00:00", "2024-01-05 10:00:00 +0100",
         "2024-01-05T10:00:00Z", "a@x.com", "é", "!", "~"]
VALUES = st.one_of(
    st.none(),
    st.text(alphabet=SPACES + "\t", max_size=3),
    st.text(alphabet=SPACES + "\t\x7f0129-:.+TZ aé!~", max_size=8),
    st.builds(lambda before, value, after: before + value + after,
              st.text(alphabet=SPACES + "\t", max_size=2), st.sampled_from(CLEAN),
              st.text(alphabet=SPACES + "\t", max_size=2)),
)


@hyp_settings(max_examples=40, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=30))
def test_checks_give_the_reasons_of_the_plain_trimmed_rule(values):
    """The checks settle clean values before trimming; the reasons are those of trimming
    every value, whatever the text."""
    con = duckdb.connect()
    con.execute("create table t (i int, v varchar)")
    con.executemany("insert into t values (?, ?)", list(enumerate(values)))
    for column in RULE_COLUMNS:
        fast, plain = loader._violation(column), _trimmed_rule(column)
        assert (fast is None) == (plain is None), column
        if fast:
            got = con.sql(f"select i, {fast}, {plain} from t order by i").fetchall()
            assert [(i, a) for i, a, _ in got] == [(i, b) for i, _, b in got], column


@hyp_settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(st.text(alphabet="ab,\n", max_size=12),
                                st.sampled_from(["é", "€", "😀", "\xe9".encode("latin-1")])),
                      max_size=12),
       chunk=st.integers(1, 9))
def test_the_encoding_is_utf8_exactly_when_every_byte_decodes(tmp_path_factory, monkeypatch,
                                                               parts, chunk):
    """Read in chunks of any size (a character may straddle two; a Latin-1 byte may end one
    before an ASCII chunk), a file is UTF-8 exactly when the whole of it decodes."""
    data = b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
    path = tmp_path_factory.mktemp("enc") / "f.csv"
    path.write_bytes(b"id\n" + data)
    monkeypatch.setattr(files, "CHUNK", chunk)
    try:
        data.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    assert (inspect_file(path, "csv").encoding == "utf-8") == utf8


def test_fx_rates_need_a_three_letter_currency_and_a_rate_above_zero(settings):
    """A rate file's bad rows go to quarantine with the rule they break; small rates (a yen
    in dollars) and lower-case codes load, as staging upper-cases them."""
    text = ("date,currency,rate\n"
            "2026-01-05,EUR,1.0875\n"
            "2026-01-05,jpy,0.0064\n"
            "2026-01-05,EURO,1.1\n"
            "2026-01-05,GBP,0\n"
            "2026-01-05,CHF,-1.1\n"
            "05/01/2026,USD,1\n"
            "2026-01-06,,1.2\n")
    write_landing(settings, "fx", "2026-01-06", "rates.csv", text)
    with pytest.raises(IngestError, match="bad value: rate is not above 0"):
        ingest_source(settings, "fx", "r1", date(2026, 1, 6))
    tolerant = dataclasses.replace(settings, home=settings.home.parent / "tolerant",
                                   error_budget=1.0)
    write_landing(tolerant, "fx", "2026-01-06", "rates.csv", text)
    settings = tolerant
    report = ingest_source(settings, "fx", "r2", date(2026, 1, 6))
    assert report.results[0].rows_quarantined == 5
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (3, "bad value: currency is not a three-letter ISO code"),
        (4, "bad value: rate is not above 0"),
        (5, "bad value: rate is not above 0"),
        (6, "bad timestamp: date"),
        (7, "missing required field: currency"),
    ]
    assert rows(settings, "select currency, rate from raw.fx__rates order by 1") == [
        ("EUR", "1.0875"), ("jpy", "0.0064")]
