"""Kevin Hillstrom's e-mail experiment (64,000 customers randomised to a men's e-mail, a women's
e-mail or none; visits, conversions and spend over the next two weeks) loads as a shop would
hand it over: mapped to the `experiments` source's columns, ingested with the ledger, read
back from raw and through its staging model with the counts the publisher gives.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.transform import run_dbt
from tests.conftest import query

pytestmark = [pytest.mark.real, pytest.mark.integration]

FILE = "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
EXPORTED = date(2008, 3, 20)
ARMS = {"Womens E-Mail": 21_387, "Mens E-Mail": 21_307, "No E-Mail": 21_306}


def write_experiment_export(source, target) -> None:
    """The user's mapping: the experiment's name, `segment` (the randomised arm) as `arm`,
    the row number as `unit_id` (the file has no customer id), every other column as is."""
    with source.open(newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        others = [c for c in rows.fieldnames if c != "segment"]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)  # CRLF line ends, as the original
            writer.writerow(["experiment", "arm", "unit_id", *others])
            for number, row in enumerate(rows, start=1):
                writer.writerow(["hillstrom_2008", row["segment"], number,
                                 *(row[c] for c in others)])


@pytest.fixture(scope="module")
def experiment(real_file, tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("hillstrom") / "data",
                        duckdb_memory_limit="1GB", duckdb_threads=1)
    write_experiment_export(real_file("hillstrom", FILE), settings.landing_dir / "experiments"
                            / EXPORTED.isoformat() / "hillstrom_2008.csv")
    report = ingest_source(settings, "experiments", "real-hillstrom", EXPORTED)
    assert report.count("loaded") == 1, report.summary()
    return settings



def test_every_unit_loads_with_its_ledger_entry(experiment):
    assert query(experiment, "select status, rows_read, rows_loaded, rows_quarantined "
                             "from audit.loads") == [("loaded", 64_000, 64_000, 0)]
    assert query(experiment, "select count(*) from raw.quarantine") == [(0,)]


def test_arms_and_outcomes_read_back_from_raw_match_the_publisher(experiment):
    assert dict(query(experiment, "select arm, count(*) from raw.experiments__results "
                                  "group by 1")) == ARMS
    assert query(experiment, "select count(distinct unit_id), sum(visit::int), "
                             "sum(conversion::int), sum(spend::decimal(18, 2)), "
                             "count(*) filter (where history_segment = '2) $100 - $200') "
                             "from raw.experiments__results") == [
        (64_000, 9_394, 578, Decimal("67258.13"), 14_254)]


def test_the_staging_model_builds_on_it_with_every_column(experiment):
    result = run_dbt(experiment, ["build", "--select", "stg_experiments__results"], EXPORTED)
    assert set(result.status_counts) <= {"success", "pass"}, result.failures
    rows = query(experiment, "select experiment_id, arm, count(*), "
                             "sum(spend::decimal(18, 2)), min(export_date) "
                             "from staging.stg_experiments__results group by 1, 2 order by 2")
    assert [(e, a, n) for e, a, n, *_ in rows] == [
        ("hillstrom_2008", arm, ARMS[arm]) for arm in sorted(ARMS)]
    assert sum(spend for *_, spend, _ in rows) == Decimal("67258.13")
    assert {day for *_, day in rows} == {EXPORTED}
