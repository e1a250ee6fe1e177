"""The experiments source: one row per unit of a randomised test, with the ledger and the
quarantine like every source."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import write_landing

from pipelines.ingest.run import IngestError, ingest_source
from tests.conftest import query as rows

HEADER = "experiment,arm,email,unit_id,visited,spend,segment note\n"



def test_a_unit_without_arm_or_identifier_is_quarantined_with_its_reason(settings):
    good = [f"spring_promo,{'control' if i % 2 else 'treatment'},u{i}@x.com,,1,12.50,a\n"
            for i in range(40)]
    text = HEADER + "".join(good[:10]) + "spring_promo,,lost@x.com,,0,0,b\n" + \
        "".join(good[10:]) + "spring_promo,control,,,0,0,c\n"
    write_landing(settings, "experiments", "2026-10-30", "spring_promo.csv", text)
    ingest_source(settings, "experiments", "r1", date(2026, 10, 31))
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (11, "missing required field: arm"),
        (42, "missing required field: one of customer_id, email, unit_id")]
    assert rows(settings, "select rows_read, rows_loaded, rows_quarantined from audit.loads") \
        == [(42, 40, 2)]
    # Outcome and covariate columns are kept, as text, under their own names.
    assert rows(settings, "select any_value(typeof(spend)), sum(spend::decimal(18, 2)), "
                          "count(\"segment note\") from raw.experiments__results") == [
        ("VARCHAR", 500, 40)]


def test_a_newer_export_of_an_experiment_replaces_the_earlier_one(settings):
    write_landing(settings, "experiments", "2026-10-01", "results.csv",
                  HEADER + "spring_promo,control,,1,0,0,a\nsummer,control,,1,0,0,a\n")
    ingest_source(settings, "experiments", "r1", date(2026, 10, 1))
    write_landing(settings, "experiments", "2026-10-15", "results.csv",
                  HEADER + "spring_promo,control,,1,1,9.99,a\nspring_promo,treatment,,2,1,5,a\n")
    ingest_source(settings, "experiments", "r2", date(2026, 10, 15))
    assert rows(settings, "select experiment, unit_id, spend from raw.experiments__results "
                          "order by 1, 2") == [
        ("spring_promo", "1", "9.99"), ("spring_promo", "2", "5"), ("summer", "1", "0")]


def test_a_file_without_the_experiment_column_is_rejected_by_name(settings):
    write_landing(settings, "experiments", "2026-10-30", "results.csv",
                  "experiment_name,arm,unit_id\nx,control,1\n")
    with pytest.raises(IngestError, match=r"required column 'experiment' is missing "
                                          r"\(closest match in the file: 'experiment_name'\)"):
        ingest_source(settings, "experiments", "r1", date(2026, 10, 31))
