"""Personas on a simulated `xs` shop, through the daily steps: a rerun gives identical personas,
one more day of data moves at most 5% of customers and keeps every persona's id and name."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import SOURCES
from pipelines.personas import state as persona_state
from pipelines.warehouse import connect
from simulator import continue_days, simulate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)


def run_day(settings: Settings, day: date) -> dict:
    run_id = f"run-{day}"
    for source in SOURCES:
        daily.ingest(settings, source, day, run_id)
    daily.transform(settings, day, run_id)
    daily.score_churn(settings, day, run_id)
    return daily.segment(settings, day, run_id)


def personas(settings: Settings) -> pl.DataFrame:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        return con.sql("select * from ml.personas order by customer_key").pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("personas") / "data")
    simulate(settings, scale="xs", seed=11, end_date=DAY, max_days=2)
    return settings


def test_personas_are_identical_on_a_rerun_and_stable_the_next_day(shop):
    first = run_day(shop, DAY)
    assert 3 <= first["k"] <= 10 and not first["warm_start"]
    day_one = personas(shop)
    assert day_one.height == first["customers"] > 100

    rerun = daily.segment(shop, DAY, "rerun")
    assert rerun["version"] == first["version"]
    assert personas(shop).equals(day_one)

    continue_days(shop, 1)
    second = run_day(shop, DAY + timedelta(days=1))
    day_two = personas(shop)
    assert second["warm_start"] and second["k"] == first["k"]
    both = day_one.join(day_two, on="customer_key", suffix="_next")
    moved = (both.get_column("persona_id") != both.get_column("persona_id_next")).mean()
    assert both.height >= day_one.height * 0.99
    assert moved <= 0.05, f"{moved:.1%} of customers changed persona in one day"
    assert second["personas"] == first["personas"]
    saved = persona_state.load_before(shop.models_dir, DAY + timedelta(days=2))
    assert saved is not None and saved.as_of_date == DAY + timedelta(days=1)
