"""The quality gate on tiny hand-made tables, with the real Great Expectations (no mocks)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.config import REPO_ROOT
from pipelines.quality import (
    QualityGateError,
    SuiteError,
    audit_tables,
    load_suites,
    validate_frame,
)
from pipelines.quality.suites import load_suite

REAL_SUITES = REPO_ROOT / "expectations"
# The suites for the tables of the first release. Other suites may sit beside them in the real
# directory, so audits here run on copies of just these three.
RELEASE_SUITES = ("dim_customers", "fct_orders", "scores")
DAY = dt.date(2024, 2, 2)  # a day after the fixture's latest order: fresh

_TABLES_SQL = """
create schema marts;
create schema ml;
create table marts.dim_customers as select * from (values
    ('00000000000000a1', 'ann@example.com', 'Ann', 'Lee', 's1', 'subscribed', true, 2,
        30.50::decimal(18, 2), '2024-01-01 10:00:00+00'::timestamptz,
        '2024-02-01 10:00:00+00'::timestamptz, 'shop,mailchimp', '+15551234567', false, true,
        false, 'h1', 'customer', 'email', 5, 9),
    ('00000000000000b2', 'bob@example.com', null, null, null, null, false, 0,
        0.00::decimal(18, 2), null::timestamptz, null::timestamptz, 'mailchimp', null, true,
        false, false, null, null, null, null, null),
    ('00000000000000c3', 'cy@example.com', 'Cy', null, 's3', 'cleaned', false, 1,
        12.00::decimal(18, 2), '2024-01-05 09:00:00+00'::timestamptz,
        '2024-01-05 09:00:00+00'::timestamptz, 'shop', '+447700900123', false, false, true, null,
        null, 'direct', 2, null)
) as v(customer_key, email, first_name, last_name, shop_customer_id, mailchimp_status,
       is_emailable, orders_count, revenue, first_order_at, last_order_at, sources_present,
       phone_e164, is_eea, ad_storage_consent, ccpa_opt_out, hubspot_record_id, lifecycle_stage,
       acquisition_channel, rfm_recency_score, nps_score);
create table marts.fct_orders as select *, 'USD' as reporting_currency,
    case currency when 'USD' then 1.0 else 1.1 end as fx_rate,
    round(amount * fx_rate, 2) as amount_reporting,
    round(refunded_amount * fx_rate, 2) as refunded_amount_reporting
from (values
    ('o1', '00000000000000a1', false, '2024-01-01 10:00:00+00'::timestamptz,
        10.50::decimal(18, 2), 0.00::decimal(18, 2), false, true, 'USD', 1),
    ('o2', '00000000000000a1', false, '2024-02-01 10:00:00+00'::timestamptz,
        20.00::decimal(18, 2), 5.00::decimal(18, 2), false, true, 'USD', 3),
    ('o3', '00000000000000c3', false, '2024-01-05 09:00:00+00'::timestamptz,
        12.00::decimal(18, 2), 0.00::decimal(18, 2), false, true, 'EUR', 2),
    ('g4', null, true, '2024-01-06 09:00:00+00'::timestamptz,
        7.00::decimal(18, 2), 0.00::decimal(18, 2), false, true, 'EUR', 1),
    ('C5', '00000000000000c3', false, '2024-01-07 09:00:00+00'::timestamptz,
        0.00::decimal(18, 2), 4.00::decimal(18, 2), false, false, 'EUR', 1)
) as v(order_id, customer_key, is_guest, ordered_at, amount, refunded_amount, is_cancelled,
       is_purchase, currency, line_count);
