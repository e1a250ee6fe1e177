"""Lifetime value: labels, the buy-till-you-die features per cutoff, and that nothing after a
cutoff reaches its features."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ml import features as features_mod
from pipelines.ml import ltv, registry, trainer
from pipelines.ml.features import BTYD_FEATURES, with_btyd
from pipelines.ml.labels import value_labels

CUTOFF = date(2026, 1, 31)


def orders_frame(rows: list[tuple[str, datetime, float]]) -> pl.DataFrame:
    """Orders with no refunds: amount and value are the same."""
    return pl.DataFrame(
        rows,
        schema={
            "customer_key": pl.String,
            "ordered_at": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
        orient="row",
    ).with_columns(amount=pl.col("value"), is_purchase=pl.lit(True))


def test_value_label_sums_the_horizon_after_the_cutoff_day_only():
    features = pl.DataFrame({"customer_key": ["a", "b", "c"], "as_of_date": [CUTOFF] * 3})
    orders = orders_frame(
        [
            ("a", datetime(2026, 1, 31, 23, 0, tzinfo=UTC), 99.0),  # the cutoff day: known already
            ("a", datetime(2026, 2, 1, 0, 0, tzinfo=UTC), 10.0),
            ("a", datetime(2027, 1, 31, 23, 59, tzinfo=UTC), 5.0),  # last day of 365
            ("a", datetime(2027, 2, 1, 0, 0, tzinfo=UTC), 1000.0),  # after the window
            ("b", datetime(2026, 6, 1, tzinfo=UTC), 40.0),
        ]
    )
    labelled = value_labels(features, orders, 365).sort("customer_key")
    assert labelled.get_column("value_next").to_list() == [15.0, 40.0, 0.0]


def test_value_label_nets_refunds_and_never_goes_below_zero():
    # The purchases (marts.fct_purchases) carry their value net of their own refunds; a
    # purchase refunded in full, or beyond (a later return of more), is worth nothing.
    features = pl.DataFrame({"customer_key": ["a", "b"], "as_of_date": [CUTOFF] * 2})
    orders = orders_frame([
        ("a", datetime(2026, 3, 1, tzinfo=UTC), 50.0),
        ("a", datetime(2026, 4, 1, tzinfo=UTC), 30.0),
        ("b", datetime(2026, 3, 1, tzinfo=UTC), -20.0),
    ])
    labelled = value_labels(features, orders, 365).sort("customer_key")
    assert labelled.get_column("value_next").to_list() == [80.0, 0.0]


def repeat_order_value() -> pl.Expr:
    """What `marts.customer_features.repeat_order_value` is, over one customer's day-grain
    purchases known at a cutoff: the mean amount of all but the first (null without one)."""
    first = pl.col("amount").sort_by("ordered_at").first()
    return (
        pl.when(pl.len() > 1)
        .then((pl.col("amount").sum() - first) / (pl.len() - 1))
        .alias("repeat_order_value")
    )


def synthetic_shop(seed: int, n: int, end: date) -> pl.DataFrame:
    """The RFM and purchase-day features (as `marts.customer_features` computes them) at
    monthly cutoffs up to `end` of customers ordering at their own rate since their first
    order (one purchase per customer and day, as `marts.fct_purchases` has them)."""
    rng = np.random.default_rng(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        first = rng.uniform(0, 300)
        rate = rng.gamma(1.0, 1 / 40)  # orders per day
        t = first
        while t < 700:
            rows.append((f"c{i:03d}", start + timedelta(days=t), float(rng.gamma(2, 30))))
            t += rng.exponential(1 / rate)
    orders = (
        orders_frame(rows)
        .group_by("customer_key", pl.col("ordered_at").dt.truncate("1d"))
        .agg(pl.col("value").sum(), pl.col("amount").sum())
        .sort("customer_key", "ordered_at")
    )
    cutoffs = [end - timedelta(days=30 * k) for k in range(6)]
    features = []
    for cutoff in cutoffs:
        end_at = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC) + timedelta(days=1)
        known = orders.filter(pl.col("ordered_at") < end_at)
        features.append(
            known.group_by("customer_key").agg(
                pl.lit(cutoff).alias("as_of_date"),
                pl.len().cast(pl.Int32).alias("orders_count"),
                pl.len().cast(pl.Int32).alias("purchase_days"),
                (pl.lit(cutoff) - pl.col("ordered_at").max().dt.date())
                .dt.total_days()
                .cast(pl.Int32)
                .alias("days_since_last_order"),
                (pl.lit(cutoff) - pl.col("ordered_at").min().dt.date())
                .dt.total_days()
                .cast(pl.Int32)
                .alias("tenure_days"),
                repeat_order_value(),
            )
        )
    return pl.concat(features).sort("as_of_date", "customer_key")


def test_btyd_features_at_a_cutoff_ignore_everything_after_it():
    end = date(2026, 6, 30)
    features = synthetic_shop(1, 150, end)
    cutoff = end - timedelta(days=60)
    at_cutoff = features.filter(pl.col("as_of_date") == cutoff)

    with_everything = with_btyd(features).filter(pl.col("as_of_date") == cutoff)
    only_the_past = with_btyd(at_cutoff)

    assert_frame_equal(with_everything.sort("customer_key"), only_the_past.sort("customer_key"))
    assert with_everything.select(BTYD_FEATURES).null_count().sum_horizontal().item() == 0
    assert with_everything["p_alive"].is_between(0, 1).all()
    # Expected spend is what BG/NBD expects in orders times what Gamma-Gamma expects per order.
    assert_frame_equal(
        with_everything.select(v=pl.col("expected_value_365d")),
        with_everything.select(v=pl.col("expected_orders_365d") * pl.col("expected_order_value")),
    )


def test_btyd_features_are_left_empty_when_the_cutoff_has_too_few_customers():
    features = synthetic_shop(2, 5, date(2026, 6, 30))
    out = with_btyd(features)
    assert out.height == features.height
    assert out.select(BTYD_FEATURES).null_count().row(0) == (features.height,) * 5


def test_the_baseline_scores_with_bgnbd_and_explains_in_words():
    frame = pl.DataFrame(
        {
            "orders_count": [3],
            "days_since_last_order": [40],
            "expected_order_value": [52.4],
            "expected_value_365d": [None],
        },
        schema_overrides={"expected_value_365d": pl.Float64},
    )
    assert np.isnan(ltv.BASELINE_RULE.score(frame)).all()  # no fit: no score to publish
    fallback = trainer.score_baseline(
        ltv.SPEC, ltv.BASELINE_RULE, frame.with_columns(customer_key=pl.lit("a")), DAY
    )
    assert fallback["score"].to_list() == [0.0]  # as the rule it is: nothing expected
    assert ltv.BASELINE_RULE.reasons(frame) == [
        ["3 orders in total", "no order in 40 days", "expected order value 52"]
    ]
    assert set(ltv.SPEC.monotone) <= set(ltv.LTV_FEATURES)
    with pytest.raises(ValueError, match="direction"):
        from pipelines.ml.explain import top_reasons

        top_reasons(np.zeros((1, 2)), frame, ("orders_count",), direction="sideways")


def test_btyd_fit_sample_is_the_same_customers_in_any_row_order():
    keys = pl.Series([f"c{i}" for i in range(1000)])
    chosen = set(keys.gather(features_mod.fit_sample(keys, 100)).to_list())
    shuffled = keys.sample(fraction=1.0, shuffle=True, seed=3)
    assert len(chosen) == 100
    assert set(shuffled.gather(features_mod.fit_sample(shuffled, 100)).to_list()) == chosen
    everyone = features_mod.fit_sample(shuffled, 5000)
    assert shuffled.gather(everyone).to_list() == sorted(keys.to_list())  # in key order


def test_the_btyd_fit_is_the_same_to_the_last_bit_whatever_the_row_order():
    # DuckDB returns rows in no fixed order; a fit that summed them in that order would give
    # a rerun's scores other last digits (a rerun must publish the same bits).
    features = synthetic_shop(4, 1200, date(2026, 6, 30))
    features = features.filter(pl.col("as_of_date") == date(2026, 6, 30))
    shuffled = features.sample(fraction=1.0, shuffle=True, seed=5)
    assert features_mod.fit_btyd(features).record() == features_mod.fit_btyd(shuffled).record()


def test_btyd_features_fit_on_a_sample_stay_close_to_the_full_fit(monkeypatch):
    features = synthetic_shop(4, 1200, date(2026, 6, 30))
    features = features.filter(pl.col("as_of_date") == date(2026, 6, 30))
    full = with_btyd(features)
    monkeypatch.setattr(features_mod, "BTYD_FIT_SAMPLE", 600)
    sampled = with_btyd(features)
    assert not sampled["p_alive"].equals(full["p_alive"])  # the sample did change the fit
    for column in ("p_alive", "expected_orders_365d"):
        ratio = (sampled[column] / full[column]).to_numpy()
        assert np.median(np.abs(ratio - 1)) < 0.03, column
    rho = np.corrcoef(sampled["expected_value_365d"], full["expected_value_365d"])[0, 1]
    assert rho > 0.999


# --- Short histories: the outcome window learnt, and how it is carried to the horizon ---

DAY = date(2026, 10, 31)
MONTHLY = [DAY - timedelta(days=30 * k) for k in range(18, -1, -1)]  # 540 days back to DAY


def test_windows_tried_are_the_horizon_then_each_shorter_cutoff_distance_longest_first():
    assert ltv.label_windows(MONTHLY, DAY, 365, 90) == [365, *range(360, 89, -30)]
    assert ltv.label_windows(MONTHLY, DAY, 365, 100) == [365, *range(360, 119, -30)]


@pytest.mark.parametrize(
    ("history_days", "window", "validation_back", "training_back"),
    [
        # A year's outcome is known and a cutoff 30 days before it: the horizon itself.
        (540, 365, 390, [540, 510, 480, 450, 420]),
        # About nine months: 120 days, the longest with as much history before the
        # validation cutoff (162 days) as after it; 150 would have only 132 before it.
        (282, 120, 120, [270, 240, 210, 180, 150]),
        # Exactly twice the minimum: 90 days, validated on the cutoff 90 days back.
        (180, 90, 90, [180, 150, 120]),
    ],
)
def test_the_longest_window_the_history_supports_is_learnt(
    history_days, window, validation_back, training_back
):
    first = DAY - timedelta(days=history_days)
    got, training, validation = ltv.choose_window(MONTHLY, first, DAY, 365, 30, 90)
    assert got == window
    assert validation == DAY - timedelta(days=validation_back)
    assert training == sorted(DAY - timedelta(days=d) for d in training_back)


def test_too_short_a_history_learns_nothing_and_says_how_much_is_needed():
    first = DAY - timedelta(days=179)
    with pytest.raises(trainer.InsufficientHistoryError, match="179 days of purchases") as err:
        ltv.choose_window(MONTHLY, first, DAY, 365, 30, 90)
    assert "about 180 days are needed" in str(err.value)


def fitted_customers(seed: int = 3) -> tuple[pl.DataFrame, features_mod.BtydFit]:
    """Today's customers of a synthetic shop with their BG/NBD inputs, and the fit on them."""
    features = synthetic_shop(seed, 600, DAY)
    today = with_btyd(features.filter(pl.col("as_of_date") == DAY))
    return today, features_mod.fit_btyd(today)


