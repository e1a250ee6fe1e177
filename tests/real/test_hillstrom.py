"""Kevin Hillstrom's e-mail experiment (64,000 customers randomised to a men's e-mail, a women's
e-mail or none; visits, conversions and spend over the next two weeks) loads as a shop would
hand it over: mapped to the `experiments` source's columns, ingested with the ledger, read
back from raw and through its staging model with the counts the publisher gives.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from scipy import stats

from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.transform import run_dbt
from pipelines.warehouse import connect
from tests.conftest import query

pytestmark = [pytest.mark.real, pytest.mark.integration]

FILE = "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
EXPORTED = date(2008, 3, 20)
ARMS = {"Womens E-Mail": 21_387, "Mens E-Mail": 21_307, "control": 21_306}
OUTCOMES = ("visit", "conversion", "spend")


def write_experiment_export(source, target) -> None:
    """The user's mapping to the source's declared columns: the experiment's name, `segment`
    (the randomised arm) as `arm` with the no-email arm named `control` (the baseline),
    the row number as `unit_id` (the file has no customer id), the outcomes as
    `outcome_<name>`, `history` (the year's spend before the test) also as `pre_spend` (the
    covariate of spend), each arm's planned share (a third), every other column as is."""
    with source.open(newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        others = [c for c in rows.fieldnames if c not in ("segment", *OUTCOMES)]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)  # CRLF line ends, as the original
            writer.writerow(["experiment", "arm", "unit_id", "planned_share",
                             *(f"outcome_{o}" for o in OUTCOMES), "pre_spend", *others])
            for number, row in enumerate(rows, start=1):
                arm = "control" if row["segment"] == "No E-Mail" else row["segment"]
                writer.writerow(["hillstrom_2008", arm, number, "0.333333",
                                 *(row[o] for o in OUTCOMES), row["history"],
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
    assert query(experiment, "select count(distinct unit_id), sum(outcome_visit::int), "
                             "sum(outcome_conversion::int), sum(outcome_spend::decimal(18, 2)), "
                             "count(*) filter (where history_segment = '2) $100 - $200') "
                             "from raw.experiments__results") == [
        (64_000, 9_394, 578, Decimal("67258.13"), 14_254)]


def test_the_staging_model_builds_on_it_with_every_column(experiment):
    result = run_dbt(experiment, ["build", "--select", "stg_experiments__results"], EXPORTED)
    assert set(result.status_counts) <= {"success", "pass"}, result.failures
    rows = query(experiment, "select experiment_id, arm, count(*), "
                             "sum(outcome_spend::decimal(18, 2)), min(export_date) "
                             "from staging.stg_experiments__results group by 1, 2 order by 2")
    assert [(e, a, n) for e, a, n, *_ in rows] == [
        ("hillstrom_2008", arm, ARMS[arm]) for arm in sorted(ARMS)]
    assert sum(spend for *_, spend, _ in rows) == Decimal("67258.13")
    assert {day for *_, day in rows} == {EXPORTED}


def frame(settings: Settings, sql: str) -> pl.DataFrame:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def independent_figures(path) -> dict[tuple[str, str], dict]:
    """The readout's figures computed straight from the publisher's file with NumPy and
    SciPy: each e-mail arm against no e-mail, Welch's 90% interval of the difference in means
    (spend adjusted by the year's spend before, theta from the pair's pooled covariance)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    arm = np.array([r["segment"] for r in rows])
    history = np.array([float(r["history"]) for r in rows])
    out = {}
    for treated in ("Mens E-Mail", "Womens E-Mail"):
        pair = (arm == treated) | (arm == "No E-Mail")
        is_t = arm[pair] == treated
        for outcome in OUTCOMES:
            y = np.array([float(r[outcome]) for r in rows])[pair]
            raw = y.copy()
            if outcome == "spend":
                x = history[pair]
                y = y - np.cov(y, x)[0, 1] / np.var(x, ddof=1) * (x - x.mean())
            ci = stats.ttest_ind(y[is_t], y[~is_t], equal_var=False).confidence_interval(0.90)
            out[(treated, outcome)] = {
                "treated_n": int(is_t.sum()), "holdout_n": int((~is_t).sum()),
                "treated_mean": raw[is_t].mean(), "holdout_mean": raw[~is_t].mean(),
                "lift_abs": y[is_t].mean() - y[~is_t].mean(), "lift_low": ci.low,
                "lift_high": ci.high}
    return out


def test_the_readout_gives_the_figures_the_data_gives(experiment, real_file):
    """Built by dbt as the daily run builds it; against the figures computed here apart."""
    result = run_dbt(experiment, ["build", "--select", "stg_experiments__results",
                                  "int_experiments__external_readouts"], EXPORTED)
    assert set(result.status_counts) <= {"success", "pass"}, result.failures
    readout = {(r["audience"], r["outcome"]): r for r in frame(
        experiment, "select * from intermediate.int_experiments__external_readouts"
    ).iter_rows(named=True)}
    expected = independent_figures(real_file("hillstrom", FILE))
    assert set(readout) == set(expected)
    for key, figures in expected.items():
        row = readout[key]
        for column, value in figures.items():
            assert row[column] == pytest.approx(value, rel=1e-9), (key, column)
        assert row["experiment_id"] == f"hillstrom_2008__{key[0].split()[0].lower()}_e_mail"
        assert row["left_n"] == 0
        # Randomised into thirds: no sample-ratio mismatch.
        assert row["srm_p_value"] > 0.01 and not row["srm_flag"]
        # Both e-mails raised visits, conversions and spend beyond doubt (the published
        # finding): each interval is above zero.
        assert row["verdict"] == "treatment_better", (key, row["summary"])
        assert row["prob_treatment_better"] > 0.99
    # The publisher's totals, read back through the readout's means.
    visits = sum(readout[(a, "visit")]["treated_mean"] * readout[(a, "visit")]["treated_n"]
                 for a in ("Mens E-Mail", "Womens E-Mail"))
    visits += readout[("Mens E-Mail", "visit")]["holdout_mean"] * ARMS["control"]
    assert round(visits) == 9_394
    spend = readout[("Mens E-Mail", "spend")]
    assert spend["cuped_variance_reduction"] > 0
    assert readout[("Mens E-Mail", "visit")]["cuped_variance_reduction"] is None
