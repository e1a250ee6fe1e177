"""The persona comparison's measure of later behaviour: epsilon squared."""

from __future__ import annotations

import numpy as np

from bench.personas_compare import epsilon_squared


def test_a_split_that_predicts_the_outcome_explains_its_variance():
    labels = np.array([0] * 50 + [1] * 50)
    y = np.where(labels == 1, 10.0, 0.0) + np.random.default_rng(0).normal(0, 0.1, 100)
    assert epsilon_squared(labels, y) > 0.99


def test_a_split_that_predicts_nothing_explains_nothing_whatever_its_size():
    rng = np.random.default_rng(1)
    y = rng.normal(size=4000)
    for k in (2, 10, 40):
        assert abs(epsilon_squared(rng.integers(0, k, 4000), y)) < 0.01


def test_epsilon_squared_is_the_corrected_between_group_share():
    labels = np.tile([0, 0, 1, 1], 3)
    y = np.tile([1.0, 3.0, 5.0, 7.0], 3)
    # SS total 60, SS within 12, SS between 48; (48 - (2 - 1) * 12 / (12 - 2)) / 60 = 0.78
    assert abs(epsilon_squared(labels, y) - 0.78) < 1e-12


def test_unknown_outcomes_are_left_out_and_too_few_give_none():
    labels = np.array([0, 1] * 10)
    y = np.array([0.0, 1.0] * 10)
    y[:4] = np.nan
    assert epsilon_squared(labels, y) > 0.99
    assert epsilon_squared(labels[:5], y[:5]) is None
