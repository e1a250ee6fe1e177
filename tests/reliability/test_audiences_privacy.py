"""Hostile input to the audiences: audience files, names users type, identifiers that look like
formulas, erasure files; and erasure reaching every output that names a person."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

# The small audience the export tests write (tests/unit/audiences.py).
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from audiences import audiences_file, customer_frame, write_warehouse

from pipelines.activation.audiences import AudienceFileError, load_audiences
from pipelines.activation.csvsafe import neutralise, neutralise_frame
from pipelines.activation.export import (
    ExportError,
    build_exports,
    export_on_demand,
    publish_exports,
    staging_dir,
)
from pipelines.activation.suppression import ErasureFileError, intake_erasures
from pipelines.config import Settings
from pipelines.quality.gate import validate_exports
from pipelines.warehouse import connect

DAY = date(2026, 10, 31)
SCHEMA = {
    "churn_decile": pl.Int32,
    "churn_score": pl.Float64,
    "rfm_segment": pl.String,
    "first_name": pl.String,
    "is_emailable": pl.Boolean,
    "last_order_date": pl.Date,
}


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> Settings:
    """50 people in churn decile 9, in the work and the published file; one audience exported
    to every platform; no erasure file."""
    configured = dataclasses.replace(settings, audiences_file=audiences_file(tmp_path))
    people = customer_frame(50)
    write_warehouse(configured, people)
    write_warehouse(configured, people, path=configured.published_db)
    return configured


# 1. Audience files are checked against the audience's columns and types.


def audience_with(tmp_path: Path, rule: str, extra: str = "") -> Path:
    path = tmp_path / "audiences.yml"
    path.write_text(f"audiences:\n  - name: a\n    rules: [{rule}]\n{extra}")
    return path


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{column: churn_decile, op: '>=', value: eight}",
            "rule #1: column 'churn_decile' holds number values but the rule compares it with "
            "'eight'; the value must be a number",
        ),
        (
            # A lone value would be read by Polars as a column name, selecting everyone.
            "{column: churn_decile, op: in, value: churn_decile}",
            "rule #1 ('churn_decile') op 'in' needs a list of values, such as ['churn_decile']",
        ),
        ("{column: rfm_segment, op: in, value: []}", "op 'in' needs at least one value"),
        (
            "{column: rfm_segment, op: in, value: [champions, 3]}",
            "column 'rfm_segment' holds text values but the rule compares it with 3",
        ),
        (
            "{column: churn_decile, op: '==', value: [8, 9]}",
            "op '==' compares with one value; use 'in' for a list",
        ),
        (
            "{column: is_emailable, op: '==', value: 'yes'}",
            "holds true/false values but the rule compares it with 'yes'; the value must be "
            "true or false",
        ),
        ("{column: churn_decile, op: '>=', value: true}", "compares it with True"),
        ("{column: churn_decile, op: '>=', value: null}", "value None is not a number"),
        (
            "{column: last_order_date, op: '>=', value: '2026-01-01'}",
            "the value must be a date written YYYY-MM-DD",
        ),
    ],
)
def test_a_rule_whose_value_does_not_fit_its_column_is_refused_naming_audience_rule_and_field(
    tmp_path, rule, message
):
    path = audience_with(tmp_path, rule)
    with pytest.raises(AudienceFileError) as err:
        load_audiences(path, columns=SCHEMA)
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}: audience 'a': rule #1")


def test_a_crm_score_that_is_not_a_number_is_refused(tmp_path):
    path = audience_with(
        tmp_path,
        "{column: churn_decile, op: '>=', value: 8}",
        "    platforms: [crm]\n    crm: {score: first_name}\n",
    )
    with pytest.raises(AudienceFileError, match="crm score column 'first_name' holds String"):
        load_audiences(path, columns=SCHEMA)


def test_rules_whose_values_fit_load_and_select_what_they_say(tmp_path):
    path = audience_with(
        tmp_path,
        "{column: churn_decile, op: in, value: [8, 10]}, "
        "{column: churn_score, op: '>', value: 0}, "
        "{column: last_order_date, op: '>=', value: 2026-01-01}",
    )
    audience = load_audiences(path, columns=SCHEMA)[0]
    people = pl.DataFrame(
        {
            "churn_decile": [8, 9, 10, 10],
            "churn_score": [0.5, 0.5, 0.5, 0.5],
            "last_order_date": [date(2026, 2, 1), date(2026, 2, 1), date(2025, 1, 1),
                                date(2026, 3, 1)],
        },
        schema_overrides={"churn_decile": pl.Int32},
    )
    assert audience.select(people).get_column("churn_decile").to_list() == [8, 10]


def test_an_export_with_a_text_value_for_a_number_column_stops_with_a_sentence(world, tmp_path):
    path = audience_with(tmp_path, "{column: churn_decile, op: '>=', value: high}")
    configured = dataclasses.replace(world, audiences_file=path)
    with pytest.raises(AudienceFileError, match="audience 'a': rule #1: column 'churn_decile'"):
        build_exports(configured, DAY, "r1")
    assert not staging_dir(configured, DAY).exists()


# 2. Audience names from users never reach a path.


def files_outside(root: Path, exports: Path) -> dict[str, str]:
    """Every file and folder under `root` but outside `exports`, with its content's hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path == exports or exports in path.parents:
            continue
        found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
    return found


