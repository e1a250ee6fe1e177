"""Training, promotion and scoring of a model version, on small synthetic worlds where the
right answer is known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import xgboost as xgb

from pipelines.ml import registry, trainer
from pipelines.ml.scores import SCHEMA

DAY = date(2026, 10, 31)
CUTOFFS = [DAY - timedelta(days=30 * k) for k in range(8, -1, -1)]  # 240 days back to DAY

SPEC = trainer.ModelSpec(
    name="churn",
    kind="binary",
    features=("f1", "f2", "f3"),
    label="y",
    params={
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "max_depth": 3,
        "eta": 0.2,
        "seed": 0,
    },
    rounds=60,
    early_stopping=10,
)
NOISE = trainer.Baseline(
    "noise_rule",
    lambda frame: frame.get_column("f2").to_numpy(),
    lambda frame: [["a rule of thumb"]] * frame.height,
)


def world(
    seed: int, n: int = 600, train_driver: str = "f1", valid_mix: float = 0.0
) -> pl.DataFrame:
    """Customers at every cutoff; the outcome follows `train_driver` at the training cutoffs
    and f1 (plus `valid_mix` of f3) at the validation cutoff (the newest with a known 90-day
    outcome). f2 is noise, the baseline's rule."""
    rng = np.random.default_rng(seed)
    validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)[1]
    parts = []
    for cutoff in CUTOFFS:
        f1, f2, f3 = rng.normal(size=(3, n))
        noise = rng.normal(scale=0.7, size=n)
        driver = f1 + valid_mix * f3 if cutoff == validation else {"f1": f1, "f3": f3}[train_driver]
        parts.append(
            pl.DataFrame(
                {
                    "customer_key": [f"c{i:04d}" for i in range(n)],
                    "as_of_date": [cutoff] * n,
                    "f1": f1,
                    "f2": f2,
                    "f3": f3,
                    "y": driver + noise > 0,
                }
            )
        )
    return pl.concat(parts)


def labelled_from(frame: pl.DataFrame):
    def labelled():
        training, validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)
        rows = frame.filter(pl.col("as_of_date").is_in([*training, validation]))
        return trainer.Labelled(rows, training, validation, 90)

    return labelled


def current_of(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("as_of_date") == DAY).drop("y")


def run(frame: pl.DataFrame, models, day: date = DAY, baseline=NOISE) -> trainer.Outcome:
    return trainer.run(
        SPEC,
        [baseline],
        current_of(frame),
        labelled_from(frame),
        day,
        models,
        threads=1,
        retrain_every_days=7,
        tolerance=0.01,
    )


def test_a_first_model_that_beats_its_baseline_is_promoted_and_scores(tmp_path):
    frame = world(1)
    outcome = run(frame, tmp_path)

    assert outcome.trained and outcome.promoted
    assert outcome.version == outcome.candidate == registry.current(tmp_path, "churn").version
    assert outcome.note.startswith(f"{outcome.version} promoted (auc ")
    candidate, base = outcome.evaluation["candidate"], outcome.evaluation["baseline"]
    assert candidate["auc"] > 0.8 > 0.6 > base["auc"]
    assert {"pr_auc", "brier", "calibration", "lift_top_decile", "capture_top_decile"} <= set(
        candidate
    )
    scores = outcome.scores
    assert scores.schema == pl.Schema(SCHEMA)
    assert scores.height == 600 and scores["model"].unique().to_list() == ["churn"]
    assert scores["score"].is_between(0, 1).all() and scores["reason_1"].is_not_null().all()
    # Higher f1 means the outcome; the top decile is where f1 is high.
    top = scores.filter(pl.col("decile") == 10).join(current_of(frame), on="customer_key")
    assert top["f1"].mean() > 1.0

    again = run(frame, tmp_path)  # a rerun of the day reuses the model as it is
    assert not again.trained and again.version == outcome.version
    assert again.scores.equals(scores)


def test_training_from_scratch_twice_gives_the_same_model_and_scores(tmp_path):
    frame = world(4)
    first, second = run(frame, tmp_path / "a"), run(frame, tmp_path / "b")
    assert first.trained and second.trained and first.version == second.version
    assert first.scores.equals(second.scores)
    boosters = [tmp_path / d / "churn" / first.version / "booster.json" for d in ("a", "b")]
    assert boosters[0].read_bytes() == boosters[1].read_bytes()


