"""Real faults injected into a real run: each must block publishing with a clear message and
leave the published warehouse and exports exactly as they were.

The world is built once with the daily steps (real dbt, XGBoost, Great Expectations); each test
breaks a copy of its work file, audits, tries to publish, and restores the copy.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines import daily
from pipelines.activation.export import staging_dir
from pipelines.config import Settings
from pipelines.ingest.sources import source_names
from pipelines.quality import QualityGateError
from pipelines.warehouse import connect, published_hashes
from simulator import simulate

pytestmark = pytest.mark.slow

DAY = date(2026, 10, 31)


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "data", duckdb_memory_limit="2GB")
        simulate(self.settings, scale="xs", seed=7, end_date=DAY)
        for source in source_names():
            daily.ingest(self.settings, source, DAY, "good")
        for step in ("transform", "score_churn", "score_ltv", "score_lead", "forecast_units",
                     "find_personas", "optimise_ads", "run_experiments", "personalize",
                     "generate_content", "transform_reports", "export", "audit", "publish"):
            getattr(daily, step)(self.settings, DAY, "good")
        self.pristine = root / "pristine.duckdb"
        shutil.copy(self.settings.work_db, self.pristine)

    def restore(self) -> None:
        shutil.copy(self.pristine, self.settings.work_db)

    def sql(self, statement: str) -> None:
        con = connect(self.settings)
        try:
            con.execute(statement)
        finally:
            con.close()

    def published_state(self) -> tuple[dict, list[bytes]]:
        exports = self.settings.exports_dir / DAY.isoformat()
        files = sorted(p.read_bytes() for p in exports.rglob("*") if p.is_file())
        return published_hashes(self.settings), files


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("faults"))


def audit_and_publish(world: World, run_id: str, day: date = DAY) -> str:
    """Run export, audit and publish as the DAG would; return the gate's message."""
    daily.export(world.settings, day, run_id)
    with pytest.raises(QualityGateError) as gate:
        daily.audit(world.settings, day, run_id)
    with pytest.raises(daily.PublishRefusedError):
        daily.publish(world.settings, day, run_id)
    return str(gate.value)


FAULTS = {
    "duplicated key": (
        "insert into marts.dim_customers select * from marts.dim_customers "
        "order by customer_key limit 1",
        "marts.dim_customers: expect_column_values_to_be_unique(customer_key)"),
    "probability of 1.2": (
        "update ml.scores set score = 1.2 where model = 'churn' "
        "and customer_key = (select min(customer_key) from ml.scores where model = 'churn')",
        "ml.scores: expect_column_values_to_be_between(score)"),
    "60% drop in rows": (
        "delete from marts.fct_orders where hash(order_id) % 10 < 6",
        "marts.fct_orders: expect_column_values_to_be_between(row_count_ratio)"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_injected_fault_blocks_publish_and_keeps_the_last_publication(world, fault):
    statement, message = FAULTS[fault]
    before = world.published_state()
    world.sql(statement)
    try:
        assert message in audit_and_publish(world, f"fault-{fault}")
        assert world.published_state() == before
        docs = world.settings.reports_dir / DAY.isoformat() / "quality" / "index.html"
        assert "failed" in docs.read_text()
    finally:
        world.restore()


def test_a_stale_source_blocks_publish(world):
    """Ten days on with no new orders: the orders are stale for that run date."""
    before = world.published_state()
    later = DAY + timedelta(days=10)
    try:
        message = audit_and_publish(world, "fault-stale", later)
        assert "marts.fct_orders: expect_column_values_to_be_between(freshness_lag_days)" in \
            message and "latest ordered_at is 2026-10-31" in message
        assert world.published_state() == before
        assert not (world.settings.exports_dir / later.isoformat()).exists()
    finally:
        world.restore()


def test_a_raw_email_in_an_ad_export_blocks_publish(world):
    before = world.published_state()
    staged = staging_dir(world.settings, DAY)
    daily.export(world.settings, DAY, "fault-ad-email")
    header = ["email", "phone", "fn", "ln", "ct", "st", "zp", "country", "external_id"]
    hashed = "a" * 64
    (staged / "meta").mkdir(exist_ok=True)
    with (staged / "meta" / "lookalike_seed.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow([hashed] * len(header))
        writer.writerow(["jane.doe@example.com", *[hashed] * (len(header) - 1)])
    manifest = json.loads((staged / "manifest.json").read_text())
    manifest["files"].append({"path": "meta/lookalike_seed.csv", "platform": "meta",
                              "audience": "lookalike_seed", "rows": 2, "sha256": "",
                              "suppressed": {}})
    (staged / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(QualityGateError) as gate:
        daily.audit(world.settings, DAY, "fault-ad-email")
    assert "exports/meta/lookalike_seed.csv: expect_column_values_to_match_regex(email)" in \
        str(gate.value)
    with pytest.raises(daily.PublishRefusedError):
        daily.publish(world.settings, DAY, "fault-ad-email")
    assert world.published_state() == before


def test_after_the_faults_a_clean_run_publishes_again(world):
    daily.export(world.settings, DAY, "clean-again")
    daily.audit(world.settings, DAY, "clean-again")
    # The gate lets the clean run through; its content is the good run's, so the good
    # publication stands and is not written again.
    assert daily.publish(world.settings, DAY, "clean-again") == {"unchanged_since": "good"}
    con = connect(world.settings, path=world.settings.published_db, read_only=True)
    try:
        runs = [r for (r,) in con.sql("select run_id from meta.runs order by published_at")
                .fetchall()]
    finally:
        con.close()
    assert runs == ["good"]