def test_amounts_are_scaled_by_bgnbds_expected_spend_over_the_horizon_against_the_window():
    today, fit = fitted_customers()
    scaled = ltv.horizon_scaling(fit, today, 120, 365)
    year = fit.expected_value(today, 365).sum()
    window = fit.expected_value(today, 120).sum()
    assert scaled.factor == pytest.approx(year / window)
    # Customers who stop buying make a year worth less than 365/120 windows.
    assert 1.0 < scaled.factor < 365 / 120
    assert scaled.method == "bgnbd_expected_spend_ratio"
    assert scaled.words.startswith("120-day outcomes, scaled to a year by BG/NBD")
    assert scaled.record() == {
        "label_days": 120, "horizon_days": 365, "factor": scaled.factor,
        "method": "bgnbd_expected_spend_ratio",
    }  # fmt: skip

    unfit = ltv.horizon_scaling("too few customers", today, 120, 365)
    assert unfit.factor == pytest.approx(365 / 120) and unfit.method == "steady_rate"
    assert "BG/NBD could not be fit today" in unfit.words
    same = ltv.horizon_scaling(fit, today, 365, 365)
    assert (same.factor, same.words) == (1.0, "")


def test_bgnbd_counts_purchase_days_not_orders():
    frame = pl.DataFrame(
        {
            "orders_count": [5, 1, 3],  # five orders on two days; three orders on one day
            "purchase_days": [2, 1, 1],
            "tenure_days": [40, 10, 7],
            "days_since_last_order": [10, 10, 7],
        }
    )
    x, t_x, T = features_mod.btyd_inputs(frame)
    assert x.tolist() == [1.0, 0.0, 0.0]
    assert t_x.tolist() == [30.0, 0.0, 0.0] and T.tolist() == [40.0, 10.0, 7.0]


