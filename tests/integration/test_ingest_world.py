"""Every source of a simulated world, loaded by the real loaders, against the simulator's own
record of the defects it injected: each malformed line is quarantined at its file and row,
nothing else is, and every file's ledger adds up."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.ingest.sources import source_names
from pipelines.warehouse import connect
from simulator import continue_days, simulate, truth_dir

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("ingest_world"))
    simulate(settings, scale="xs", seed=3, end_date=END, history_days=120)
    for day in (END, END + timedelta(days=1), END + timedelta(days=2)):
        if day > END:
            continue_days(settings, 1)
        for source in source_names():
            ingest_source(settings, source, f"run-{day}", day)
    return settings


def query(settings: Settings, sql: str) -> pl.DataFrame:
    con = connect(settings, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_every_source_loaded_and_every_ledger_adds_up(world):
    ledger = query(world, "select * from audit.loads")
    # The simulated shop has no generic orders file and runs no experiment.
    # The simulated world has no generic orders, experiments or exchange rates.
    unused = {"orders", "experiments", "fx"}
    assert set(ledger.get_column("source")) == set(source_names()) - unused
    assert ledger.filter(pl.col("status") == "rejected").height == 0
    loaded = ledger.filter(pl.col("status") == "loaded")
    assert (loaded["rows_read"] == loaded["rows_loaded"] + loaded["rows_quarantined"]).all()
    # Every file once: no two loads of the same bytes.
    assert loaded.get_column("sha256").n_unique() == loaded.height
    for table in ("shop__orders", "mailchimp__email_activity", "hubspot__contacts",
                  "ga4__events", "meta_capi__events", "meta_ads__insights",
                  "typeform__responses"):
        assert query(world, f"select count(*) as n from raw.{table}")["n"][0] > 0, table


def test_quarantine_holds_exactly_the_injected_malformed_rows(world):
    truth = pl.read_parquet(truth_dir(world) / "defects.parquet").filter(
        pl.col("kind").is_in(["malformed_row", "malformed_json", "non_numeric_metric"]))
    landing = str(world.landing_dir) + "/"
    got = query(world, "select file_path, row_number from raw.quarantine").with_columns(
        file=pl.col("file_path").str.strip_prefix(landing)).select("file", "row_number")
    want = truth.select("file", "row_number")
    assert want.height > 0
    assert sorted(got.rows()) == sorted(want.rows())


def test_empty_files_are_recorded_not_failed(world):
    empty = pl.read_parquet(truth_dir(world) / "defects.parquet").filter(
        pl.col("kind") == "empty_file")
    statuses = query(world, "select file_path, status from audit.loads")
    for rel in empty["file"]:
        rows = statuses.filter(pl.col("file_path").str.ends_with(rel))
        if rows.height:  # a file dated after the last run is not read yet
            assert rows["status"].to_list() == ["empty"], rel


def test_a_rewritten_ga4_day_is_held_once(world):
    """Late events rewrite GA4 days in later exports: no event is held twice."""
    twice = query(world, "select event_date, event_timestamp, user_pseudo_id, event_name, "
                         "count(distinct _file) as files from raw.ga4__events "
                         "group by all having count(distinct _file) > 1")
    assert twice.height == 0