# A rule that knows the outcome where it is known (no model can beat it), f1 elsewhere.
ORACLE = trainer.Baseline(
    "oracle_rule",
    lambda f: f.get_column("y" if "y" in f.columns else "f1").cast(pl.Float64).to_numpy(),
    lambda f: [["knows the answer"]] * f.height,
    "a rule that knows",
)


def test_a_rival_that_beats_the_candidate_publishes_its_ranking_and_its_figure(tmp_path):
    frame = world(2)
    outcome = run(frame, tmp_path, baseline=ORACLE)

    assert outcome.trained and outcome.promoted is False
    assert outcome.version == "oracle_rule"
    assert registry.current(tmp_path, "churn") is None  # no model version is in use
    assert outcome.note.startswith("oracle_rule publishes: a rule that knows ranks the held-out")
    assert "auc 1.000 against the model's 0.8" in outcome.note
    evaluation = outcome.evaluation
    assert evaluation["published"] == {"name": "oracle_rule", "auc": 1.0}
    assert evaluation["baseline"]["name"] == "oracle_rule"
    assert evaluation["rivals"]["oracle_rule"]["auc"] == 1.0
    assert 0.8 < evaluation["candidate"]["auc"] < 1.0
    scores = outcome.scores
    assert scores["version"].unique().to_list() == ["oracle_rule"]
    assert scores["reason_1"].unique().to_list() == ["knows the answer"]
    # The rival's ranking, in the model's units: probabilities rising with f1.
    assert scores["score"].is_between(0, 1).all()
    f1 = current_of(frame).sort("customer_key")["f1"].to_numpy()
    assert (np.diff(scores["score"].to_numpy()[np.argsort(f1)]) >= 0).all()

    # The next day, before the next retrain, the rival goes on publishing, saying since when.
    next_day = trainer.run(
        SPEC,
        [ORACLE],
        current_of(frame),
        labelled_from(frame),
        DAY + timedelta(days=1),
        tmp_path,
        retrain_every_days=7,
    )
    assert not next_day.trained and next_day.version == "oracle_rule"
    assert next_day.note.startswith(f"oracle_rule scores, as decided on {DAY}: oracle_rule")
    assert next_day.evaluation["published"] == {"name": "oracle_rule", "auc": 1.0}
    assert next_day.scores["score"].equals(scores["score"])


def test_the_candidate_must_beat_the_strongest_rival_not_the_first(tmp_path):
    frame = world(7)
    weak = run(frame, tmp_path / "weak")
    assert weak.promoted  # the noise rule alone does not stop it
    both = trainer.run(
        SPEC, [NOISE, ORACLE], current_of(frame), labelled_from(frame), DAY, tmp_path / "both"
    )
    assert both.promoted is False and both.version == "oracle_rule"
    rivals = both.evaluation["rivals"]
    assert set(rivals) == {"noise_rule", "oracle_rule"}
    assert rivals["noise_rule"]["auc"] < 0.6 < rivals["oracle_rule"]["auc"]
    assert both.evaluation["baseline"]["name"] == "oracle_rule"


def test_a_rival_that_cannot_rank_is_reported_and_never_published(tmp_path):
    flat = trainer.Baseline(
        "flat_rule", lambda f: np.ones(f.height), lambda f: [["same for all"]] * f.height
    )
    outcome = run(world(8), tmp_path, baseline=flat)
    assert outcome.promoted and outcome.version == outcome.candidate
    assert outcome.evaluation["rivals"] == {
        "flat_rule": {"error": "it gives every holdout customer the same score"}
    }
    assert outcome.evaluation["baseline"] == {}
    assert outcome.evaluation["published"]["auc"] == outcome.evaluation["candidate"]["auc"]


def test_a_candidate_worse_than_the_version_in_use_leaves_it_scoring(tmp_path):
    first = run(world(3), tmp_path)
    assert first.promoted
    # A week later the training cutoffs follow f3, but the newest outcomes still follow f1:
    # the new candidate beats the noise rule, yet falls well short of the version in use.
    later = DAY + timedelta(days=7)
    second = run(world(4, train_driver="f3", valid_mix=0.4), tmp_path, day=later)

    assert second.trained and second.promoted is False and second.candidate != first.version
    assert second.version == first.version == registry.current(tmp_path, "churn").version
    assert "below the previous version" in second.note
    assert second.evaluation["previous"]["version"] == first.version
    assert (
        second.evaluation["previous"]["auc"]
        > second.evaluation["candidate"]["auc"]
        > second.evaluation["rivals"]["noise_rule"]["auc"]
    )
    assert second.scores["version"].unique().to_list() == [first.version]


