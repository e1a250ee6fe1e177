"""Churn labels, cutoffs, deciles, reasons and the registry's refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from pipelines.ml import registry
from pipelines.ml.explain import FAMILIES, phrase, story, top_reasons
from pipelines.ml.labels import active, churn_labels
from pipelines.ml.scores import deciles
from pipelines.ml.trainer import InsufficientHistoryError, due_for_training, split_cutoffs


def test_label_window_starts_after_the_cutoff_day_and_lasts_the_horizon():
    features = pl.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d"],
            "as_of_date": [date(2026, 1, 31)] * 4,
        }
    )
    orders = pl.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d"],
            "ordered_at": [
                datetime(2026, 1, 31, 23, 59, tzinfo=UTC),  # on the cutoff day: known, not future
                datetime(2026, 2, 1, 0, 0, tzinfo=UTC),  # first moment of the window
                datetime(2026, 5, 1, 23, 59, tzinfo=UTC),  # last day of a 90-day window
                datetime(2026, 5, 2, 0, 0, tzinfo=UTC),  # just after it
            ],
            "is_purchase": [True] * 4,
        }
    )
    labelled = churn_labels(features, orders, horizon_days=90).sort("customer_key")
    assert labelled.get_column("churned").to_list() == [True, False, False, True]


def test_validation_cutoff_is_newest_known_and_training_windows_close_before_it():
    cutoffs = [
        date(2026, 10, 31),
        date(2026, 10, 1),
        date(2026, 9, 1),
        date(2026, 8, 2),
        date(2026, 7, 3),
        date(2026, 6, 3),
        date(2026, 5, 4),
    ]
    training, validation = split_cutoffs(cutoffs, date(2026, 10, 31), horizon_days=90)
    assert validation == date(2026, 8, 2)
    assert training == [date(2026, 5, 4)]
    with pytest.raises(InsufficientHistoryError, match="days of order history"):
        split_cutoffs(cutoffs[:5], date(2026, 10, 31), horizon_days=90)


def test_active_means_bought_within_a_year():
    frame = pl.DataFrame({"orders_count": [0, 1, 3], "days_since_last_order": [None, 400, 20]})
    assert active(frame).height == 1


def test_deciles_put_the_riskiest_tenth_in_decile_ten_and_break_ties_by_key():
    p = pl.Series([0.1 * i for i in range(20)])
    keys = pl.Series([f"k{i:02d}" for i in range(20)])
    got = deciles(p, keys)
    assert got.to_list() == [i // 2 + 1 for i in range(20)]
    tied = deciles(pl.Series([0.5] * 10), pl.Series([f"k{i}" for i in range(9, -1, -1)]))
    assert_series_equal(tied, pl.Series("decile", list(range(10, 0, -1)), dtype=pl.Int32))


def test_reasons_are_the_strongest_pushes_in_words():
    features = ("days_since_last_order", "orders_count", "is_email_subscribed")
    values = pl.DataFrame(
        {"days_since_last_order": [120.0], "orders_count": [1.0], "is_email_subscribed": [0.0]}
    )
    contributions = np.array([[0.9, 0.1, 0.5, -0.3]])
    assert top_reasons(contributions, values, features) == [
        ["no order in 120 days", "not subscribed to email", "1 order in total"]
    ]
    assert phrase("avg_days_between_orders", None) == "only one order so far"


def test_reasons_do_not_repeat_the_same_story():
    features = ("days_since_last_order", "orders_90d", "revenue_90d", "orders_count", "tenure_days")
    values = pl.DataFrame(
        {
            "days_since_last_order": [150.0],
            "orders_90d": [0.0],
            "revenue_90d": [0.0],
            "orders_count": [2.0],
            "tenure_days": [400.0],
        }
    )
    contributions = np.array([[0.9, 0.8, 0.7, 0.2, 0.1, 0.0]])
    assert top_reasons(contributions, values, features) == [
        ["no order in 150 days", "2 orders in total", "customer for 400 days"]
    ]


def test_registry_refuses_a_model_whose_features_the_table_lacks_or_types_differ():
    card = registry.ModelCard(
        model="churn",
        version="v1",
        features=["a", "b"],
        feature_types={"a": "Int32", "b": "Float64"},
        training_cutoffs=[],
        validation_cutoff="",
        params={},
    )
    registry.check_features(card, {"a": "Int32", "b": "Float64", "c": "String"})
    with pytest.raises(registry.ModelMismatchError, match="b is missing"):
        registry.check_features(card, {"a": "Int32", "c": "Float64"})
    with pytest.raises(
        registry.ModelMismatchError, match="a is Float64, the model was trained on Int32"
    ):
        registry.check_features(card, {"a": "Float64", "b": "Float64"})


def test_registry_refuses_a_booster_changed_on_disk(tmp_path):
    import xgboost as xgb

    booster = xgb.train(
        {"objective": "binary:logistic"}, xgb.DMatrix(np.array([[0.0], [1.0]]), label=[0, 1]), 2
    )
    card = registry.ModelCard(
        model="churn",
        version="v1",
        features=["f0"],
        feature_types={},
        training_cutoffs=[],
        validation_cutoff="",
        params={},
    )
    folder = registry.save(tmp_path, card, booster)
    loaded, _ = registry.load(tmp_path, "churn", "v1")
    assert loaded.booster_sha256 == card.booster_sha256
    (folder / "booster.json").write_text((folder / "booster.json").read_text() + " ")
    with pytest.raises(registry.ModelMismatchError, match="does not match"):
        registry.load(tmp_path, "churn", "v1")


def test_the_current_model_scores_until_its_scheduled_retrain():
    card = registry.ModelCard(
        model="churn",
        version="v1",
        features=["a"],
        feature_types={"a": "Int32"},
        training_cutoffs=[],
        validation_cutoff="",
        params={},
        trained_for="2026-11-01",
    )
    a = {"a": "Int32"}
    assert due_for_training(None, date(2026, 11, 1), 7, a)
    assert not due_for_training(card, date(2026, 11, 1), 7, a)  # a rerun of the day
    assert not due_for_training(card, date(2026, 11, 7), 7, {**a, "b": "Int32"})
    assert due_for_training(card, date(2026, 11, 8), 7, a)  # a week old
    assert due_for_training(card, date(2026, 10, 31), 7, a)  # a backfill of an older day
    assert due_for_training(card, date(2026, 11, 2), 7, {"b": "Int32"})  # its features are gone
    assert due_for_training(card, date(2026, 11, 2), 7, {"a": "Float64"})  # changed type


def _reasons_by_walking(contributions, values, features, k, direction):
    """The plain definition: walk each row's features from strongest, one per family, a
    family whose strongest feature repeats a story already told saying nothing."""
    contrib = contributions[:, : len(features)]
    if direction == "both":
        contrib = np.abs(contrib)
    families = [FAMILIES.get(f, f) for f in features]
    out = []
    for row, ranked in enumerate(np.argsort(-contrib, axis=1, kind="stable")):
        seen, told, picked = set(), set(), []
        for j in ranked:
            if families[j] not in seen:
                seen.add(families[j])
                value = values.get_column(features[j])[row]
                if story(features[j], value) not in told:
                    told.add(story(features[j], value))
                    picked.append(phrase(features[j], value))
            if len(picked) == k:
                break
        out.append(picked)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=1, max_value=4),
    st.sampled_from(["up", "both"]),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_reason_columns_pick_what_walking_each_row_picks(n, k, direction, seed):
    rng = np.random.default_rng(seed)
    features = (
        "days_since_last_order",
        "orders_90d",
        "revenue_90d",
        "orders_count",
        "revenue",
        "is_email_subscribed",
        "nps_score",
        "p_alive",
    )
    # Few distinct values, so ties in contributions and repeated phrases both occur.
    contributions = rng.integers(-2, 3, size=(n, len(features) + 1)).astype(float)
    values = pl.DataFrame(
        {
            f: pl.Series(rng.integers(0, 4, n).astype(float)).replace(3.0, None)
            for f in features
        }
    )
    assert top_reasons(contributions, values, features, k, direction) == _reasons_by_walking(
        contributions, values, features, k, direction
    )
