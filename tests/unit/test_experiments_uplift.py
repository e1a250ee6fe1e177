"""The uplift learner, its Qini curves, and the uplift scores it writes (or does not)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.experiments import learner, uplift
from pipelines.experiments.qini import qini, true_gain
from pipelines.ml import registry
from pipelines.ml.scores import DDL, long_scores, pivot_sql

TODAY = date(2026, 3, 1)
ENTRY = date(2026, 1, 5)


def responders(seed: int, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Units of a randomised test where only people with x1 > 0 respond (+0.6 orders), and
    the base rate rises with x2 alone: ranking by the base rate (the outcome's level) finds
    nobody in particular; ranking by effect must put x1 > 0 first. Returns the units and each
    one's true effect."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n))
    treated = rng.random(n) < 0.7
    effect = np.where(x1 > 0, 0.6, 0.0)
    base = np.exp(-0.5 + 0.8 * x2)
    y = rng.poisson(base + effect * treated).astype(float)
    units = pl.DataFrame({"customer_key": [f"c{i}" for i in range(n)], "x1": x1, "x2": x2,
                          "x3": x3, "is_treated": treated, "y": y})
    return units, effect


def test_the_learner_ranks_the_responders_first_on_a_known_heterogeneous_effect():
    units, _ = responders(1, 6000)
    model = learner.fit(units, ("x1", "x2", "x3"), "y")
    fresh, effect = responders(2, 4000)
    score, contributions = model.predict(fresh)
    top = np.argsort(-score)[: len(score) * 3 // 10]
    assert (effect[top] > 0).mean() > 0.9  # half the people respond
    # The contributions add up to the uplift, so the reasons explain the score given.
    np.testing.assert_allclose(contributions.sum(axis=1), score, rtol=1e-4, atol=1e-4)
    # Targeting by the outcome's level (who orders most anyway) gains far less.
    base_rank = fresh.get_column("x2").to_numpy()
    assert true_gain(effect, score, 0.3) > 1.5 * true_gain(effect, base_rank, 0.3)


def test_the_two_model_learner_is_there_to_measure_against():
    units, _ = responders(1, 3000)
    model = learner.fit(units, ("x1", "x2", "x3"), "y", method="t")
    assert set(model.boosters) == {"outcome_treated", "outcome_holdout"}
    with pytest.raises(ValueError, match="method must be"):
        learner.fit(units, ("x1",), "y", method="s")


def test_the_learner_refuses_units_of_one_arm():
    units, _ = responders(1, 200)
    with pytest.raises(ValueError, match="both arms"):
        learner.fit(units.with_columns(is_treated=pl.lit(True)), ("x1",), "y")


def test_a_perfect_ranking_has_a_positive_qini_and_random_rankings_average_zero():
    units, effect = responders(3, 20000)
    y, t = units.get_column("y").to_numpy(), units.get_column("is_treated").to_numpy()
    perfect = qini(y, t, effect + units.get_column("x1").to_numpy() * 1e-9)
    rng = np.random.default_rng(0)
    noise = [qini(y, t, rng.random(len(y))).qini for _ in range(50)]
    assert perfect.qini > 0.05
    assert abs(np.mean(noise)) < 3 * np.std(noise) / np.sqrt(50)
    assert perfect.qini > np.max(noise)
    # At 100% the curve is the average effect; treating nobody gains nothing.
    average = y[t].mean() - y[~t].mean()
    assert perfect.gain[0] == 0 and perfect.gain[-1] == pytest.approx(average)
    assert perfect.gain_at(0.5) > average * 0.5


def test_tied_scores_are_one_block_so_a_constant_ranks_as_random():
    y = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 0.0])
    t = np.array([True, False, True, False, True, False])
    flat = qini(y, t, np.zeros(6))
    assert flat.qini == pytest.approx(0.0)
    assert list(flat.fraction) == [0.0, 1.0]
    # Hand-worked: top 2 = (t: 1, c: 0) gain 1 * 2/6; all = (4/3 - 0) * 1.
    ranked = qini(y, t, np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0]))
    assert ranked.gain[2] == pytest.approx(1 * 2 / 6)
    assert ranked.gain[-1] == pytest.approx(4 / 3)


def test_qini_refuses_units_of_one_arm_and_scores_that_are_not_numbers():
    with pytest.raises(ValueError, match="both arms"):
        qini(np.ones(3), np.ones(3, dtype=bool), np.arange(3.0))
    with pytest.raises(ValueError, match="numbers"):
        qini(np.ones(2), np.array([True, False]), np.array([1.0, np.nan]))


def test_evaluate_targeting_reports_every_ranking_and_random():
    units, effect = responders(4, 5000)
    y, t = units.get_column("y").to_numpy(), units.get_column("is_treated").to_numpy()
    figures = uplift.evaluate_targeting(y, t, {"truth": effect, "level": units["x2"].to_numpy()},
                                        random_orders=20)
    assert set(figures) == {"truth", "level", "random"}
    assert figures["truth"]["qini"] > figures["level"]["qini"]
    assert figures["truth"]["qini"] > figures["random"]["qini"] + 3 * figures["random"]["qini_sd"]


def snapshot(day: date, keys: list[str], rng: np.random.Generator) -> pl.DataFrame:
    """A `marts.customer_features` cutoff with every column the uplift (churn) features need."""
    n = len(keys)
    last = rng.integers(1, 300, n)
    tenure = last + rng.integers(0, 400, n)
    count = rng.integers(1, 8, n)
    frame = pl.DataFrame({
        "customer_key": keys, "as_of_date": [day] * n,
        "days_since_last_order": last, "tenure_days": tenure, "orders_count": count,
        "purchase_days": count.astype(np.int32), "repeat_order_value": rng.gamma(2, 30, n),
        "is_email_subscribed": rng.random(n) < 0.5,
    })
    numeric = [f for f in uplift.FEATURES if f not in frame.columns
               and f not in ("p_alive", "expected_orders_90d")]
    return frame.with_columns(pl.Series(f, rng.gamma(1.0, 2.0, n)) for f in numeric)


def shop(seed: int = 0, n: int = 3000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two feature cutoffs (one before the units entered, one today) and a completed
    experiment where only subscribed people respond to the campaign."""
    rng = np.random.default_rng(seed)
    keys = [f"k{i:05d}" for i in range(n)]
    features = pl.concat([snapshot(ENTRY - timedelta(days=4), keys, rng),
                          snapshot(TODAY, keys, rng)])
    entry = features.filter(pl.col("as_of_date") < ENTRY)
    subscribed = entry.get_column("is_email_subscribed").to_numpy()
    treated = rng.random(n) < 0.8
    orders = rng.poisson(0.3 + 0.8 * (subscribed & treated))
    units = pl.DataFrame({
        "experiment_id": ["winback__h20"] * n, "customer_key": keys,
        "arm": np.where(treated, "treatment", "holdout"), "entered_on": [ENTRY] * n,
        "outcome_days": [28] * n, "orders": orders, "left_on": [None] * n,
        # The readouts' units carry outcomes named like features: never learnt from.
        "revenue": orders * 40.0, "pre_orders": rng.poisson(1.0, n),
    }, schema_overrides={"left_on": pl.Date, "revenue": pl.Decimal(18, 2)})
    return units, features