def test_too_little_history_keeps_the_version_in_use_or_else_the_baseline(tmp_path):
    def short():
        raise trainer.InsufficientHistoryError("need at least 180 days of order history")

    frame = world(5)
    alone = trainer.run(SPEC, [NOISE], current_of(frame), short, DAY, tmp_path)
    assert alone.version == "noise_rule" and "need at least 180 days" in alone.note
    assert alone.scores["reason_1"].unique().to_list() == ["a rule of thumb"]

    promoted = run(frame, tmp_path)
    later = trainer.run(SPEC, [NOISE], current_of(frame), short, DAY + timedelta(days=9), tmp_path)
    assert later.version == promoted.version
    assert later.note.startswith(f"version {promoted.version} keeps scoring")


def test_a_day_that_measures_nothing_keeps_the_rival_the_version_in_use_beat(tmp_path):
    # The version keeps scoring on the figures of its own holdout, and the rival it beat there
    # comes with them: the day's record (and the report's models table) keeps its comparison
    # instead of losing the rival's columns.
    def short():
        raise trainer.InsufficientHistoryError("need at least 180 days of order history")

    frame = world(1)
    promoted = run(frame, tmp_path)
    assert promoted.evaluation["baseline"]["name"] == "noise_rule"
    later = trainer.run(SPEC, [NOISE], current_of(frame), short, DAY + timedelta(days=9), tmp_path)
    assert later.note.startswith(f"version {promoted.version} keeps scoring")
    assert later.evaluation["baseline"]["name"] == "noise_rule"
    assert later.evaluation["baseline"]["auc"] == promoted.evaluation["baseline"]["auc"]
    assert later.evaluation["measured_on"] == promoted.evaluation["measured_on"]


def test_a_holdout_with_few_positives_decides_nothing(tmp_path):
    """A rare outcome (a lead model on a small shop: 1 conversion among 55 holdout leads)
    gives an AUC that is noise; no model is promoted on it and the rival scores."""
    frame = world(7)
    validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)[1]
    _, holdout = trainer.halves(frame.filter(pl.col("as_of_date") == validation))
    few = trainer.MIN_HOLDOUT_OUTCOMES - 1
    kept = holdout.filter(pl.col("y")).get_column("customer_key").head(few)
    rare = frame.with_columns(
        y=pl.when((pl.col("as_of_date") == validation)
                  & pl.col("customer_key").is_in(holdout.get_column("customer_key").to_list())
                  & ~pl.col("customer_key").is_in(kept.to_list()))
        .then(False)
        .otherwise(pl.col("y"))
    )
    outcome = run(rare, tmp_path)
    assert outcome.version == "noise_rule" and not outcome.promoted
    assert f"the holdout has {few} positive" in outcome.note

    enough = run(frame, tmp_path / "enough")  # the same world with its outcomes decides
    assert enough.promoted


def test_scoring_refuses_a_model_whose_feature_types_changed(tmp_path):
    frame = world(6)
    outcome = run(frame, tmp_path)
    card, booster = registry.load(tmp_path, "churn", outcome.version)
    changed = current_of(frame).with_columns(pl.col("f3").cast(pl.String))
    with pytest.raises(
        registry.ModelMismatchError, match="f3 is String, the model was trained on Float64"
    ):
        trainer.score_with(SPEC, card, booster, changed, DAY)
    # The daily run retrains instead of scoring with it.
    assert trainer.due_for_training(card, DAY, 7, trainer.schema_of(changed))


def test_a_regression_model_is_scaled_so_the_validation_total_comes_out_right(tmp_path):
    rng = np.random.default_rng(8)
    n = 800
    parts = []
    for cutoff in CUTOFFS:
        rate = np.exp(rng.normal(size=n))
        spend = rng.poisson(rate * 2) * 50.0
        parts.append(
            pl.DataFrame(
                {
                    "customer_key": [f"c{i}" for i in range(n)],
                    "as_of_date": [cutoff] * n,
                    "f1": np.log(rate),
                    "f2": rng.normal(size=n),
                    "f3": rng.normal(size=n),
                    "value": spend,
                }
            )
        )
    frame = pl.concat(parts)
    spec = trainer.ModelSpec(
        name="ltv",
        kind="regression",
        features=("f1", "f2", "f3"),
        label="value",
        reasons="both",
        params={"objective": "reg:tweedie", "eta": 0.1, "seed": 0},
        rounds=200,
        early_stopping=10,
    )
    training, validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)
    card, _, holdout = trainer.train(spec, frame, training, validation, threads=1)

    assert card.kind == "regression" and card.calibration_scale > 0
    metrics = card.metrics
    assert metrics["spearman"] > 0.6
    assert metrics["total_predicted"] == pytest.approx(metrics["total_actual"], rel=0.15)
    assert [d["decile"] for d in metrics["deciles"]] == list(range(1, 11))
    assert holdout.height == metrics["rows"]


