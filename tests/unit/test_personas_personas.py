"""A day's personas on a small shop with known kinds of customers: found, stable from one day
to the next, identical on a rerun, and named."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest
from personas_world import make_world
from sklearn.metrics import adjusted_rand_score

from pipelines.config import PersonaSettings
from pipelines.personas import state as persona_state
from pipelines.personas.features import build_features, email_reads
from pipelines.personas.personas import NotEnoughCustomersError, find_personas

DAY = date(2026, 6, 29)
# Two processes score the ks (see the test of identical personas).
PARAMS = PersonaSettings(k_min=2, k_max=5, bootstraps=2, selection_sample=2000, workers=2)


@pytest.fixture(scope="module")
def world():
    # Events up to the day after DAY: features as of DAY leave that last day out.
    return make_world(customers_per_kind=70, seed=3, end=DAY + timedelta(days=1))


@pytest.fixture(scope="module")
def first(world):
    inputs, _ = world
    return find_personas(build_features(inputs, DAY), email_reads(inputs, DAY), None, PARAMS, DAY)


def test_finds_the_kinds_of_customers_the_shop_has(world, first):
    _, truth = world
    labels = first.labels.sort("customer_key")
    planted = [truth[k] for k in labels.get_column("customer_key")]
    assert first.state.k == 3
    assert adjusted_rand_score(planted, labels.get_column("persona_id").to_list()) > 0.9
    assert first.profiles.height == 3
    assert first.profiles.get_column("persona_name").n_unique() == 3
    assert set(first.profiles.get_column("best_send_hour").to_list()) <= set(range(24))
    assert first.state.selection["scores"][0]["k"] == PARAMS.k_min


def test_names_say_what_sets_each_kind_apart(first):
    names = " | ".join(first.profiles.get_column("persona_name").to_list())
    assert "iscount-driven" in names  # the kind that uses a code on 70% of orders
    # four units of gift sets a line: the biggest baskets by far
    assert "ulk-buying" in names or "ig-basket" in names
    apart = first.profiles.get_column("what_sets_it_apart").to_list()
    assert all(apart) and all(" vs " in a for a in apart)
    assert first.traits.filter(pl.col("rank") == 1).height == 3


def test_the_same_data_twice_gives_identical_personas_in_one_process_or_two(world, first):
    inputs, _ = world
    serial = replace(PARAMS, workers=1)
    again = find_personas(build_features(inputs, DAY), email_reads(inputs, DAY), None, serial, DAY)
    assert again.state.selection == first.state.selection
    assert again.labels.equals(first.labels)
    assert again.profiles.equals(first.profiles)
    assert again.state.version == first.state.version


def test_one_more_day_moves_few_customers_and_keeps_ids_and_names(world, first, tmp_path):
    inputs, _ = world
    persona_state.save(tmp_path, first.state)
    previous = persona_state.load_before(tmp_path, DAY + timedelta(days=1))
    assert previous is not None and previous.version == first.state.version
    nxt = DAY + timedelta(days=1)
    second = find_personas(
        build_features(inputs, nxt), email_reads(inputs, nxt), previous, PARAMS, nxt
    )
    assert second.warm
    assert second.moved_share <= 0.05
    assert second.state.names == first.state.names
    assert second.state.selected_on == DAY


def test_a_new_choice_of_k_keeps_the_ids_of_personas_that_persist(world, first, tmp_path):
    inputs, _ = world
    later = DAY + timedelta(days=1)
    due = replace(PARAMS, refit_every_days=1)
    second = find_personas(
        build_features(inputs, later), email_reads(inputs, later), first.state, due, later
    )
    assert not second.warm
    assert second.state.selected_on == later
    assert second.moved_share <= 0.05
    assert second.state.names == first.state.names


def test_a_rerun_starts_from_the_day_before_never_from_itself(first, tmp_path):
    persona_state.save(tmp_path, first.state)
    assert persona_state.load_before(tmp_path, DAY) is None
    assert persona_state.load_before(tmp_path, DAY + timedelta(days=1)) is not None


def test_too_few_customers_is_an_error_that_says_so():
    inputs, _ = make_world(customers_per_kind=2, seed=1, end=DAY)
    with pytest.raises(NotEnoughCustomersError, match="too few"):
        find_personas(build_features(inputs, DAY), email_reads(inputs, DAY), None, PARAMS, DAY)


def test_a_script_without_a_main_guard_still_gets_its_scores(tmp_path):
    # Its spawned worker processes run the script again and fail to start: scoring falls back
    # to the script's own process instead of failing the day.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from functools import partial\n"
        "from pipelines.personas.select import KScore, score_ks\n"
        "score = partial(KScore, silhouette=0.1, stability=0.9, loglik=-1.0, bic=2.0)\n"
        "print([s.k for s in score_ks(score, [2, 3, 4], workers=2)])\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[2, 3, 4]"
    assert "scoring in one process" in done.stderr
