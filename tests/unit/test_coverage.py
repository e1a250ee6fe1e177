"""What the shop lacks: each missing capability reaches, with its sentence, the steps that
depend on it and no other; the table is read from the work file; money's currency."""

from __future__ import annotations

import logging

import duckdb
import polars as pl
import pytest
import yaml

from pipelines import coverage
from pipelines.config import REPO_ROOT

SENTENCES = {name: f"no {name}: something could not be done" for name in coverage.CAPABILITIES}


def coverage_frame(missing: set[str] = frozenset(), currencies: str | None = "GBP") -> pl.DataFrame:
    rows = []
    for name in reversed(coverage.CAPABILITIES):  # read() sorts them
        available = name not in missing
        rows.append({
            "capability": name,
            "sources": "somewhere",
            "is_available": available,
            "evidence_rows": 3 if available else 0,
            "detail": currencies if name == "single_currency" else None,
            "missing_reason": None if available else SENTENCES[name],
        })
    return pl.DataFrame(rows)


def test_the_capabilities_are_the_ones_dbt_checks_for():
    models = REPO_ROOT / "dbt_project" / "models" / "marts" / "coverage" / "_coverage__models.yml"
    entry = yaml.safe_load(models.read_text())["models"][0]
    column = next(c for c in entry["columns"] if c["name"] == "capability")
    accepted = next(t for t in column["data_tests"] if isinstance(t, dict))["accepted_values"]
    assert accepted["arguments"]["values"] == list(coverage.CAPABILITIES)
    for step, needs in coverage.STEP_NEEDS.items():
        assert set(needs) <= set(coverage.CAPABILITIES), step


@pytest.mark.parametrize("capability", coverage.CAPABILITIES)
def test_each_missing_capability_is_said_by_the_steps_that_need_it_and_no_other(capability):
    frame = coverage_frame(missing={capability})
    for step, needs in coverage.STEP_NEEDS.items():
        expected = [SENTENCES[capability]] if capability in needs else []
        assert coverage.lacks(frame, step) == expected, step
    assert coverage.lacks(frame, "audit") == []


def test_the_steps_name_what_an_orders_only_shop_lacks():
    orders_only = {"product_ids", "product_categories", "customer_emails", "email_consent",
                   "web_sessions", "email_activity", "crm_contacts", "ad_performance",
                   "survey_responses", "social_activity"}
    frame = coverage_frame(missing=orders_only)
    assert coverage.lacks(frame, "forecast_units") == [SENTENCES["product_ids"]]
    assert coverage.lacks(frame, "score_lead") == [SENTENCES["crm_contacts"]]
    assert coverage.lacks(frame, "export") == [
        SENTENCES[n] for n in ("customer_emails", "email_consent", "web_sessions", "crm_contacts")
    ]
    assert coverage.lacks(frame, "find_personas") == [
        SENTENCES[n] for n in ("product_categories", "web_sessions", "email_activity",
                               "survey_responses", "social_activity")
    ]
    assert coverage.lacks(frame, "report") == [
        SENTENCES[n] for n in coverage.CAPABILITIES if n in orders_only
    ]
    assert coverage.lacks(coverage_frame(), "report") == []


def write_table(path, frame: pl.DataFrame) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.register("frame", frame.to_arrow())
        con.execute("create table marts.data_coverage as select * from frame")
    finally:
        con.close()


def test_a_step_reads_the_work_file_and_logs_each_sentence(settings, caplog):
    settings.work_db.parent.mkdir(parents=True)
    write_table(settings.work_db, coverage_frame(missing={"product_ids", "crm_contacts"}))
    with caplog.at_level(logging.WARNING, logger="pipelines.coverage"):
        said = coverage.step_lacks(settings, "forecast_units")
    assert said == [SENTENCES["product_ids"]]
    assert f"forecast_units: {SENTENCES['product_ids']}" in caplog.messages
    read = coverage.read(settings.work_db, settings)
    assert read.get_column("capability").to_list() == list(coverage.CAPABILITIES)


def test_a_file_without_the_table_says_to_run_the_transform(settings, caplog):
    settings.work_db.parent.mkdir(parents=True)
    duckdb.connect(str(settings.work_db)).close()
    with caplog.at_level(logging.WARNING, logger="pipelines.coverage"):
        assert coverage.step_lacks(settings, "report") == []
    assert any("run the transform step" in m for m in caplog.messages)


def test_reporting_currency_setting_is_checked_and_reaches_dbt(monkeypatch):
    from datetime import date

    from pipelines.config import Settings
    from pipelines.transform import dbt_env

    monkeypatch.delenv("MARKETING_REPORTING_CURRENCY", raising=False)
    unset = Settings.from_env()
    # Unset: dbt takes the orders' own currency, else default_currency (int_orders__rates).
    assert unset.reporting_currency is None
    assert dbt_env(unset, date(2026, 1, 1))["MARKETING_REPORTING_CURRENCY"] == ""
    monkeypatch.setenv("MARKETING_REPORTING_CURRENCY", " eur ")
    chosen = Settings.from_env()
    assert chosen.reporting_currency == "EUR"
    assert dbt_env(chosen, date(2026, 1, 1))["MARKETING_REPORTING_CURRENCY"] == "EUR"
    for bad in ("EURO", "E1R", "€", "US'; drop"):
        monkeypatch.setenv("MARKETING_REPORTING_CURRENCY", bad)
        with pytest.raises(ValueError, match="MARKETING_REPORTING_CURRENCY"):
            Settings.from_env()
