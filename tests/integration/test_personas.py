"""Personas on a simulated `xs` shop, through the daily steps: a rerun gives identical personas,
one more day of data moves at most 5% of customers and keeps every persona's id and name."""

from __future__ import annotations

from dataclasses import replace
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
    return daily.find_personas(settings, day, run_id)


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

    # Found again from the same inputs (reuse off), the same model to the last bit; with
    # reuse on, the rerun keeps what the run before wrote, as nothing it reads has changed.
    rerun = daily.find_personas(replace(shop, reuse=False), DAY, "rerun")
    assert rerun["version"] == first["version"] and "reused" not in rerun
    assert personas(shop).equals(day_one)
    kept = daily.find_personas(shop, DAY, "kept")
    assert kept["reused"] == "rerun" and kept["version"] == first["version"]
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


@pytest.fixture(scope="module")
def four_kinds(tmp_path_factory) -> Settings:
    """A shop whose customers come in 4 hidden kinds, not the simulator's usual 7."""
    settings = Settings(home=tmp_path_factory.mktemp("personas_k4") / "data")
    simulate(settings, scale="xs", seed=11, end_date=DAY, history_days=365, personas=4)
    return settings


def test_a_shop_with_four_kinds_of_customer_gets_a_valid_persona_table(four_kinds):
    """The persona step is not built around seven: on another world it still gives every
    paying customer one persona, each with a distinct, non-empty name and a profile (the k it
    chooses is measured and reported, not asserted: at scale s it found 4 on a four-kind
    world and 7 on a nine-kind one; at xs, nine kinds showed no stable structure at all)."""
    run_id = "k4"
    for source in SOURCES:
        daily.ingest(four_kinds, source, DAY, run_id)
    daily.transform(four_kinds, DAY, run_id)
    summary = daily.find_personas(four_kinds, DAY, run_id)
    table = personas(four_kinds)
    # A model's k is from 3-10; with no persona structure, the RFM segments stand in.
    assert (summary["source"] == "model" and 3 <= summary["k"] <= 10) or (
        summary["source"] == "rfm")
    assert table.height == summary["customers"] > 100
    assert table.get_column("customer_key").is_unique().all()
    names = dict(table.select("persona_id", "persona_name").unique().iter_rows())
    assert len(names) == len(set(names.values())) == len(summary["personas"])
    assert all(name.strip() for name in names.values())
    con = connect(four_kinds, path=four_kinds.work_db, read_only=True)
    try:
        profiled = con.sql("select persona_id, customers from ml.persona_profiles").pl()
    finally:
        con.close()
    assert set(profiled.get_column("persona_id")) == set(names)
    sizes = table.group_by("persona_id").len()
    assert dict(sizes.iter_rows()) == dict(profiled.iter_rows())
