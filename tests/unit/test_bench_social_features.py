"""The social features benchmark's figures: persona agreement and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bench.social_features import paired_bootstrap, persona_figures


def test_persona_figures_match_found_to_hidden_personas_one_to_one():
    keys = [f"k{i}" for i in range(8)]
    labels = pl.DataFrame({"customer_key": keys, "persona_id": [1, 1, 1, 2, 2, 2, 2, 3]})
    emails = pl.DataFrame({"customer_key": keys, "email": [f"{k}@x" for k in keys]})
    hidden = pl.DataFrame({"email": [f"{k}@x" for k in keys],
                           "persona": ["a", "a", "a", "b", "b", "b", "a", "staff"]})
    figures = persona_figures(labels, emails, hidden)
    assert figures["k"] == 3 and figures["customers"] == 8
    # a (4 people) is matched to persona 1 (3 people), b (3) to persona 2 (4); staff has none.
    assert figures["size_errors"] == {"a": pytest.approx(0.25), "b": pytest.approx(1 / 3)}
    assert figures["max_size_error"] == pytest.approx(1 / 3)
    perfect = labels.with_columns(persona_id=pl.Series([1, 1, 1, 2, 2, 2, 1, 3]))
    assert persona_figures(perfect, emails, hidden)["ari"] == pytest.approx(1.0)


def test_paired_bootstrap_of_the_same_scores_is_zero_and_of_better_ones_positive():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    noisy = y + rng.normal(0, 1.0, 400)
    assert paired_bootstrap(y, noisy, noisy, resamples=50) == (0.0, 0.0)
    low, high = paired_bootstrap(y, noisy, y + rng.normal(0, 0.3, 400), resamples=50)
    assert 0 < low < high