def test_uplift_scores_every_customer_today_and_the_responders_fill_the_top_deciles(tmp_path):
    units, features = shop()
    rows, card, note = uplift.score(units, features, TODAY, tmp_path)
    assert rows.height == 3000 and set(rows.get_column("model")) == {"uplift"}
    assert sorted(rows.get_column("decile").unique()) == list(range(1, 11))
    assert rows.get_column("reason_1").null_count() == 0
    today = features.filter(pl.col("as_of_date") == TODAY).select("customer_key",
                                                                 "is_email_subscribed")
    top = rows.filter(pl.col("decile") >= 8).join(today, on="customer_key")
    assert top.get_column("is_email_subscribed").mean() > 0.95
    assert card.metrics["uplift"]["qini"] > card.metrics["churn"]["qini"]
    assert card.metrics["churn"]["ranking"] == "days since the last order"
    assert card.feature_types["revenue"] == str(features.schema["revenue"])
    gap = card.metrics["uplift"]["versus_churn"]
    assert 0 < gap["low"] < gap["difference"] < gap["high"]
    assert "ranks better than targeting by churn risk" in note
    assert registry.decision(tmp_path, "uplift")["version"] == card.version
    # A rerun on the same units reuses the registered version and gives the same scores.
    again, card_again, _ = uplift.score(units, features, TODAY, tmp_path)
    assert card_again.version == card.version
    assert again.equals(rows)


def test_no_completed_experiment_gives_no_uplift_scores_and_says_so(tmp_path):
    units, features = shop(n=400)
    for absent, why in ((None, "no experiment has run"),
                        (units.head(0), "no experiment has completed")):
        rows, card, note = uplift.score(absent, features, TODAY, tmp_path)
        assert rows.height == 0 and card is None
        assert why in note and "uplift_decile is empty" in note
    assert not (tmp_path / "uplift").exists()


def test_too_few_held_out_units_train_nothing_and_say_how_many(tmp_path):
    units, features = shop(n=400)
    few = units.with_columns(arm=pl.when(pl.col("customer_key") < "k00020")
                             .then(pl.lit("holdout")).otherwise(pl.lit("treatment")))
    rows, card, note = uplift.score(few, features, TODAY, tmp_path)
    assert rows.height == 0 and card is None
    assert "held-out units; the uplift model needs at least 50 of each" in note


