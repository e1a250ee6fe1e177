"""Holdouts end to end on a small warehouse: the run_experiments step's assignments across
runs, merges, erasure and unsubscribes, and the exports that leave held-out people out of
every platform's files while the manifest counts both arms."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from audiences import audiences_file, customer_frame, erasure_requests, write_warehouse
from polars.testing import assert_frame_equal
from test_activation_exports import keys_of, people_in, read

from pipelines.activation.export import build_exports, export_on_demand, publish_exports
from pipelines.config import Settings
from pipelines.experiments import store
from pipelines.experiments.assign import held_out
from pipelines.experiments.tasks import ExperimentsError, run_experiments
from pipelines.warehouse import connect

DAY = date(2026, 10, 31)
NEXT = DAY + timedelta(days=1)
SALT = "marketing-pipelines"
EID = "winback__h10"
PLATFORMS = ("mailchimp", "meta", "google", "crm")
HOLDOUT = (
    "experiment_salt: marketing-pipelines\n"
    "audiences:\n"
    "  - name: churn_risk\n"
    "    rules: [{column: churn_decile, op: '>=', value: 8}]\n"
    "    platforms: [mailchimp, meta, google, crm]\n"
    "    crm: {score: churn_score,\n"
    "          reasons: [churn_reason_1, churn_reason_2, churn_reason_3]}\n"
    "    holdout: 0.1\n"
    "    experiment: winback\n"
    "    outcome_days: 28\n"
)


def write_identifiers(settings: Settings, people: pl.DataFrame) -> None:
    """The identity resolution rows erasure is matched on: each person's email and phone."""
    rows = pl.concat([
        people.select("customer_key", identifier_type=pl.lit("email"),
                      identifier=pl.col("email").str.strip_chars().str.to_lowercase()),
        people.select("customer_key", identifier_type=pl.lit("phone"),
                      identifier=pl.col("phone_e164")),
    ])
    con = connect(settings)
    try:
        con.execute("create schema if not exists intermediate")
        con.register("ids", rows.to_arrow())
        con.execute("create or replace table intermediate.int_identity__identifiers as "
                    "select * from ids")
    finally:
        con.close()


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> Settings:
    configured = dataclasses.replace(settings, audiences_file=audiences_file(tmp_path, HOLDOUT))
    people = customer_frame(1000)
    write_warehouse(configured, people)
    write_identifiers(configured, people)
    configured.erasure_file.parent.mkdir(parents=True)
    configured.erasure_file.write_text(erasure_requests(people))
    return configured


def assignments(settings: Settings) -> pl.DataFrame:
    con = connect(settings, read_only=True)
    try:
        return store.read(con).sort("experiment_id", "customer_key")
    finally:
        con.close()


def expected_held(people: pl.DataFrame) -> set[str]:
    keys = people.get_column("customer_key")
    return set(keys.filter(held_out(keys, EID, 0.1, SALT)))


def test_day_one_assigns_by_the_hash_and_the_exports_leave_the_held_out_out(world):
    people = customer_frame(1000)
    summary = run_experiments(world, DAY, "run-1")
    held = expected_held(people)
    assert 60 < len(held) < 140  # a tenth of 1,000, within 4 sd
    rows = assignments(world)
    # The 20 who asked to be erased before the run are never entered, on the day they asked.
    erased = keys_of(people, "erased")
    assert len(erased) == 20 and not erased & set(rows.get_column("customer_key"))
    assert rows.height == 980 and set(rows.get_column("entered_on")) == {DAY}
    assert set(rows.filter(pl.col("arm") == "holdout").get_column("customer_key")) == (
        held - erased)
    assert set(rows.get_column("experiment")) == {"winback"}
    assert set(rows.get_column("audience")) == {"churn_risk"}
    # People unsubscribed when they entered are in the experiment, counted as having left.
    unsubscribed = keys_of(people, "unsubscribed")
    left = rows.filter(pl.col("left_reason").is_not_null())
    assert set(left.get_column("customer_key")) == unsubscribed
    assert set(left.get_column("left_reason")) == {"unsubscribed"}
    assert summary["assigned"] == 980 and summary["left"] == 100
    assert summary["experiments"][EID]["held_out"] == len(held - unsubscribed - erased)

    manifest = build_exports(world, DAY, "run-1")
    folder = publish_exports(world, DAY)
    for platform in PLATFORMS:
        uploaded = people_in(read(folder, manifest, platform), platform, people)
        assert uploaded, platform
        assert not uploaded & held, platform
    # The manifest counts the members in the experiment today by arm: not erased, not
    # marked as left.
    counted = (set(people.get_column("customer_key")) - keys_of(people, "erased")
               - unsubscribed)
    entry = manifest["audiences"]["churn_risk"]
    assert entry["audience"] == "churn_risk" and entry["members"] == 1000
    assert entry["experiment"] == {
        "id": EID, "name": "winback", "holdout_share": 0.1, "outcome_days": 28,
        "treated": len(counted - held), "held_out": len(counted & held)}
    assert json.loads((folder / "manifest.json").read_text())["audiences"] == manifest[
        "audiences"]


