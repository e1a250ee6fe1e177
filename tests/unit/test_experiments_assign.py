"""Holdout assignment as pure functions: the experiment id, the hash, new rows, who left."""

from __future__ import annotations

import hashlib
import math
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.experiments.assign import (
    Experiment,
    arms,
    empty,
    experiment_id,
    follow_aliases,
    held_out,
    mark_left,
    new_assignments,
)

SALT = "marketing-pipelines"
DAY = date(2026, 10, 31)


def reference(key: str, eid: str, holdout: float, salt: str = SALT) -> bool:
    """The contract's rule, written plainly with hashlib."""
    digest = hashlib.sha256(f"{salt}|{eid}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < holdout


def winback(holdout: float = 0.1, audience: str = "churn_risk") -> Experiment:
    return Experiment(experiment_id("winback", holdout), "winback", audience, holdout, 28, SALT)


@pytest.mark.parametrize(("share", "expected"), [
    (0.1, "winback__h10"), (0.125, "winback__h12_5"), (0.5, "winback__h50"),
    (0.05, "winback__h5"), (0.333, "winback__h33_3"), (0.0001, "winback__h0_01"),
])
def test_experiment_id_carries_the_share(share, expected):
    assert experiment_id("winback", share) == expected


def test_held_out_follows_the_contracts_hash_and_is_deterministic():
    keys = pl.Series("customer_key", [f"c{i}" for i in range(2000)])
    first = held_out(keys, "winback__h10", 0.1, SALT)
    assert first.to_list() == [reference(k, "winback__h10", 0.1) for k in keys]
    assert first.equals(held_out(keys, "winback__h10", 0.1, SALT))
    # A different salt draws a different holdout.
    assert not first.equals(held_out(keys, "winback__h10", 0.1, "other"))


def test_held_out_share_is_within_a_binomial_bound_on_20k_keys():
    n, share = 20_000, 0.1
    keys = pl.Series("customer_key", [f"key-{i:06d}" for i in range(n)])
    count = int(held_out(keys, "winback__h10", share, SALT).sum())
    bound = 4 * math.sqrt(n * share * (1 - share))  # 4 sd: fails by chance 1 in 15,000
    assert abs(count - n * share) < bound, count


def test_held_out_is_independent_across_experiments():
    n = 20_000
    keys = pl.Series("customer_key", [f"key-{i:06d}" for i in range(n)])
    a = held_out(keys, "winback__h10", 0.1, SALT)
    b = held_out(keys, "reviews__h10", 0.1, SALT)
    both = int((a & b).sum())
    # Independent draws overlap on about n * 0.1 * 0.1 = 200 people (sd about 14).
    assert abs(both - 200) < 4 * math.sqrt(n * 0.01 * 0.99), both


@settings(max_examples=40, deadline=None)
@given(share=st.floats(min_value=0.01, max_value=0.5), name=st.from_regex(r"[a-z][a-z0-9_]{0,12}",
                                                                          fullmatch=True))
def test_held_out_share_property(share, name):
    """For any share and experiment, the held-out share of 4,000 keys is within 4 sd, and each
    key's arm is the contract's hash."""
    n = 4000
    keys = pl.Series("customer_key", [f"p{i}" for i in range(n)])
    eid = experiment_id(name, share)
    drawn = held_out(keys, eid, share, SALT)
    assert abs(drawn.sum() - n * share) < 4 * math.sqrt(n * share * (1 - share)) + 1
    sample = list(range(0, n, 397))
    assert [drawn[i] for i in sample] == [reference(keys[i], eid, share) for i in sample]


def test_new_assignments_enters_only_people_not_yet_assigned():
    experiment = winback()
    first = new_assignments(experiment, pl.Series(["b", "a", "c", "a"]), empty(), DAY, "run-1")
    assert first.get_column("customer_key").to_list() == ["a", "b", "c"]
    assert first.get_column("arm").to_list() == [
        "holdout" if reference(k, experiment.id, 0.1) else "treatment" for k in "abc"]
    assert first.schema == empty().schema
    later = date(2026, 11, 1)
    second = new_assignments(experiment, pl.Series(["a", "d"]), first, later, "run-2")
    assert second.get_column("customer_key").to_list() == ["d"]
    assert second.get_column("entered_on").to_list() == [later]
    assert new_assignments(experiment, pl.Series(["a"]), first, later, "run-2").is_empty()


def test_the_recorded_arm_wins_over_the_hash():
    """Rows are never re-drawn: a person recorded as held out stays so whatever the hash says
    (a salt changed since, say), and anyone unrecorded gets the hash's arm."""
    experiment = winback()
    recorded = new_assignments(experiment, pl.Series(["a", "b"]), empty(), DAY, "run-1")
    flipped = recorded.with_columns(
        arm=pl.when(pl.col("arm") == "holdout").then(pl.lit("treatment"))
        .otherwise(pl.lit("holdout")))
    held = arms(experiment, pl.Series(["c", "b", "a"]), flipped)
    assert held.to_list() == [reference("c", experiment.id, 0.1),
                              not reference("b", experiment.id, 0.1),
                              not reference("a", experiment.id, 0.1)]


def test_a_changed_share_is_a_new_experiment():
    people = pl.Series([f"c{i}" for i in range(300)])
    tenth = new_assignments(winback(0.1), people, empty(), DAY, "run-1")
    fifth = winback(0.2)
    assert fifth.id == "winback__h20" != tenth.get_column("experiment_id")[0]
    again = new_assignments(fifth, people, tenth, date(2026, 11, 1), "run-2")
    # Everyone enters the new experiment afresh, on the day the share changed.
    assert again.height == 300 and set(again.get_column("entered_on")) == {date(2026, 11, 1)}
    assert again.get_column("arm").to_list() == [
        "holdout" if reference(k, "winback__h20", 0.2) else "treatment"
        for k in sorted(people)]


def test_mark_left_by_reason_in_order_and_once():
    experiment = winback()
    rows = new_assignments(experiment, pl.Series(["a", "b", "c", "d", "e"]), empty(), DAY, "r1")
    later = date(2026, 11, 2)
    marked = mark_left(rows, later, erased=pl.Series(["a", "b"], dtype=pl.String),
                       unsubscribed=pl.Series(["b", "c"]), emailed_audiences={"churn_risk"},
                       current=pl.Series(["a", "b", "c", "e"]))
    assert dict(zip(marked.get_column("customer_key"), marked.get_column("left_reason"),
                    strict=True)) == {"a": "erased", "b": "erased", "c": "unsubscribed",
                                      "d": "merged", "e": None}
    assert marked.filter(pl.col("left_reason").is_not_null()).get_column(
        "left_on").unique().to_list() == [later]
    # Seen again later, a leaver keeps their first reason and day.
    again = mark_left(marked, date(2026, 11, 9), erased=pl.Series(["c", "d"]),
                      unsubscribed=pl.Series([], dtype=pl.String), emailed_audiences=set(),
                      current=pl.Series(["x"]))
    assert_frame_equal(again.filter(pl.col("customer_key") != "e"),
                       marked.filter(pl.col("customer_key") != "e"))
    assert again.filter(pl.col("customer_key") == "e").get_column("left_reason")[0] == "merged"


def test_unsubscribing_counts_only_for_an_emailed_audience():
    rows = new_assignments(winback(audience="top_ltv_seed"), pl.Series(["a"]), empty(), DAY, "r")
    marked = mark_left(rows, DAY, erased=pl.Series([], dtype=pl.String),
                       unsubscribed=pl.Series(["a"]), emailed_audiences={"churn_risk"},
                       current=pl.Series(["a"]))
    assert marked.get_column("left_reason").to_list() == [None]


def test_an_assignment_follows_its_key_through_a_merge():
    """A merged person keeps the arm they were drawn into, under their live key; where both
    parts were assigned, the live key's row stands and the alias's is left to mark_left."""
    experiment = winback()
    rows = pl.concat([
        new_assignments(experiment, pl.Series(["old", "kept", "gone"]), empty(), DAY, "r1"),
        new_assignments(experiment, pl.Series(["late"]), empty(), date(2026, 11, 1), "r2"),
    ])  # fmt: skip
    aliases = pl.DataFrame({"alias_key": ["old", "gone", "late"],
                            "customer_key": ["new", "kept", "new"]})  # fmt: skip
    moved = follow_aliases(rows, aliases)
    keys = dict(zip(moved["run_id"] + ":" + rows["customer_key"], moved["customer_key"],
                    strict=True))  # fmt: skip
    # "old" entered first of the two aliases of "new": it moves, with its arm; "late" stays.
    assert keys == {"r1:old": "new", "r1:kept": "kept", "r1:gone": "gone", "r2:late": "late"}
    assert moved["arm"].to_list() == rows["arm"].to_list()
    marked = mark_left(moved, date(2026, 11, 2), erased=pl.Series([], dtype=pl.String),
                       unsubscribed=pl.Series([], dtype=pl.String), emailed_audiences=set(),
                       current=pl.Series(["new", "kept"]))
    left = dict(zip(marked["customer_key"], marked["left_reason"], strict=True))
    assert left == {"new": None, "kept": None, "gone": "merged", "late": "merged"}
    assert follow_aliases(moved, aliases).equals(moved)
