"""The daily probabilistic linking (pipelines.identity.linking): record versions say what is new
or changed, the matcher trains when due, a day matches only its new records and decides on
them as a full match would, a changed record's old links end, and a rerun of a day equals its
first."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from pipelines.identity import linking
from pipelines.identity.features import INPUT_COLUMNS
from tests.unit.fuzzy_world import population

D1 = date(2026, 3, 1)
D2 = D1 + timedelta(days=1)
PAIR = ["record_key_l", "record_key_r"]


def with_fingerprints(records: pl.DataFrame) -> pl.DataFrame:
    return records.with_columns(fingerprint=pl.concat_str(
        [pl.col(c).fill_null("") for c in INPUT_COLUMNS if c not in ("record_key", "cluster")],
        separator="|"))


def test_versions_mark_new_and_changed_records_and_forget_a_rerun_day():
    day1 = pl.DataFrame({"record_key": ["a", "b"], "fingerprint": ["1", "2"]})
    ledger, new = linking.versions(None, day1, D1)
    assert new.to_list() == ["a", "b"]
    day2 = pl.DataFrame({"record_key": ["a", "b", "c"], "fingerprint": ["1", "9", "3"]})
    ledger2, new2 = linking.versions(ledger, day2, D2)
    assert new2.to_list() == ["b", "c"]  # b changed, c is new, a is as it was
    assert ledger2.height == 4
    again, new_again = linking.versions(ledger2, day2, D2)
    assert again.equals(ledger2) and new_again.equals(new2)


def test_a_model_is_trained_again_when_the_records_grow_or_it_ages():
    models = pl.DataFrame([{"trained_on": D1, "records": 1000, "model": "{}",
                            "threshold": 0.95, "expected_precision": 0.999}],
                          schema=linking.MODEL_SCHEMA)  # fmt: skip
    assert linking.model_due(models.clear(), 10, D1)
    assert not linking.model_due(models, 1250, D2)
    assert linking.model_due(models, 1251, D2)
    assert linking.model_due(models, 1000, D1 + timedelta(days=linking.RETRAIN_DAYS))


def test_exact_clusters_follow_person_level_links_only():
    records = pl.DataFrame({"record_key": ["shop_customer:1", "mailchimp:m", "hubspot:h"],
                            "hub_type": ["shop_customer_id", "email", "hubspot_record_id"],
                            "hub": ["1", "a@x.com", "h"]})  # fmt: skip
    edges = pl.DataFrame({
        "identifier_type": ["shop_customer_id", "hubspot_record_id"],
        "identifier": ["1", "h"],
        "linked_type": ["email", "phone"],
        "linked_identifier": ["a@x.com", "+1"],
    })  # fmt: skip
    cluster = linking.exact_clusters(records, edges, ["phone"])
    # The shop account shows the member's email: one person. The phone is a shareable
    # identifier and joins nothing here.
    assert cluster[0] == cluster[1] != cluster[2]


@pytest.fixture(scope="module")
def world() -> pl.DataFrame:
    people = population(seed=3, n_people=1500)
    return with_fingerprints(people.select(INPUT_COLUMNS))


def test_a_day_matches_its_new_records_as_a_full_match_would(world: pl.DataFrame):
    late = world["record_key"].sort().tail(200)
    first = world.filter(~pl.col("record_key").is_in(late.implode()))
    _, new1 = linking.versions(None, first, D1)
    models, trained = linking.train_if_due(None, first.drop("fingerprint"), D1)
    assert trained and models.height == 1
    day1 = linking.links(None, first.drop("fingerprint"), models, new1, D1)
    assert day1.height > 0 and day1["ended_on"].is_null().all()
    # Day 2 brings 200 more records (fewer than a quarter more: no training).
    ledger, _ = linking.versions(None, first, D1)
    ledger, new2 = linking.versions(ledger, world, D2)
    assert sorted(new2) == sorted(late)
    models2, trained2 = linking.train_if_due(models, world.drop("fingerprint"), D2)
    assert not trained2 and models2.equals(models)
    day2 = linking.links(day1, world.drop("fingerprint"), models2, new2, D2)
    # The pairs with a new record are those the same model and threshold find over every
    # record at once; pairs of two earlier records keep day 1's decision (word frequencies
    # move as records arrive, so a full match may differ there until the next training).
    full = linking.links(None, world.drop("fingerprint"), models2,
                         world["record_key"], D2)  # fmt: skip
    new_keys = new2.implode()

    def with_new(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("record_key_l").is_in(new_keys)
                            | pl.col("record_key_r").is_in(new_keys)).select(PAIR).sort(PAIR)

    live = day2.filter(pl.col("ended_on").is_null())
    assert with_new(live).height > 0 and with_new(live).equals(with_new(full))
    old = live.filter(~pl.col("record_key_l").is_in(new_keys)
                      & ~pl.col("record_key_r").is_in(new_keys))  # fmt: skip
    assert old.equals(day1)
    # A rerun of day 2 equals its first run.
    assert linking.links(day2, world.drop("fingerprint"), models2, new2, D2).equals(day2)


def test_a_changed_record_ends_the_links_it_no_longer_makes(world: pl.DataFrame):
    records = world.drop("fingerprint")
    models, _ = linking.train_if_due(None, records, D1)
    day1 = linking.links(None, records, models, records["record_key"], D1)
    key = day1["record_key_l"][0]
    # The record is blanked out: nothing is left to match it by.
    blank = records.with_columns(
        [pl.when(pl.col("record_key") == key).then(None).otherwise(pl.col(c)).alias(c)
         for c in INPUT_COLUMNS if c not in ("record_key", "cluster")])  # fmt: skip
    day2 = linking.links(day1, blank, models, pl.Series([key]), D2)
    mine = day2.filter((pl.col("record_key_l") == key) | (pl.col("record_key_r") == key))
    assert mine.height > 0 and (mine["ended_on"] == D2).all()
    others = day2.filter((pl.col("record_key_l") != key) & (pl.col("record_key_r") != key))
    assert others.equals(day1.filter((pl.col("record_key_l") != key)
                                     & (pl.col("record_key_r") != key)))  # fmt: skip


def test_an_earlier_day_run_late_decides_as_of_the_latest_day():
    from pipelines.identity.state import effective_day

    runs = pl.DataFrame({"decided_on": [D1, D2]})
    assert effective_day(None, "decided_on", D1) == D1
    assert effective_day(runs, "decided_on", D1) == D2  # a cleared old run: keys never go back
    assert effective_day(runs, "decided_on", D2 + timedelta(days=1)) == D2 + timedelta(days=1)