@pytest.mark.parametrize(
    ("candidate", "baseline", "previous", "promoted", "words"),
    [
        (0.80, 0.75, None, True, "promoted (auc 0.800, recency 0.750)"),
        (0.74, 0.75, None, False, "does not beat the recency"),
        (0.80, 0.75, 0.804, True, "previous version 0.804"),  # within the tolerance
        (0.80, 0.75, 0.82, False, "more than 0.005 below the previous version"),
        (0.80, None, None, True, "promoted (auc 0.800)"),
    ],
)
def test_promotion_needs_the_baseline_beaten_and_the_previous_version_matched(
    candidate, baseline, previous, promoted, words
):
    decided, note = trainer.decide("auc", candidate, baseline, previous, 0.005, "recency")
    assert decided is promoted
    assert words in note


def test_validation_may_sit_closer_to_training_for_a_long_horizon():
    cutoffs = [DAY - timedelta(days=30 * k) for k in range(18, -1, -1)]
    training, validation = trainer.split_cutoffs(cutoffs, DAY, 365, gap_days=30)
    assert validation == DAY - timedelta(days=390)
    assert training == [DAY - timedelta(days=30 * k) for k in range(18, 13, -1)]
    with pytest.raises(trainer.InsufficientHistoryError, match="395 days of order history"):
        trainer.split_cutoffs(cutoffs[-14:], DAY, 365, gap_days=30)


@pytest.mark.parametrize("objective", sorted(trainer.INVERSE_LINKS))
def test_predictions_from_the_contributions_equal_the_boosters(objective):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the default branch
    signal = np.nan_to_num(x[:, 0]) - 0.5 * np.nan_to_num(x[:, 1])
    y = (signal > 0).astype(float) if objective == "binary:logistic" else np.exp(signal)
    y = np.round(y) if objective == "count:poisson" else y
    params = {"objective": objective, "max_depth": 3, "eta": 0.3, "base_score": 0.4, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), 25)
    matrix = xgb.DMatrix(x)
    predicted, contributions = trainer.predict_with_contributions(booster, matrix, objective)
    assert contributions.shape == (400, 4)
    np.testing.assert_allclose(predicted, booster.predict(matrix), rtol=1e-5, atol=1e-6)


def test_a_rival_that_beats_the_candidate_and_the_version_in_use_publishes(tmp_path):
    first = run(world(3), tmp_path)
    assert first.promoted
    later = DAY + timedelta(days=7)
    frame = world(4, train_driver="f3", valid_mix=0.4)
    outcome = trainer.run(
        SPEC, [NOISE, ORACLE], current_of(frame), labelled_from(frame), later, tmp_path
    )
    assert outcome.promoted is False and outcome.version == "oracle_rule"
    evaluation = outcome.evaluation
    assert evaluation["previous"]["version"] == first.version
    assert "and the version in use's 0." in outcome.note
    assert evaluation["published"]["auc"] == 1.0 > evaluation["previous"]["auc"]
    # The model version in use stays the one the next candidate must match.
    assert registry.current(tmp_path, "churn").version == first.version
    assert registry.decision(tmp_path, "churn")["rival"] == "oracle_rule"


def regression_world(seed: int, n: int = 800) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for cutoff in CUTOFFS:
        rate = np.exp(rng.normal(size=n))
        parts.append(
            pl.DataFrame(
                {
                    "customer_key": [f"c{i:04d}" for i in range(n)],
                    "as_of_date": [cutoff] * n,
                    "f1": np.log(rate),
                    "f2": rng.normal(size=n),
                    "f3": rng.normal(size=n),
                    "y": rng.poisson(rate * 2) * 50.0,
                }
            )
        )
    return pl.concat(parts)


REGRESSION = trainer.ModelSpec(
    name="ltv",
    kind="regression",
    features=("f1", "f2", "f3"),
    label="y",
    reasons="both",
    params={"objective": "reg:tweedie", "eta": 0.1, "seed": 0},
    rounds=200,
    early_stopping=10,
)
TO_A_YEAR = trainer.Scaling(90, 365, 2.5, "test_factor", "90-day outcomes, x2.5")