def test_a_same_day_rerun_gives_identical_rows(world):
    run_experiments(world, DAY, "run-1")
    first = assignments(world)
    build_exports(world, DAY, "run-1")
    summary = run_experiments(world, DAY, "run-2")
    again = assignments(world)
    # The first run took the day's erasures in already: the rerun's rows are its rows.
    assert_frame_equal(again, first)
    assert summary["assigned"] == 0
    run_experiments(world, DAY, "run-3")
    assert_frame_equal(assignments(world), again)


def test_the_next_day_keeps_arms_marks_leavers_and_the_deltas_hold_nobody_held_out(world):
    people = customer_frame(1000)
    run_experiments(world, DAY, "run-1")
    build_exports(world, DAY, "run-1")
    publish_exports(world, DAY)
    first = assignments(world)
    held = expected_held(people)
    # Overnight: k000500 is merged into k000501 (its key is gone); an emailable person
    # unsubscribes; 200 new people qualify.
    ok = sorted(keys_of(people, "ok"))
    survivor, absorbed, quitter, forgotten = ok[0], ok[1], ok[2], ok[3]
    newcomers = customer_frame(1200).slice(1000).with_columns(
        mailchimp_status=pl.lit("subscribed"), is_emailable=pl.lit(True),
        ad_storage_consent=pl.lit(True), ad_user_data_consent=pl.lit(True),
        ad_personalization_consent=pl.lit(True), ccpa_opt_out=pl.lit(False),
        is_eea=pl.lit(False), country_code=pl.lit("US"))
    today = pl.concat([
        people.filter(pl.col("customer_key") != absorbed).with_columns(
            mailchimp_status=pl.when(pl.col("customer_key") == quitter)
            .then(pl.lit("unsubscribed")).otherwise("mailchimp_status")),
        newcomers,
    ])
    write_warehouse(world, today)
    write_identifiers(world, today)
    # ... and someone already in the experiment asks to be erased.
    email = people.filter(pl.col("customer_key") == forgotten).get_column("email")[0]
    world.erasure_file.write_text(f"email,phone,country\n{email},,\n")
    run_experiments(world, NEXT, "run-2")
    rows = assignments(world)
    kept = rows.filter(pl.col("entered_on") == DAY)
    assert_frame_equal(kept.select("customer_key", "arm", "run_id"),
                       first.select("customer_key", "arm", "run_id"))
    reason = dict(zip(rows.get_column("customer_key"), rows.get_column("left_reason"),
                      strict=True))
    assert reason[absorbed] == "merged" and reason[survivor] is None
    assert reason[quitter] == "unsubscribed"
    assert reason[forgotten] == "erased"
    assert not keys_of(people, "erased") & set(reason)  # erased the day before they entered
    assert rows.filter(pl.col("left_on") == NEXT).height == 3
    entered = rows.filter(pl.col("entered_on") == NEXT)
    assert set(entered.get_column("customer_key")) == set(newcomers.get_column("customer_key"))

    manifest = build_exports(world, NEXT, "run-2")
    folder = publish_exports(world, NEXT)
    held_today = held | expected_held(newcomers)
    for platform in PLATFORMS:
        for kind in ("full", "adds", "removes"):
            found = people_in(read(folder, manifest, platform, kind), platform, today)
            assert not found & held_today, (platform, kind)
        adds = people_in(read(folder, manifest, platform, "adds"), platform, today)
        assert adds <= set(newcomers.get_column("customer_key")), platform


def test_an_on_demand_export_honours_the_holdout(world):
    people = customer_frame(1000)
    run_experiments(world, DAY, "run-1")
    folder, manifest = export_on_demand(world, DAY, "churn_risk", "meta", source="work")
    uploaded = people_in(read(folder, manifest, "meta"), "meta", people)
    assert uploaded and not uploaded & expected_held(people)
    assert manifest["audiences"]["churn_risk"]["experiment"]["id"] == EID


def test_without_a_holdout_nothing_is_assigned_and_the_step_says_so(settings, tmp_path):
    configured = dataclasses.replace(settings, audiences_file=audiences_file(tmp_path))
    write_warehouse(configured, customer_frame(100))
    summary = run_experiments(configured, DAY, "run-1")
    assert summary["assigned"] == 0 and summary["experiments"] == {}
    assert "no audience has a holdout" in summary["note"]
    assert assignments(configured).is_empty()  # the table exists for the audit and readouts
    manifest = build_exports(configured, DAY, "run-1")
    assert "experiment" not in manifest["audiences"]["churn_risk"]


def test_an_empty_customer_table_is_refused_before_anyone_is_marked_merged(world):
    run_experiments(world, DAY, "run-1")
    first = assignments(world)
    write_warehouse(world, customer_frame(1000).clear())
    with pytest.raises(ExperimentsError, match=r"marts\.dim_customers is empty but 980 people"):
        run_experiments(world, NEXT, "run-2")
    assert_frame_equal(assignments(world), first)