@pytest.mark.parametrize(
    "name",
    [
        "../../../../../canary",  # exports/.staging/on-demand/<date>/ + this + ".meta"
        "CANARY",  # replaced by the canary's absolute path below
        "..",
        "../x",
        "churn_risk/../../..",
        "churn_risk/x",
        "churn\x00risk",
        "",
    ],
)
def test_a_audience_name_that_is_a_path_is_refused_and_nothing_outside_the_exports_changes(
    world, tmp_path, monkeypatch, capsys, name
):
    from pipelines import cli

    canary = tmp_path / "canary.meta"
    canary.mkdir()
    (canary / "keep.txt").write_text("must survive")
    if name == "CANARY":
        name = str(tmp_path / "canary")
    before = files_outside(tmp_path, world.exports_dir)
    monkeypatch.setenv("MARKETING_HOME", str(world.home))
    monkeypatch.setenv("MARKETING_AUDIENCES_FILE", str(world.audiences_file))
    code = cli.main(["export", "--audience", name, "--platform", "meta", "--date", "2026-10-31"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"not exported: no audience {name or '(any)'!r} with platform meta" in err
    assert "known: ['churn_risk']" in err
    assert (canary / "keep.txt").read_text() == "must survive"
    assert files_outside(tmp_path, world.exports_dir) == before
    assert not (world.exports_dir / "on-demand").exists()


def test_an_output_folder_outside_the_exports_is_refused_before_anything_is_deleted(
    world, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("must survive")
    for out_dir in (elsewhere, world.exports_dir, world.exports_dir / ".." / "elsewhere"):
        with pytest.raises(ExportError, match="not inside the exports folder"):
            build_exports(world, DAY, "r1", out_dir=out_dir)
    assert (elsewhere / "keep.txt").read_text() == "must survive"


# 3. Identifiers reach the platforms exactly; free text is still guarded.


def test_valid_identifiers_pass_the_formula_guard_and_free_text_does_not():
    frame = pl.DataFrame(
        {
            "email": ["-dash@example.com", "+plus@example.co.uk", "=1+1@example.com",
                      "-cmd|' /C calc'!A0@example.com", "ann@example.com"],
            "phone": ["+14155550100", "+442071838750", "+1 415 555", "+1(2)", "-5"],
            "name": ["-dash@example.com", "+14155550100", "=SUM(A1)", "@x", "Ann"],
        }
    )
    out = neutralise_frame(frame, {"email": "email", "phone": "phone_e164"})
    assert out.get_column("email").to_list() == [
        "-dash@example.com", "+plus@example.co.uk", "'=1+1@example.com",
        "'-cmd|' /C calc'!A0@example.com", "ann@example.com",
    ]
    assert out.get_column("phone").to_list() == [
        "+14155550100", "+442071838750", "'+1 415 555", "'+1(2)", "'-5",
    ]
    assert out.get_column("name").to_list() == [
        "'-dash@example.com", "'+14155550100", "'=SUM(A1)", "'@x", "Ann",
    ]
    assert neutralise("+14155550100", "phone_e164") == "+14155550100"
    assert neutralise("+14155550100") == "'+14155550100"


def test_an_email_starting_with_a_dash_or_plus_reaches_mailchimp_unchanged(world):
    people = customer_frame(20).with_columns(
        email=pl.when(pl.col("customer_key") == "k000019")
        .then(pl.lit("-dash@example.com"))
        .when(pl.col("customer_key") == "k000018")
        .then(pl.lit("+plus@example.com"))
        .otherwise(pl.col("email")),
        first_name=pl.when(pl.col("customer_key") == "k000019")
        .then(pl.lit("+SUM(1)"))
        .otherwise(pl.col("first_name")),
    )
    write_warehouse(world, people)
    manifest = build_exports(world, DAY, "r1")
    staged = staging_dir(world, DAY)
    mailchimp = pl.read_csv(staged / "mailchimp" / "churn_risk.csv", infer_schema=False)
    emails = set(mailchimp.get_column("Email Address"))
    assert {"-dash@example.com", "+plus@example.com"} <= emails
    assert not any(e.startswith("'") for e in emails)
    row = mailchimp.filter(pl.col("Email Address") == "-dash@example.com")
    assert row.get_column("First Name").to_list() == ["'+SUM(1)"]
    assert manifest["suppressed"]["churn_risk"]["mailchimp"].get("invalid_email", 0) == 0
    failed = [o for o in validate_exports(staged, world.expectations_dir / "exports")
              if o.blocking]
    assert not failed, [o.describe() for o in failed]


# 4. The erasure file: blank lines skipped, an unreadable row named by its line.


def erasure(settings: Settings, text: str) -> Settings:
    settings.erasure_file.parent.mkdir(parents=True, exist_ok=True)
    settings.erasure_file.write_text(text)
    return settings


def test_blank_lines_and_empty_rows_in_the_erasure_file_are_skipped(settings):
    erasure(settings, "email,phone,country\n\nann@example.com,,\n,,\n  \n,+14155550100,\n\n")
    assert intake_erasures(settings, DAY) == 2
    assert settings.erasure_file.read_text() == "email,phone,country\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "email,phone,country\n\nann@example.com,,\n\nnot-an-email,,\n",
            "1 request(s) cannot be taken in (line 5: the email is not an email address)",
        ),
        (
            "email,phone\nann@example.com,,bob@example.com,x\n",
            "line 2 has 4 values but the header names 2 columns",
        ),
        (
            'email,phone\nann@example.com,\n"bob@example.com,\n',
            "line 3 cannot be read as CSV",
        ),
        ("email,email\nann@example.com,bob@example.com\n", "each once"),
    ],
)
def test_an_unreadable_erasure_row_is_refused_with_its_line_and_nothing_is_taken_in(
    settings, text, message
):
    erasure(settings, text)
    with pytest.raises(ErasureFileError) as err:
        intake_erasures(settings, DAY)
    assert message in str(err.value)
    assert "bob@" not in str(err.value) and "not-an-email" not in str(err.value)
    assert settings.erasure_file.read_text() == text
    assert not settings.suppression_store.exists()