def test_published_amounts_are_carried_to_the_horizon_by_the_scaling(tmp_path):
    frame = regression_world(9)
    # The model, promoted: its amounts times the factor.
    model = trainer.run(
        REGRESSION,
        [NOISE],
        current_of(frame),
        labelled_from(frame),
        DAY,
        tmp_path / "m",
        to_horizon=lambda days: TO_A_YEAR,
    )
    assert model.promoted and model.note.endswith("; learnt from 90-day outcomes, x2.5")
    assert model.evaluation["scaling"] == {
        "label_days": 90,
        "horizon_days": 365,
        "factor": 2.5,
        "method": "test_factor",
    }
    card, booster = registry.load(tmp_path / "m", "ltv", model.version)
    assert card.label_days == 90 and card.horizon_days == 365 and card.scaling == "test_factor"
    plain = trainer.score_with(REGRESSION, card, booster, current_of(frame), DAY)
    np.testing.assert_allclose(model.scores["score"], plain["score"] * 2.5)
    # The next day the decision holds, with that day's scaling, said once.
    later = trainer.Scaling(90, 365, 2.0, "test_factor", "90-day outcomes, x2.0")
    next_day = trainer.run(
        REGRESSION, [NOISE], current_of(frame), labelled_from(frame), DAY + timedelta(days=1),
        tmp_path / "m", to_horizon=lambda days: later,
    )  # fmt: skip
    assert not next_day.trained and next_day.version == model.version
    assert next_day.note == (
        f"{model.version} scores, as decided on {DAY}: {model.note.split('; ')[0]}"
        "; learnt from 90-day outcomes, x2.0"
    )
    assert next_day.evaluation["scaling"]["factor"] == 2.0
    np.testing.assert_allclose(next_day.scores["score"], plain["score"] * 2.0)

    # A rival that knows the outcome: its ranking, scaled to make the validation total right,
    # then carried to the horizon the same way.
    knows = trainer.Baseline(
        "knows",
        lambda f: (f["y"] if "y" in f.columns else f["f1"].exp()).to_numpy(),
        lambda f: [["knows"]] * f.height,
    )
    rival = trainer.run(
        REGRESSION,
        [NOISE, knows],
        current_of(frame),
        labelled_from(frame),
        DAY,
        tmp_path / "r",
        to_horizon=lambda days: TO_A_YEAR,
    )
    assert rival.version == "knows" and rival.evaluation["published"]["spearman"] == 1.0
    assert rival.note.endswith("; measured on 90-day outcomes, x2.5")
    scale = rival.evaluation["rivals"]["knows"]["calibration"]["scale"]
    expected = np.exp(current_of(frame).sort("customer_key")["f1"].to_numpy()) * scale * 2.5
    np.testing.assert_allclose(rival.scores["score"], expected)


def test_holdout_customers_stay_out_of_training_when_outcome_windows_overlap(tmp_path):
    frame = world(10)
    training, validation = trainer.split_cutoffs(CUTOFFS, DAY, 90)
    rows = frame.filter(pl.col("as_of_date").is_in([*training, validation]))
    apart, _, holdout = trainer.train(SPEC, rows, training, validation, 1)
    together, _, _ = trainer.train(SPEC, rows, training, validation, 1, True)
    assert apart.metrics["train_rows"] == 600 * len(training)
    assert together.metrics["train_rows"] == (600 - holdout.height) * len(training)

    def overlapping():
        return trainer.Labelled(rows, training, validation, 120)  # 120 > the 90-day gap

    outcome = trainer.run(SPEC, [NOISE], current_of(frame), overlapping, DAY, tmp_path)
    card, _ = registry.load(tmp_path, "churn", outcome.version)
    assert card.metrics["train_rows"] == together.metrics["train_rows"]
    assert card.label_days == 120


def test_a_rival_that_cannot_score_todays_customers_is_measured_but_never_published(tmp_path):
    # Knows the outcome on the holdout, but has no score today (as BG/NBD when it cannot
    # be fit on today's customers).
    blind = trainer.Baseline(
        "blind_today",
        lambda f: (f["y"].cast(pl.Float64) if "y" in f.columns else f["f1"] * np.nan).to_numpy(),
        lambda f: [["knows"]] * f.height,
    )
    outcome = run(world(11), tmp_path, baseline=blind)
    figures = outcome.evaluation["rivals"]["blind_today"]
    assert figures["auc"] == 1.0
    assert figures["cannot_publish"] == "it cannot score every customer today"
    assert outcome.promoted and outcome.version == outcome.candidate
    assert outcome.evaluation["baseline"] == {}