def test_read_units_keeps_complete_windows_of_people_still_in_the_experiment():
    con = duckdb.connect()
    assert uplift.read_units(con) is None
    con.execute("create schema intermediate")
    # The table was built by the day before's run: e's window ends today, so its orders are
    # only yesterday's and the table says it is not complete yet.
    con.execute("""create table intermediate.int_experiments__units as select * from (values
        ('e__h10', 'a', 'treatment', date '2026-01-01', 28, 1, true, null::date),
        ('e__h10', 'b', 'holdout', date '2026-02-01', 28, 0, true, null::date),
        ('e__h10', 'c', 'holdout', date '2026-02-02', 28, 0, false, null::date),
        ('e__h10', 'd', 'treatment', date '2026-01-01', 28, 2, true, date '2026-01-10'),
        ('e__h10', 'e', 'treatment', date '2026-02-01', 28, 0, false, null::date))
        as t(experiment_id, customer_key, arm, entered_on, outcome_days, orders, is_complete,
             left_on)""")
    units = uplift.read_units(con)
    assert sorted(units.get_column("customer_key")) == ["a", "b"]


def test_the_customer_frame_carries_uplift_columns_before_any_uplift_score():
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute(DDL)
    churn = long_scores("churn", "v1", TODAY, pl.Series(["a", "b"]), pl.Series([0.2, 0.9]),
                        [["r"], ["r"]])
    con.register("churn_rows", churn.to_arrow())
    con.execute("insert into ml.scores by name select * from churn_rows")
    frame = con.sql(pivot_sql()).pl()
    assert frame.get_column("uplift_decile").null_count() == 2
    assert {"uplift_score", "uplift_reason_1"} <= set(frame.columns)


def test_the_scores_suite_lets_an_uplift_fall_below_zero_but_not_a_churn_risk():
    from pathlib import Path

    from pipelines.quality.suites import load_suite
    from pipelines.quality.validate import validate_frame

    suite = load_suite(Path(__file__).resolve().parents[2] / "expectations" / "scores.json")
    keys = pl.Series(["a", "b"])
    rows = pl.concat([
        long_scores("churn", "v", TODAY, keys, pl.Series([0.1, 0.5]), [["r"], ["r"]]),
        long_scores("uplift", "v", TODAY, keys, pl.Series([-0.1, 0.5]), [["r"], ["r"]]),
    ])
    assert [o for o in validate_frame(rows, suite) if not o.success] == []
    negative_churn = rows.with_columns(
        score=pl.when(pl.col("model") == "churn").then(-0.2).otherwise(pl.col("score")))
    failed = {o.expectation_type for o in validate_frame(negative_churn, suite) if not o.success}
    assert "expect_column_values_to_be_between" in failed


def test_true_gains_compare_rankings_at_the_same_audience_size():
    effect = np.array([0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0])
    gains = uplift.true_gains(effect, {"truth": effect, "backwards": -effect}, share=0.3)
    assert gains == {"truth": 6.0, "backwards": 0.0, "random": pytest.approx(1.8)}


def test_the_version_in_use_scores_until_it_is_a_retrain_period_old(tmp_path):
    units, features = shop(n=2000)
    _, first, _ = uplift.score(units, features, TODAY, tmp_path)
    # More units completed since: the version in use keeps scoring within the week...
    grown = pl.concat([units, units.with_columns(experiment_id=pl.lit("later__h20"))])

    def on(day: date) -> pl.DataFrame:  # the snapshots so far and one more on `day`
        newest = features.filter(pl.col("as_of_date") == TODAY)
        return pl.concat([features, newest.with_columns(as_of_date=pl.lit(day))])

    _, kept, _ = uplift.score(grown, on(TODAY + timedelta(days=3)), TODAY + timedelta(days=3),
                              tmp_path)
    assert kept.version == first.version
    # ...and a week on, a new version learns from them all.
    _, retrained, _ = uplift.score(grown, on(TODAY + timedelta(days=7)),
                                   TODAY + timedelta(days=7), tmp_path)
    assert retrained.version != first.version
    assert retrained.metrics["experiments"] == 2


def test_rankings_that_cannot_be_told_apart_get_an_interval_across_zero():
    units, _ = responders(5, 600)
    y, t = units.get_column("y").to_numpy(), units.get_column("is_treated").to_numpy()
    x3 = units.get_column("x3").to_numpy()  # unrelated to the effect, as is its negation
    figures = uplift.evaluate_targeting(y, t, {"a": x3, "b": -x3}, random_orders=5, versus="b")
    gap = figures["a"]["versus_b"]
    assert gap["low"] < 0 < gap["high"]
    assert gap["difference"] == pytest.approx(figures["a"]["qini"] - figures["b"]["qini"])
    assert "versus_b" not in figures["b"]


def test_the_step_on_a_warehouse_without_experiments_scores_nothing_and_says_so(tmp_path):
    from pipelines.config import Settings
    from pipelines.warehouse import work_connection

    settings = Settings(home=tmp_path / "data", duckdb_memory_limit="1GB", duckdb_threads=1)
    summary = uplift.score_uplift(settings, TODAY, "run-1")
    assert summary["scored"] == 0 and summary["version"] is None
    assert summary["note"].startswith("no uplift scores: there is no ")
    with work_connection(settings) as con:
        assert con.sql("select count(*) from ml.scores").fetchall() == [(0,)]
        assert con.sql("select count(*) from ml.model_runs").fetchall() == [(0,)]
