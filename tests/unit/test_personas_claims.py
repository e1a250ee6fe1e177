"""A persona's name claims a trait only when at least half of the persona has it, judged per
customer by a stated rule; the card says each claimed trait's share; a name kept from an
earlier day is renamed when a claim no longer holds."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from personas_world import Kind, make_world

from pipelines.personas import cards
from pipelines.personas.features import build_features
from pipelines.personas.naming import CLAIM_SHARE, claims

DAY = date(2026, 6, 29)


def test_each_trait_is_judged_per_customer_by_its_rule():
    features = pl.DataFrame({
        "discount_share": [0.6, 0.2, None, 0.5],
        "is_europe": [1.0, 0.0, 1.0, 0.0],
        "units_per_line": [2.5, 1.0, 1.4, None],
        "avg_order_value": [10.0, 20.0, 30.0, 40.0],
        "shop_hour": [5.0, 23.5, 1.0, None],
        "lead_items": [4, 2, 0, 1], "lead_items__coffee_beans": [3, 0, 0, 1],
        "lead_items__mugs": [1, 2, 0, 0],
        "sessions": [0, 0, 0, 0],
    })
    held = cards.trait_holders(features)
    assert held.get_column("discount-driven").to_list() == [True, False, False, True]
    assert held.get_column("full-price").to_list() == [False, True, False, False]
    assert held.get_column("European").to_list() == [True, False, True, False]
    assert held.get_column("bulk-buying").to_list() == [True, False, False, False]
    assert held.get_column("single-item").to_list() == [False, True, False, False]
    # The thirds of everyone: 30 and 40 are over two thirds of the way (30.0 is the quantile).
    assert held.get_column("big-basket").to_list() == [False, False, True, True]
    assert held.get_column("early-bird").to_list() == [True, False, False, False]
    assert held.get_column("late-night").to_list() == [False, True, True, False]
    assert held.get_column("coffee bean buyers").to_list() == [True, False, False, True]
    assert held.get_column("mug buyers").to_list() == [False, True, False, False]


def test_a_kept_name_whose_claim_no_longer_holds_is_named_again():
    inputs, truth = make_world(customers_per_kind=60, seed=3, end=DAY)
    features = build_features(inputs, DAY)
    ids = np.array([truth[k] + 1 for k in features.get_column("customer_key")])
    table = cards.traits(features, ids)
    # Yesterday's names: one that still holds, one claiming what under half have.
    fresh, _ = cards.name_personas(features, ids, table, {})
    known = {1: fresh[1], 2: "European mobile shoppers"}
    names, merges = cards.name_personas(features, ids, table, known)
    assert names[1] == fresh[1] and names[2] != "European mobile shoppers" and not merges
    shares = cards.claim_shares(cards.trait_holders(features), ids)
    assert shares[2]["European"] < CLAIM_SHARE


# (Some discount codes in every kind: the world's frames infer a code's type from its rows.)
KINDS = st.builds(
    Kind,
    hour=st.floats(0, 23.9), discount=st.floats(0.3, 1), tier=st.floats(0, 1),
    category=st.integers(0, 2), units=st.integers(1, 4), mobile=st.floats(0, 1),
    europe=st.floats(0, 1), rate=st.sampled_from([1 / 10, 1 / 30]),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(KINDS, min_size=2, max_size=3), st.integers(0, 1000))
def test_no_claimed_trait_is_under_half_whatever_the_customers(kinds, seed):
    inputs, truth = make_world(customers_per_kind=25, seed=seed, end=DAY, days=120,
                               kinds=tuple(kinds))
    features = build_features(inputs, DAY)
    ids = np.array([truth[k] + 1 for k in features.get_column("customer_key")])
    table = cards.traits(features, ids)
    names, merges = cards.name_personas(features, ids, table, {})
    for source, target in merges.items():
        ids[ids == source] = target
    shares = cards.claim_shares(cards.trait_holders(features), ids)
    for persona_id, name in names.items():
        for claim in claims(name):
            assert shares[persona_id][claim] >= CLAIM_SHARE, (name, claim)
    profile = cards.profiles(features, ids, names, cards.traits(features, ids),
                             pl.DataFrame(schema={"persona_id": pl.Int64,
                                                  "best_send_hour": pl.Int32}))
    weakest = profile.get_column("weakest_claim_share").drop_nulls()
    assert (weakest >= CLAIM_SHARE).all()
