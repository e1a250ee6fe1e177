"""Probabilistic identity matching (pipelines.identity.fuzzy): bad input, the threshold rule,
and the matcher on a synthetic population whose truth is known (tests/unit/fuzzy_world.py)
with a few hand-made cases added."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.identity import fuzzy
from pipelines.identity.features import INPUT_COLUMNS as COLUMNS
from tests.unit.fuzzy_world import population, records, true_pairs

# Hand-made records added to the population: each pair is one case with a known answer.
CASES = records(
    # One person: a nickname, a phone under another area code, the street written short.
    {"record_key": "case-bob", "first_name": "bob", "last_name": "quinlan",
     "phone": "+13125550143", "address": "17 Larkspur Street", "zip": "10000",
     "city": "springfield"},
    {"record_key": "case-robert", "first_name": "robert", "last_name": "quinlan",
     "email": "rq1988@yahoo.com", "phone": "+17735550143", "address": "17 larkspur st.",
     "zip": "10000", "city": "springfield"},
    # A household: one home, one landline, one last name; Daniel and Danielle are two people
    # (Jaro-Winkler 0.97), as are Carl and Carol (one edit apart, both names).
    {"record_key": "case-daniel", "first_name": "daniel", "last_name": "okafor",
     "email": "dokafor@gmail.com", "phone": "+12125550111", "address": "4 elm court",
     "zip": "10001", "city": "springfield"},
    {"record_key": "case-danielle", "first_name": "danielle", "last_name": "okafor",
     "phone": "+12125550111", "address": "4 elm court", "zip": "10001", "city": "springfield"},
    {"record_key": "case-carl", "first_name": "carl", "last_name": "vandermeer",
     "phone": "+12125550122", "address": "9 oak lane", "zip": "10001", "city": "springfield"},
    {"record_key": "case-carol", "first_name": "carol", "last_name": "vandermeer",
     "email": "carol.v@outlook.com", "phone": "+12125550122", "address": "9 oak lane",
     "zip": "10001", "city": "springfield"},
    # Namesakes in one zip: every contact detail differs. Their rare name's term frequencies
    # outweigh the three disagreements (the model alone says p = 0.96); a guard says no.
    {"record_key": "case-twin-a", "first_name": "ezekiel", "last_name": "thornbury",
     "email": "zeke.t@gmail.com", "phone": "+12125550177", "address": "300 pine road",
     "zip": "10002", "city": "springfield"},
    {"record_key": "case-twin-b", "first_name": "ezekiel", "last_name": "thornbury",
     "email": "thornbury.e@yahoo.com", "phone": "+16465550912", "address": "12 cedar drive",
     "zip": "10002", "city": "springfield"},
)  # fmt: skip


def test_bad_new_keys_are_named() -> None:
    good = records({"record_key": "a"}, {"record_key": "b"})
    with pytest.raises(ValueError, match="lack column"):
        fuzzy.match(good.drop("phone"), {})
    with pytest.raises(ValueError, match="new record_key 'x' is not among the records"):
        fuzzy.match(good, {}, new=pl.Series(["x"]))
    with pytest.raises(ValueError, match="must be record_keys"):
        fuzzy.match(good, {}, new=pl.Series([True, False]))


def test_too_few_records_to_train_on_are_named() -> None:
    few = records(*({"record_key": f"k{i}", "first_name": "ann", "last_name": f"l{i}",
                     "email": f"a{i}@x.com"} for i in range(20)))  # fmt: skip
    with pytest.raises(ValueError, match="20 records are too few to train on: no two share"):
        fuzzy.train(few)
    # Two share an inbox, but no two have the same full name and zip.
    shared = pl.when(pl.col("record_key").is_in(["k0", "k1"])).then(pl.lit("same@x.com"))
    few = few.with_columns(email=shared.otherwise("email"), zip=pl.lit("10001"))
    with pytest.raises(ValueError, match=r"too few to train on: no pair of them has .*zip"):
        fuzzy.train(few)


def test_threshold_is_the_lowest_that_keeps_the_expected_precision() -> None:
    p = pl.Series([1.0, 0.999, 0.99, 0.98, 0.95, 0.5])
    # Down to 0.99 the mean is 0.9963; adding 0.98 brings it to 0.99225.
    threshold, expected = fuzzy.choose_threshold(p, target_precision=0.995, floor=0.9)
    assert threshold == 0.99
    assert expected == pytest.approx((1.0 + 0.999 + 0.99) / 3)
    # The floor holds even when the target would allow lower.
    assert fuzzy.choose_threshold(p, target_precision=0.5, floor=0.9)[0] == 0.95
    # Nothing can meet the target: nothing is accepted.
    assert fuzzy.choose_threshold(pl.Series([0.96, 0.95]), 0.995, 0.9) == (1.0, None)
    assert fuzzy.choose_threshold(pl.Series([], dtype=pl.Float64), 0.995, 0.9) == (1.0, None)


@pytest.fixture(scope="module")
def world() -> pl.DataFrame:
    people = population(seed=0, n_people=3000)
    cases = CASES.with_columns(person=pl.Series([-1, -1, -2, -3, -4, -5, -6, -7]),
                               kind=pl.lit("case"), noise=pl.lit(None, pl.String),
                               based_on=pl.lit(None, pl.Int64))  # fmt: skip
    return pl.concat([people, cases])


@pytest.fixture(scope="module")
def model(world: pl.DataFrame) -> dict:
    return fuzzy.train(world.select(COLUMNS))


@pytest.fixture(scope="module")
def full(world: pl.DataFrame, model: dict) -> fuzzy.MatchResult:
    return fuzzy.match(world.select(COLUMNS), model)


def test_accepted_pairs_are_precise_and_find_the_noisy_duplicates(
    world: pl.DataFrame, full: fuzzy.MatchResult
) -> None:
    truth = true_pairs(world)
    accepted = full.pairs.join(truth, on=["record_key_l", "record_key_r"], how="left")
    precision = accepted["same_cluster"].is_not_null().mean()
    # Pairs exact matching already joined are never scored; the rest are the matcher's job.
    missing = truth.filter(~pl.col("same_cluster"))
    found = missing.join(full.pairs, on=["record_key_l", "record_key_r"], how="semi")
    recall = found.height / missing.height
    # Measured: precision 1.0 over 811 pairs, recall 0.972 (811 of 834), threshold 0.910,
    # the model expecting a precision of 0.9985. The misses are mostly second records with
    # another email and a new address, and no phone on one side.
    assert precision >= 0.99, precision
    assert recall >= 0.9, recall
    assert not accepted["same_cluster"].any(), "a pair of one exact-match cluster was scored"
    assert full.threshold >= fuzzy.MIN_THRESHOLD
    assert full.expected_precision >= fuzzy.TARGET_PRECISION
    assert full.pairs["match_probability"].min() >= full.threshold


def test_housemates_and_namesakes_are_not_matched(world: pl.DataFrame,
                                                  full: fuzzy.MatchResult) -> None:  # fmt: skip
    who = world.select("record_key", "person", "kind", "based_on")
    pairs = (full.pairs.join(who, left_on="record_key_l", right_on="record_key")
             .join(who, left_on="record_key_r", right_on="record_key", suffix="_r"))  # fmt: skip
    # A housemate or namesake paired with any record of the person they were made from.
    lookalikes = pairs.filter((pl.col("based_on") == pl.col("person_r"))
                              | (pl.col("based_on_r") == pl.col("person")))  # fmt: skip
    assert lookalikes.height == 0, lookalikes
    keys = set(full.pairs["record_key_l"]) | set(full.pairs["record_key_r"])
    for household in ("case-daniel", "case-danielle", "case-carl", "case-carol"):
        assert household not in keys
    assert "case-twin-a" not in keys
    assert world.filter(pl.col("kind") == "housemate").height > 250  # the test has teeth
    # The guard on first names is what turns households away: the model alone scores them
    # as one person (a shared phone and home outweigh the first names).
    assert full.guarded["first names differ"] > 100
    assert full.guarded["contacts differ"] >= 1  # the twins


def test_evidence_names_the_fields_that_agreed(full: fuzzy.MatchResult) -> None:
    bob = full.pairs.filter(pl.col("record_key_l") == "case-bob").to_dicts()
    assert [(p["record_key_r"], p["evidence"]) for p in bob] == [(
        "case-robert",
        "first name nickname (bob~robert), last name exact, phone last 7, address exact",
    )]  # fmt: skip
    assert full.pairs["evidence"].str.contains("same inbox").any()
    assert full.pairs["evidence"].null_count() == 0


def test_incremental_run_returns_the_full_runs_pairs_of_new_records(
    world: pl.DataFrame, model: dict, full: fuzzy.MatchResult
) -> None:
    new = world["record_key"].sample(300, seed=1).append(pl.Series(["case-robert"]))
    got = fuzzy.match(world.select(COLUMNS), model, new=new, threshold=full.threshold)
    expected = full.pairs.filter(pl.col("record_key_l").is_in(new.implode())
                                 | pl.col("record_key_r").is_in(new.implode()))  # fmt: skip
    assert expected.height > 30
    assert_frame_equal(got.pairs, expected)


def test_same_input_same_output(world: pl.DataFrame, model: dict,
                                full: fuzzy.MatchResult) -> None:  # fmt: skip
    # Another row order; the model is a JSON document, and comes back from one unchanged.
    shuffled = world.select(COLUMNS).sample(fraction=1.0, shuffle=True, seed=7)
    again = fuzzy.train(shuffled)
    assert json.dumps(again, sort_keys=True) == json.dumps(model, sort_keys=True)
    rerun = fuzzy.match(shuffled, json.loads(json.dumps(model)))
    assert_frame_equal(rerun.pairs, full.pairs)
    assert (rerun.threshold, rerun.expected_precision) == (full.threshold,
                                                           full.expected_precision)
