"""The benchmark's churn oracle: the true probability of no order, checked by simulation."""

from __future__ import annotations

import numpy as np

from bench.quality import hazard_churn_probability


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