def rfm_at(purchases: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """The order features of `marts.customer_features` at `cutoff`, from day-grain purchases."""
    end_at = datetime.combine(cutoff + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    known = purchases.filter(pl.col("ordered_at") < end_at)

    def within(days: int) -> pl.Expr:
        return pl.col("ordered_at") >= end_at - timedelta(days=days)

    def days_to_cutoff(col: pl.Expr) -> pl.Expr:
        return (pl.lit(cutoff) - col.dt.date()).dt.total_days().cast(pl.Int32)

    span = (pl.col("ordered_at").max() - pl.col("ordered_at").min()).dt.total_days()
    return known.group_by("customer_key").agg(
        pl.lit(cutoff).alias("as_of_date"),
        pl.len().cast(pl.Int32).alias("orders_count"),
        pl.len().cast(pl.Int32).alias("purchase_days"),
        pl.col("amount").sum().alias("revenue"),
        pl.col("amount").mean().alias("avg_order_value"),
        days_to_cutoff(pl.col("ordered_at").max()).alias("days_since_last_order"),
        days_to_cutoff(pl.col("ordered_at").min()).alias("tenure_days"),
        *(within(d).sum().cast(pl.Int32).alias(f"orders_{d}d") for d in (30, 90, 365)),
        *(pl.col("amount").filter(within(d)).sum().alias(f"revenue_{d}d") for d in (90, 365)),
        (span / (pl.len() - 1)).alias("avg_days_between_orders"),
        repeat_order_value(),
    )


def ltv_shop(seed: int, n: int, history_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A shop whose purchases start `history_days` before DAY, with the model's features at
    the monthly cutoffs (orders-only: engagement features empty)."""
    rng = np.random.default_rng(seed)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) - timedelta(days=history_days)
    rows = []
    for i in range(n):
        rate, spend, life = rng.gamma(1.0, 1 / 30), rng.gamma(2, 40), rng.exponential(400)
        t = rng.uniform(0, history_days + 365)
        end = t + life
        while t < min(end, history_days + 365):
            rows.append((f"c{i:04d}", start + timedelta(days=t), float(rng.gamma(4, spend / 4))))
            t += rng.exponential(1 / rate)
    purchases = (
        orders_frame(rows)
        .group_by("customer_key", pl.col("ordered_at").dt.truncate("1d"))
        .agg(pl.col("value").sum(), pl.col("amount").sum())
    )
    frames = [rfm_at(purchases, cutoff) for cutoff in MONTHLY]
    frames = [f for f in frames if f.height]
    features = pl.concat(frames).with_columns(
        pl.lit(False).alias("is_email_subscribed"),
        *(pl.lit(0.0).alias(f) for f in features_mod.ENGAGEMENT_FEATURES),
    )
    return features.sort("as_of_date", "customer_key"), purchases


def test_a_short_history_learns_its_longest_window_records_it_and_says_so(tmp_path):
    features, purchases = ltv_shop(5, 1500, history_days=282)
    outcome = ltv.fit_and_score(features, purchases, DAY, 365, tmp_path, threads=1)

    evaluation = outcome.evaluation
    assert evaluation["label_days"] == 120
    assert evaluation["scaling"]["label_days"] == 120
    assert evaluation["scaling"]["method"] == "bgnbd_expected_spend_ratio"
    factor = evaluation["scaling"]["factor"]
    assert 1.0 < factor < 365 / 120
    # Every rival measured on the same holdout as the candidate, and the published figure.
    assert set(evaluation["rivals"]) == {r.name for r in ltv.RIVALS}
    assert all("spearman" in figures for figures in evaluation["rivals"].values())
    published = evaluation["published"]
    assert published["name"] == outcome.version and published["spearman"] is not None
    # The BG/NBD + Gamma-Gamma fits: at every training and validation cutoff, and today's.
    card = registry.load(tmp_path, "ltv", outcome.candidate)[0]
    cutoffs = [*card.training_cutoffs, card.validation_cutoff]
    assert sorted(evaluation["btyd"]) == sorted(cutoffs) and card.btyd == evaluation["btyd"]
    today = evaluation["btyd_scoring"][str(DAY)]
    assert set(today["bgnbd"]) == {"r", "alpha", "a", "b"} and today["unit"] == "purchase days"
    assert set(today["gamma_gamma"]) == {"p", "q", "gamma"}
    assert card.label_days == 120 and card.horizon_days == 365
    if outcome.version in {r.name for r in ltv.RIVALS}:
        assert "measured on 120-day outcomes, scaled to a year by BG/NBD" in outcome.note
    else:
        assert "learnt from 120-day outcomes, scaled to a year by BG/NBD" in outcome.note
        assert "BG/NBD + Gamma-Gamma's expectations are among the model's inputs" in outcome.note
    assert outcome.scores.height == features.filter(pl.col("as_of_date") == DAY).height


def test_a_history_too_short_to_learn_scores_with_bgnbd_and_says_why(tmp_path):
    features, purchases = ltv_shop(6, 400, history_days=150)
    outcome = ltv.fit_and_score(features, purchases, DAY, 365, tmp_path, threads=1)
    assert outcome.version == ltv.BASELINE and outcome.trained is False
    first = purchases.get_column("ordered_at").min().date()
    assert f"{(DAY - first).days} days of purchases (since {first})" in outcome.note
    assert "about 180 days are needed" in outcome.note
    assert outcome.evaluation["published"] == {"name": ltv.BASELINE, "spearman": None}
    assert outcome.evaluation["btyd_scoring"][str(DAY)]["customers"] > 0