# 5. An erased person is named by no output.


def add_report_tables(settings: Settings, people: pl.DataFrame) -> None:
    """What the report reads beyond the customers and scores: their orders and spend, empty
    model runs, forecast and sales, one publication record."""
    from pipelines.ml.tasks import RUNS_DDL

    con = connect(settings, path=settings.published_db)
    try:
        con.register("people_frame", people.select("customer_key", "orders_count",
                                                   "revenue").to_arrow())
        con.execute(
            "create or replace table marts.dim_customers as select c.*, p.orders_count, "
            "p.revenue from marts.dim_customers c join people_frame p using (customer_key)")
        con.execute(RUNS_DDL)
        con.execute("create table ml.forecast (model varchar, week_start date, "
                    "units_forecast double)")
        con.execute("create schema reports")
        con.execute("create table reports.rpt_daily_sales (order_date date, currency varchar, "
                    "revenue decimal(18, 2), guest_revenue decimal(18, 2), orders bigint, "
                    "guest_orders bigint, credit_notes bigint, reporting_currency varchar, "
                    "revenue_reporting decimal(18, 2), guest_revenue_reporting decimal(18, 2))")
        con.execute("create schema meta")
        con.execute("create table meta.runs as select 'r1' as run_id, '[]' as tables, "
                    "now() as published_at")
        con.execute("create table marts.fct_orders as select 'USD' as reporting_currency")
    finally:
        con.close()


