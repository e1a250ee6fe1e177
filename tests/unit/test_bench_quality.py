"""The benchmark's churn oracle (the true probability of no order, checked by simulation) and
its verdict against the strongest rival."""

from __future__ import annotations

import numpy as np

from bench.__main__ import _rival_rows
from bench.quality import _rival_figures, hazard_churn_probability, strongest
from pipelines.ml.rivals import Baseline


def test_the_hazard_oracle_is_the_churn_rate_of_people_simulated_from_it():
    # Each person just ordered at day 0; they leave after an Exp(h) time and, while they stay,
    # order at rate r. Those who are quiet s days later churn when no order comes in 90 days.
    rng = np.random.default_rng(5)
    n = 400_000
    rate = rng.choice([0.005, 0.02, 0.05], n)
    hazard = rng.choice([0.002, 0.01], n)
    days_quiet = rng.uniform(0, 200, n)
    leaves = rng.exponential(1 / hazard)
    next_order = rng.exponential(1 / rate)  # the next order, if they are still there
    quiet = ~((next_order < leaves) & (next_order <= days_quiet))
    churned = ~((next_order < leaves) & (next_order <= days_quiet + 90))
    predicted = hazard_churn_probability(rate, hazard, days_quiet)[quiet]
    observed = churned[quiet]
    bins = np.digitize(predicted, np.quantile(predicted, [0.2, 0.4, 0.6, 0.8]))
    for b in range(5):
        assert abs(predicted[bins == b].mean() - observed[bins == b].mean()) < 0.01
    # Quiet longer, likelier gone: the probability rises with the silence.
    p = hazard_churn_probability(np.full(3, 0.02), np.full(3, 0.01), np.array([0.0, 60, 300]))
    assert p[0] < p[1] < p[2] < 1
    assert p[0] == np.float64(1 - 0.02 / 0.03 * (1 - np.exp(-0.03 * 90)))


def test_the_verdict_names_the_strongest_rival_and_says_when_the_model_loses():
    rivals = {"recency_rule": 0.71, "bgnbd_p_alive": 0.74, "order_count": 0.60}
    assert strongest(rivals) == ("bgnbd_p_alive", 0.74)
    rows = _rival_rows("churn AUC", 0.72, rivals)
    assert rows[-1] == (
        "| churn AUC: strongest rival bgnbd_p_alive | the published scores LOSE to it by 0.020 |")
    assert _rival_rows("churn AUC", 0.80, rivals)[-1].endswith(
        "the published scores beat it by 0.060 |")
    assert _rival_rows("churn AUC", 0.74, rivals)[-1].endswith(
        "the published scores are this rival's |")
    assert len(rows) == 4


def test_a_rival_that_cannot_score_someone_ranks_them_last():
    import polars as pl

    frame = pl.DataFrame({"x": [3.0, None, 1.0, 2.0]})
    rival = Baseline("x_rule", lambda f: f.get_column("x").fill_null(np.nan).to_numpy(),
                     lambda f: [])
    # The unscored row's score is below every scored one's.
    assert _rival_figures([rival], frame, lambda s: s[1])["x_rule"] == 0.0