create table ml.scores as select * from (values
    ('00000000000000a1', '2024-02-02'::date, 'churn', 'v1', 0.10::double, 2, 'recent order',
        null, null),
    ('00000000000000b2', '2024-02-02'::date, 'churn', 'v1', 0.80::double, 9, 'never ordered',
        'not subscribed to email', null),
    ('00000000000000c3', '2024-02-02'::date, 'churn', 'v1', 0.45::double, 5, 'single order',
        null, null),
    ('00000000000000a1', '2024-02-02'::date, 'ltv', 'v7', 312.50::double, 10, '2 orders in total',
        null, null)
) as v(customer_key, as_of_date, model, version, score, decile, reason_1, reason_2, reason_3);
"""


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """In-memory database holding clean versions of the three published tables."""
    connection = duckdb.connect()
    connection.execute(_TABLES_SQL)
    yield connection
    connection.close()


@pytest.fixture
def suites_dir(tmp_path: Path) -> Path:
    """A directory holding copies of the three release suites."""
    directory = tmp_path / "expectations"
    directory.mkdir()
    for name in RELEASE_SUITES:
        shutil.copy(REAL_SUITES / f"{name}.json", directory / f"{name}.json")
    return directory


def _audit_rows(con: duckdb.DuckDBPyConnection, run_id: str = "run-1") -> pl.DataFrame:
    return con.sql(
        "select * from audit.validations where run_id = ? order by suite, expectation_type",
        params=[run_id],
    ).pl()


def _gate_error(con: duckdb.DuckDBPyConnection, suites_dir: Path) -> QualityGateError:
    with pytest.raises(QualityGateError) as caught:
        audit_tables(con, suites_dir, "run-1", DAY)
    return caught.value


def test_clean_tables_pass_and_every_outcome_is_recorded(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    summary = audit_tables(con, suites_dir, "run-1", DAY)

    assert summary.failed_errors == 0 and summary.failed_warnings == 0
    assert sorted(summary.tables) == ["marts.dim_customers", "marts.fct_orders", "ml.scores"]
    rows = _audit_rows(con)
    assert rows.height == summary.evaluated == len(summary.outcomes) > 30
    assert rows["success"].all()
    assert rows["logical_date"].unique().to_list() == [DAY]
    assert rows["validated_at"].n_unique() == 1
    # The referential links are checked and recorded under their logical name.
    refs = rows.filter(pl.col("expectation_type") == "expect_column_values_to_be_in_set")
    assert set(refs.filter(pl.col("column_name") == "customer_key")["suite"]) == {
        "fct_orders",
        "scores",
    }
    json.dumps(summary.to_dict())  # loggable as JSON


def test_duplicate_key_blocks_and_is_still_recorded(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    con.execute(
        "insert into marts.dim_customers select * from marts.dim_customers "
        "where customer_key = '00000000000000b2'"
    )

    error = _gate_error(con, suites_dir)

    message = str(error)
    assert "marts.dim_customers: expect_column_values_to_be_unique(customer_key) -> " in message
    assert "00000000000000b2" in message
    assert "nothing was published" in message
    # The copied row repeats both the key and the email: both uniqueness checks fail.
    assert [f.expectation_type for f in error.failures] == [
        "expect_column_values_to_be_unique"] * 2
    assert "expect_column_values_to_be_unique(email)" in message
    rows = _audit_rows(con)
    failed = rows.filter(~pl.col("success"))
    assert sorted(
        failed.select("table_name", "expectation_type", "column_name", "severity").rows()
    ) == [
        ("marts.dim_customers", "expect_column_values_to_be_unique", "customer_key", "error"),
        ("marts.dim_customers", "expect_column_values_to_be_unique", "email", "error"),
    ]
    assert rows.height == error.summary.evaluated


def test_probability_above_one_blocks(con: duckdb.DuckDBPyConnection, suites_dir: Path) -> None:
    # The lifetime value of 312.50 in the same column is fine: only probabilities are bounded.
    con.execute("update ml.scores set score = 1.2 where model = 'churn' and decile = 9")

    error = _gate_error(con, suites_dir)

    assert (
        "ml.scores: expect_column_values_to_be_between(score) -> "
        "unexpected_count=1" in str(error)
    )
    assert "1.2" in str(error)
    assert [f.expectation_type for f in error.failures] == ["expect_column_values_to_be_between"]


def test_a_second_score_of_one_model_for_a_customer_blocks(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    con.execute("insert into ml.scores select * from ml.scores where model = 'ltv'")

    error = _gate_error(con, suites_dir)

    assert [f.expectation_type for f in error.failures] == [
        "expect_compound_columns_to_be_unique"]


def test_warning_only_failure_is_recorded_but_does_not_block(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    # Every score 0.99: each is a valid probability, but the mean is implausibly high.
    con.execute("update ml.scores set score = 0.99 where model = 'churn'")

    summary = audit_tables(con, suites_dir, "run-1", DAY)

    assert summary.failed_errors == 0
    assert summary.failed_warnings == 1
    failed = _audit_rows(con).filter(~pl.col("success"))
    assert failed.select("expectation_type", "severity").rows() == [
        ("expect_column_mean_to_be_between", "warning")
    ]
    assert failed["observed"].to_list() == ["observed_value=0.99"]


@pytest.mark.parametrize(
    ("customer_key", "is_guest"), [(None, False), ("00000000000000a1", True)]
)
def test_only_a_guest_checkout_has_no_customer(
    con: duckdb.DuckDBPyConnection, suites_dir: Path, customer_key: str | None, is_guest: bool
) -> None:
    con.execute(
        "insert into marts.fct_orders values "
        "('o9', ?, ?, '2024-02-02 10:00:00+00', 5.00, 0, false, true, 'USD', 1, 'USD', 1.0, "
        "5.00, 0)",
        [customer_key, is_guest],
    )

    error = _gate_error(con, suites_dir)

    check = "expect_column_values_to_not_be_null" if customer_key is None else \
        "expect_column_values_to_be_null"
    assert f"marts.fct_orders: {check}(customer_key) -> unexpected_count=1" in str(error)


def test_referential_breach_blocks(con: duckdb.DuckDBPyConnection, suites_dir: Path) -> None:
    con.execute(
        "insert into marts.fct_orders values "
        "('o4', 'ffffffffffffffff', false, '2024-02-02 10:00:00+00', 5.00, 0, false, true, "
        "'USD', 1, 'USD', 1.0, 5.00, 0)"
    )

    error = _gate_error(con, suites_dir)

    line = "marts.fct_orders: expect_column_values_to_be_in_set(customer_key) -> unexpected_count=1"
    assert line in str(error)
    assert "ffffffffffffffff" in str(error)
    recorded = _audit_rows(con).filter(~pl.col("success"))
    assert recorded["kwargs"].to_list() == [
        '{"column": "customer_key", "value_set": "<marts.dim_customers.customer_key>"}'
    ]


def test_missing_table_blocks_with_a_clear_message(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    con.execute("drop table ml.scores")

    error = _gate_error(con, suites_dir)

    assert "ml.scores: expect_table_to_exist() -> table ml.scores does not exist" in str(error)
    # The other tables were still validated and recorded.
    rows = _audit_rows(con)
    assert set(rows["table_name"]) == {"marts.dim_customers", "marts.fct_orders", "ml.scores"}
    assert rows.filter(~pl.col("success")).height == 1


def test_rerun_with_the_same_run_id_replaces_its_rows(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    first = audit_tables(con, suites_dir, "run-1", DAY)
    audit_tables(con, suites_dir, "run-1", DAY)
    audit_tables(con, suites_dir, "run-2", DAY)

    counts = dict(
        con.sql("select run_id, count(*) from audit.validations group by run_id").fetchall()
    )
    assert counts == {"run-1": first.evaluated, "run-2": first.evaluated}


def test_missing_column_is_a_failed_outcome_not_a_crash(tmp_path: Path) -> None:
    path = _write_suite(
        tmp_path,
        "t",
        {
            "name": "t",
            "meta": {"table": "s.t"},
            "expectations": [
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}},
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
            ],
        },
    )
    suite = load_suite(path)

    outcomes = validate_frame(pl.DataFrame({"a": [1, 2]}), suite)

    assert [(o.column, o.success, o.severity) for o in outcomes] == [
        ("nope", False, "error"),
        ("a", True, "error"),
    ]
    assert "nope" in outcomes[0].observed and "does not exist" in outcomes[0].observed


def test_the_real_suites_load() -> None:
    suites = {suite.name: suite for suite in load_suites(REAL_SUITES)}

    assert {name: suites[name].table for name in RELEASE_SUITES} == {
        "scores": "ml.scores",
        "dim_customers": "marts.dim_customers",
        "fct_orders": "marts.fct_orders",
    }
    for name in ("fct_orders", "scores"):
        assert [r.target for r in suites[name].references] == ["marts.dim_customers.customer_key"]
    severities = [e["meta"]["severity"] for n in RELEASE_SUITES for e in suites[n].expectations]
    assert set(severities) == {"error", "warning"}


_GOOD_EXPECTATION = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ({"name": "x", "meta": {}, "expectations": [_GOOD_EXPECTATION]}, "missing 'meta.table'"),
        (
            {
                "name": "x",
                "meta": {"table": "s.t"},
                "expectations": [{"type": "expect_column_to_be_lovely", "kwargs": {}}],
            },
            "unknown expectation type 'expect_column_to_be_lovely'",
        ),
        (
            {
                "name": "x",
                "meta": {"table": "s.t"},
                "expectations": [{"type": "expect_column_values_to_not_be_null"}],
            },
            "missing 'kwargs'",
        ),
        (
            {
                "name": "x",
                "meta": {"table": "s.t"},
                "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {}}],
            },
            "invalid kwargs",
        ),
        (
            {
                "name": "x",
                "meta": {"table": "s.t"},
                "expectations": [{**_GOOD_EXPECTATION, "meta": {"severity": "fatal"}}],
            },
            "meta.severity",
        ),
        (
            {
                "name": "x",
                "meta": {"table": "s.t", "references": {"a": "dim_customers"}},
                "expectations": [_GOOD_EXPECTATION],
            },
            "schema.table.column",
        ),
    ],
    ids=["bad-json", "no-table", "unknown-type", "no-kwargs", "bad-kwargs", "severity", "ref"],
)
def test_suite_errors_name_the_file(tmp_path: Path, content: object, expected: str) -> None:
    path = _write_suite(tmp_path, "broken", content)

    with pytest.raises(SuiteError) as caught:
        load_suites(tmp_path)

    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_broken_suite_stops_the_audit_before_anything_is_validated(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    _write_suite(tmp_path, "broken", "{not json")

    with pytest.raises(SuiteError, match=r"broken\.json"):
        audit_tables(con, tmp_path, "run-1", DAY)


def test_an_empty_suites_directory_blocks(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QualityGateError, match="no expectation suites"):
        audit_tables(con, tmp_path, "run-1", DAY)


def _write_suite(directory: Path, name: str, content: object) -> Path:
    path = directory / f"{name}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_an_audit_of_unchanged_tables_keeps_the_last_verdicts(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    first = audit_tables(con, suites_dir, "run-1", DAY)
    again = audit_tables(con, suites_dir, "run-2", DAY)
    assert first.kept == 0 and again.kept == len(RELEASE_SUITES)
    assert again.outcomes == first.outcomes
    # Recorded for the new run as if validated again.
    assert _audit_rows(con, "run-2").drop("run_id", "validated_at").equals(
        _audit_rows(con, "run-1").drop("run_id", "validated_at"))
    # Switched off, everything is validated again.
    assert audit_tables(con, suites_dir, "run-3", DAY, reuse=False).kept == 0


def test_a_changed_table_or_suite_is_validated_again(
    con: duckdb.DuckDBPyConnection, suites_dir: Path
) -> None:
    audit_tables(con, suites_dir, "run-1", DAY)
    # The kept verdict of scores (passed) must not hide the new breach.
    con.execute("update ml.scores set score = 1.5 where model = 'churn' and decile = 9")
    error = _gate_error(con, suites_dir)
    assert error.summary is not None and error.summary.kept == len(RELEASE_SUITES) - 1
    assert any("ml.scores" in failure.table for failure in error.failures)
    con.execute("update ml.scores set score = 0.8 where model = 'churn' and decile = 9")
    suite = json.loads((suites_dir / "fct_orders.json").read_text())
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between",
                                  "kwargs": {"min_value": 99}})
    (suites_dir / "fct_orders.json").write_text(json.dumps(suite))
    error = _gate_error(con, suites_dir)
    assert [f.table for f in error.failures] == ["marts.fct_orders"]
    assert error.summary is not None and error.summary.kept == len(RELEASE_SUITES) - 2
