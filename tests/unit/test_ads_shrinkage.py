"""Empirical-Bayes shrinkage: cells that differ only by chance are pooled, cells that truly
differ keep their own figures, and a small cell moves further than a large one."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ads.shrinkage import MAX_CONCENTRATION, shrink_means, shrink_rates


def _cells(k: list[int], n: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"campaign": ["c"] * len(k), "cell": list(range(len(k))),
                         "k": k, "n": n})


def test_cells_that_differ_only_by_chance_get_the_pooled_rate() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(20, 400, 40)
    k = rng.binomial(n, 0.05)
    out = shrink_rates(_cells(k.tolist(), n.tolist()), ["campaign"], "k", "n")
    pooled = k.sum() / n.sum()
    assert out["prior_rate"][0] == pytest.approx(pooled)
    assert out["prior_strength"][0] > 1000
    raw_error = np.abs(k / n - 0.05).mean()
    shrunk_error = np.abs(out["rate_shrunk"].to_numpy() - 0.05).mean()
    assert shrunk_error < raw_error / 3


def test_cells_that_truly_differ_keep_their_own_rates() -> None:
    rng = np.random.default_rng(2)
    n = np.full(30, 2000)
    truth = np.where(np.arange(30) % 2 == 0, 0.01, 0.2)
    k = rng.binomial(n, truth)
    out = shrink_rates(_cells(k.tolist(), n.tolist()), ["campaign"], "k", "n")
    assert out["prior_strength"][0] < 100
    assert np.abs(out["rate_shrunk"].to_numpy() - k / n).max() < 0.01


def test_a_small_cell_moves_further_than_a_large_one() -> None:
    rng = np.random.default_rng(3)
    n = np.r_[rng.integers(100, 300, 20), 3, 3000]
    k = np.r_[rng.binomial(n[:20], np.where(np.arange(20) % 2, 0.03, 0.09)), 3, 300]
    out = shrink_rates(_cells(k.tolist(), n.tolist()), ["campaign"], "k", "n")
    small, large = out.row(20, named=True), out.row(21, named=True)
    # 3 of 3 is no evidence of a 100% rate; 300 of 3000 is good evidence of 10%.
    assert small["rate_shrunk"] < 0.3
    assert large["rate_shrunk"] == pytest.approx(0.1, abs=0.005)
    assert small["rate_low"] < small["rate_shrunk"] < small["rate_high"]
    assert small["rate_high"] - small["rate_low"] > large["rate_high"] - large["rate_low"]


def test_groups_are_shrunk_separately() -> None:
    cells = pl.concat([_cells([1, 2, 30], [100, 100, 100]),
                       _cells([0, 0, 0], [50, 60, 70]).with_columns(campaign=pl.lit("d"))])
    out = shrink_rates(cells, ["campaign"], "k", "n")
    assert out.filter(campaign="c")["prior_rate"][0] == pytest.approx(33 / 300)
    none = out.filter(campaign="d")
    assert none["rate_shrunk"].to_list() == [0.0, 0.0, 0.0]
    assert none["prior_strength"][0] == MAX_CONCENTRATION


def test_a_rate_above_one_is_refused() -> None:
    with pytest.raises(ValueError, match="k must be between 0 and n"):
        shrink_rates(_cells([5, 1], [4, 10]), ["campaign"], "k", "n")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 50)), min_size=2, max_size=12))
def test_a_shrunk_rate_lies_between_the_cell_s_and_the_group_s(pairs) -> None:
    k = [min(a, b) for a, b in pairs]
    n = [b for _, b in pairs]
    out = shrink_rates(_cells(k, n), ["campaign"], "k", "n")
    raw = np.array(k) / np.array(n)
    prior = out["prior_rate"][0]
    shrunk = out["rate_shrunk"].to_numpy()
    assert np.all(shrunk >= np.minimum(raw, prior) - 1e-9)
    assert np.all(shrunk <= np.maximum(raw, prior) + 1e-9)


def _value_cells(values: list[list[float]]) -> pl.DataFrame:
    return pl.DataFrame({
        "campaign": ["c"] * len(values),
        "count": [len(v) for v in values],
        "total": [float(sum(v)) for v in values],
        "squares": [float(sum(x * x for x in v)) for v in values],
    })


def test_means_that_differ_only_by_chance_are_pooled() -> None:
    rng = np.random.default_rng(4)
    values = [rng.normal(50, 20, size).tolist() for size in rng.integers(2, 30, 25)]
    out = shrink_means(_value_cells(values), ["campaign"], "count", "total", "squares")
    raw = out["total"] / out["count"]
    assert (out["mean_shrunk"] - 50).abs().mean() < (raw - 50).abs().mean() / 2


def test_means_that_truly_differ_keep_their_own() -> None:
    rng = np.random.default_rng(5)
    values = [rng.normal(mu, 5, 40).tolist() for mu in (20, 80) * 6]
    out = shrink_means(_value_cells(values), ["campaign"], "count", "total", "squares")
    raw = out["total"] / out["count"]
    assert (out["mean_shrunk"] - raw).abs().max() < 2.0


def test_a_wider_fit_steadies_campaigns_with_few_cells() -> None:
    rng = np.random.default_rng(6)
    frames = []
    for campaign, rate in (("c1", 0.05), ("c2", 0.2), ("c3", 0.1), ("c4", 0.02)):
        n = rng.integers(30, 200, 3)
        frames.append(pl.DataFrame({"campaign": campaign, "dimension": "persona",
                                    "k": rng.binomial(n, rate), "n": n}))
    cells = pl.concat(frames)
    out = shrink_rates(cells, ["campaign", "dimension"], "k", "n", fit_by=["dimension"])
    assert out["prior_strength"].n_unique() == 1
    # Each campaign keeps its own rate as the prior's mean.
    assert out.filter(campaign="c2")["prior_rate"][0] == pytest.approx(
        cells.filter(campaign="c2")["k"].sum() / cells.filter(campaign="c2")["n"].sum())


def test_a_group_with_no_converter_has_no_mean_value() -> None:
    cells = pl.DataFrame({"campaign": ["c", "c"], "count": [0, 0], "total": [0.0, 0.0],
                          "squares": [0.0, 0.0]})
    out = shrink_means(cells, ["campaign"], "count", "total", "squares")
    assert out["mean_shrunk"].to_list() == [None, None]