def test_an_erased_person_is_named_by_no_export_report_or_on_demand_export(world):
    from pipelines.report.html import build_report

    people = customer_frame(50).with_columns(
        first_name=pl.when(pl.col("customer_key") == "k000030").then(pl.lit("Zelda"))
        .otherwise(pl.col("first_name")),
        last_name=pl.when(pl.col("customer_key") == "k000030").then(pl.lit("Quist"))
        .otherwise(pl.col("last_name")),
        orders_count=pl.lit(3),
        # The target spent the most, so heads the win-back list.
        revenue=pl.when(pl.col("customer_key") == "k000030").then(pl.lit(9999.0))
        .otherwise(pl.lit(10.0)),
    )
    target = people.row(30, named=True)
    write_warehouse(world, people)
    write_warehouse(world, people, path=world.published_db)
    add_report_tables(world, people)
    assert "Zelda Quist" in build_report(world, DAY, "r1").read_text()  # named before

    erasure(world, f"email\n{target['email'].upper()}\n")
    build_exports(world, DAY, "r1")
    daily = publish_exports(world, DAY)
    on_demand, _ = export_on_demand(world, DAY, "churn_risk", None)
    report = build_report(world, DAY, "r1").read_text()

    def sha(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    email = target["email"].strip().lower()
    traces = {
        email, sha(email), sha(target["phone_e164"]), sha(target["phone_e164"].lstrip("+")),
        sha(target["shop_customer_id"]), "Zelda", "Quist",
    }
    written = [p for folder in (daily, on_demand) for p in folder.rglob("*.csv")]
    assert {p.parent.name for p in written} == {"mailchimp", "meta", "google", "crm"}
    for path in written:
        text = path.read_text()
        assert not [t for t in traces if t in text], path
        if path.parent.name == "crm":
            ids = pl.read_csv(path, infer_schema=False).get_column("Record ID").to_list()
            assert target["hubspot_record_id"] not in ids
            assert str(int(target["hubspot_record_id"]) + 1) in ids  # others are there
    assert not [t for t in traces if t in report]
    assert "Anné" in report or "Ann " in report  # the list still names the others
    for folder in (daily, on_demand):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["suppressed"]["churn_risk"]["mailchimp"]["erasure_request"] == 1


def test_an_erased_person_is_left_out_of_the_analysts_file_whichever_email_erased_them(
        settings):
    from pipelines.activation.suppression import (
        erased_customer_keys,
        erasure_row_filters,
        hash_requests,
    )
    from pipelines.warehouse import publish

    con = connect(settings)
    con.execute("create schema intermediate; create schema marts; create schema reports")
    con.execute("""create table intermediate.int_identity__identifiers as
        select * from (values ('email', 'a@x.com', 'k1'), ('email', 'b@x.com', 'k2'),
            ('email', 'b.work@y.com', 'k2'), ('phone', '+15551234567', 'k3'),
            ('email_sha256', sha256('c@x.com'), 'k4'), ('email', 'shared@x.com', null))
        as t(identifier_type, identifier, customer_key)""")
    con.execute("""create table marts.dim_customers as select * from (values
        ('k1', 'a@x.com'), ('k2', 'b@x.com'), ('k3', 'd@x.com'), ('k4', 'c@x.com'))
        as t(customer_key, email)""")
    con.execute("""create table marts.fct_orders as select * from (values
        ('o1', 'k1'), ('o2', 'k2'), ('o3', null), ('o4', 'k3'), ('o5', 'k4'))
        as t(order_id, customer_key)""")
    con.execute("create table reports.rpt_daily_sales as select 5 as orders")
    tables = ["marts.dim_customers", "marts.fct_orders", "reports.rpt_daily_sales"]
    # Erased by the second email, a phone in national form, and a hashed-only email.
    store = hash_requests(pl.DataFrame({"email": ["B.Work@y.com ", None, "c@x.com"],
                                        "phone": [None, "(555) 123-4567", None]}),
                          "US", "erasure.csv")
    keys = erased_customer_keys(con, store)
    filters = erasure_row_filters(con, tables, keys)
    con.close()
    assert keys == ["k2", "k3", "k4"]
    assert set(filters) == {"marts.dim_customers", "marts.fct_orders"}

    publish(settings, tables, "r1", DAY, {"dbt": "1"}, {}, row_filters=filters)
    published = connect(settings, path=settings.published_db, read_only=True)
    try:
        assert published.sql("select customer_key from marts.dim_customers").fetchall() == [
            ("k1",)]
        assert sorted(published.sql("select order_id from marts.fct_orders").fetchall()) == [
            ("o1",), ("o3",)]  # the guest order stays: it names nobody
        assert published.sql("select orders from reports.rpt_daily_sales").fetchall() == [(5,)]
    finally:
        published.close()
