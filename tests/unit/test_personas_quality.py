"""Persona quality whatever the shop: no invented personas where the data has no structure (the
RFM segments instead, with a message), unique unnumbered names, a "what sets it apart" on
every card, no persona of customers who spent nothing, and only features the shop has."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from personas_world import KINDS, make_world

from pipelines.config import PersonaSettings
from pipelines.personas import cards, fallback
from pipelines.personas.features import build_features, email_reads
from pipelines.personas.model import ModelSpec
from pipelines.personas.personas import _components, find_personas
from pipelines.personas.select import KScore, choose_k, decided

DAY = date(2026, 6, 29)
PARAMS = PersonaSettings(k_min=3, k_max=4, bootstraps=4, selection_sample=2000, workers=1)


def rfm_of(features: pl.DataFrame) -> pl.DataFrame:
    segments = ["loyal" if i % 3 else "lost" for i in range(features.height)]
    return pl.DataFrame({"customer_key": features["customer_key"], "rfm_segment": segments})


@pytest.fixture(scope="module")
def shapeless():
    """One kind of customer only: nothing to tell apart."""
    inputs, _ = make_world(customers_per_kind=300, seed=5, end=DAY, kinds=(KINDS[0],))
    features = build_features(inputs, DAY)
    result = find_personas(features, email_reads(inputs, DAY), None, PARAMS, DAY,
                           rfm_of(features))
    return features, result


def test_data_without_clusters_gets_the_rfm_segments_and_says_so(shapeless):
    features, result = shapeless
    assert result.source == "rfm" and result.state.kind == "rfm"
    assert not result.state.selection["found"]
    assert all(s["stability"] < PARAMS.min_stability for s in result.state.selection["scores"])
    assert result.message.startswith("No persona structure")
    assert "RFM segments" in result.message
    assert set(result.profiles.get_column("persona_name")) == {"Loyal customers", "Lost"}
    assert result.labels.height == features.height
    lost = result.labels.join(rfm_of(features), on="customer_key")
    assert (lost.filter(pl.col("rfm_segment") == "lost").get_column("persona_name") == "Lost").all()
    apart = result.profiles.get_column("what_sets_it_apart").to_list()
    assert apart[0].startswith(fallback.definition("loyal")) or apart[0].startswith(
        fallback.definition("lost")
    )


def test_the_fallback_lasts_until_the_next_choice_of_k(shapeless):
    features, first = shapeless
    inputs, _ = make_world(customers_per_kind=300, seed=5, end=DAY, kinds=(KINDS[0],))
    nxt = DAY + timedelta(days=1)
    second = find_personas(features, email_reads(inputs, DAY), first.state, PARAMS, nxt,
                           rfm_of(features))
    assert second.source == "rfm" and second.warm
    assert second.state.names == first.state.names
    assert second.moved_share == 0.0


def test_the_fallback_needs_the_rfm_segments(shapeless):
    features, _ = shapeless
    inputs, _ = make_world(customers_per_kind=300, seed=5, end=DAY, kinds=(KINDS[0],))
    with pytest.raises(ValueError, match="no RFM segments"):
        find_personas(features, email_reads(inputs, DAY), None, PARAMS, DAY)


def test_an_unknown_rfm_segment_is_named():
    features = pl.DataFrame({"customer_key": ["a", "b"]})
    rfm = pl.DataFrame({"customer_key": ["a", "b"], "rfm_segment": ["loyal", "whales"]})
    with pytest.raises(ValueError, match="whales"):
        fallback.rfm_groups(features, rfm)


def test_customers_whose_orders_net_to_nothing_get_no_persona():
    inputs, truth = make_world(customers_per_kind=70, seed=3, end=DAY)
    refunded = [k for k in truth if k.endswith(("0", "5"))]
    orders = inputs.orders.with_columns(
        refunded_amount=pl.when(pl.col("customer_key").is_in(refunded))
        .then(pl.col("amount"))
        .otherwise(pl.col("refunded_amount"))
    )
    inputs = type(inputs)(inputs.customers, orders, inputs.lines, inputs.sessions,
                          inputs.email_events)
    features = build_features(inputs, DAY)
    params = PersonaSettings(k_min=2, k_max=4, bootstraps=4, selection_sample=2000, workers=1)
    result = find_personas(features, email_reads(inputs, DAY), None, params, DAY,
                           rfm_of(features))
    assert result.left_out == len(refunded)
    assert not set(result.labels.get_column("customer_key")) & set(refunded)
    assert f"{len(refunded)} customers whose orders net to nothing" in result.message
    assert result.labels.height == features.height - len(refunded)


def test_every_card_has_a_unique_unnumbered_name_and_says_what_sets_it_apart():
    inputs, _ = make_world(customers_per_kind=70, seed=3, end=DAY)
    params = PersonaSettings(k_min=2, k_max=5, bootstraps=4, selection_sample=2000, workers=1)
    result = find_personas(build_features(inputs, DAY), email_reads(inputs, DAY), None, params,
                           DAY)
    names = result.profiles.get_column("persona_name").to_list()
    assert len(set(names)) == len(names)
    assert not any(n.split()[-1].isdigit() for n in names)
    apart = result.profiles.get_column("what_sets_it_apart").to_list()
    assert all(apart)
    for name, text in zip(names, apart, strict=True):  # an hour in the name is explained
        if any(p in name for p in ("early-bird", "evening", "late-night")):
            assert "usual local shopping hour" in text
    assert any("usual local shopping hour" in text for text in apart)
    assert result.source == "model" and "latent class model" in result.message


def test_personas_no_trait_tells_apart_are_merged():
    inputs, truth = make_world(customers_per_kind=70, seed=3, end=DAY)
    features = build_features(inputs, DAY)
    kind = np.array([truth[k] for k in features.get_column("customer_key")])
    # Kind 0 cut in two at random: the halves differ in nothing describable.
    halves = np.random.default_rng(0).random(len(kind)) < 0.5
    ids = np.where(kind == 0, np.where(halves, 1, 2), kind + 2)
    names, merges = cards.name_personas(features, ids, cards.traits(features, ids), {})
    assert merges == {2: 1}
    assert set(names) == {1, 3, 4}


def test_a_persona_near_the_typical_customer_still_says_how_it_differs():
    table = pl.DataFrame({
        "persona_id": [1, 1], "rank": [1, 2], "smd": [0.25, -0.1],
        "description": ["average order value 30 vs 27", "units per product 1.2 vs 1.3"],
    })
    apart = cards.what_sets_apart(table, 1)
    assert apart == (f"{cards.NEAR_TYPICAL}; average order value 30 vs 27; "
                     "units per product 1.2 vs 1.3")


def test_components_too_small_to_describe_give_their_customers_away():
    resp = np.array([[0.9, 0.1, 0.0]] * 6 + [[0.2, 0.3, 0.5]] * 2 + [[0.1, 0.8, 0.1]] * 5)
    labels = _components(resp)
    assert set(labels) == {0, 1}
    assert (labels[6:8] == 1).all()  # their next most likely


def test_only_the_features_a_shop_has_take_part():
    inputs, _ = make_world(customers_per_kind=40, seed=2, end=DAY)
    orders_only = type(inputs)(
        inputs.customers.with_columns(nps_score=None, main_device=None),
        inputs.orders.with_columns(discount_code=None, discount_amount=0.0),
        inputs.lines,
        inputs.sessions.clear(),
        inputs.email_events.clear(),
    )
    spec = ModelSpec.from_frame(build_features(orders_only, DAY))
    assert "log_avg_order_value" in spec.features and "shop_hour" in spec.features
    for absent in ("nps_score", "visit_channels", "read_hour", "discount", "main_device"):
        assert absent not in spec.features and absent in spec.unused()
    assert {t.name for t in spec.terms()} == set(spec.features)


def test_no_stable_separated_k_means_no_structure():
    scores = [KScore(3, 0.2, 0.4, 0.0, 10.0), KScore(4, -0.1, 0.9, 0.0, 5.0)]
    chosen = choose_k(scores, min_stability=0.8)
    assert not chosen.found and "k=4, reached 0.90" in chosen.rule


def test_stability_stops_resampling_once_the_decision_is_clear():
    assert not decided([0.2, 0.3, 0.25], 0.8)  # too few to judge
    assert decided([0.2, 0.3, 0.25, 0.22], 0.8)
    assert decided([0.95, 0.97, 0.96, 0.94], 0.8)
    assert not decided([0.7, 0.9, 0.75, 0.88], 0.8)  # within two standard errors of the bar


def test_the_report_shows_how_the_personas_were_found(tmp_path):
    from report_inputs import inputs

    from pipelines.config import Settings
    from pipelines.report.personas import section

    cards_table = pl.DataFrame({
        "persona_id": [1], "persona_name": ["Lost"], "customers": [3], "customer_share": [1.0],
        "revenue_share": [1.0], "avg_revenue_to_date": [10.0], "avg_ltv": [None],
        "avg_order_value": [5.0], "churn_risk": [None], "best_send_hour": [None],
        "top_channels": [None], "top_categories": [None], "nps": [None], "nps_responses": [0],
        "emailable_share": [0.0], "what_sets_it_apart": ["last bought longest ago; x 1 vs 2"],
        "persona_source": ["rfm"], "personas_note": ["No persona structure in these customers."],
    })
    html = section(inputs(Settings(home=tmp_path), {"reports.rpt_personas": cards_table})).html
    assert "<li>last bought longest ago</li><li>x 1 vs 2</li>" in html
    # How they were found is for analysts (it speaks of models and stability).
    assert "No persona structure in these customers." in html.split("<details", 1)[1]
