"""BG/NBD and Gamma-Gamma: published CDNOW fits, and recovery of known parameters from data
simulated from the models themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from scipy.stats import chi2

from pipelines.ml.btyd import (
    BgNbd,
    FitError,
    GammaGamma,
    _gg_objective,
    fit_bgnbd,
    fit_gamma_gamma,
)

# The CDNOW sample (2,357 customers, first purchase in Q1 1997, 39-week calibration period,
# weeks), as summarised in Bruce Hardie's data set and shipped by the lifetimes package
# (lifetimes/datasets/cdnow_customers_summary_with_transactions.csv): x, t_x, T and zbar, the
# mean value of the repeat transactions.
CDNOW = Path(__file__).parent / "fixtures" / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return pl.read_csv(CDNOW)


def _columns(frame: pl.DataFrame, *names: str) -> list[np.ndarray]:
    return [frame.get_column(n).to_numpy() for n in names]


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow):
    # Fader, Hardie and Lee (2005), "Counting your customers the easy way": r = 0.243,
    # alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4.
    x, t_x, T = _columns(cdnow, "x", "t_x", "T")
    fit = fit_bgnbd(x, t_x, T)
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), abs=1e-3)
    assert fit.log_likelihood(x, t_x, T).sum() == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_conditional_expectation_matches_the_papers_worked_example():
    # Customer with x = 2, t_x = 30.43, T = 38.86 weeks: 1.226 purchases in the next 39 weeks.
    published = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert published.expected_purchases([2], [30.43], [38.86], 39.0)[0] == pytest.approx(
        1.226, abs=1e-3
    )
    # No repeat purchase yet: certainly alive under BG/NBD (drop-out follows a purchase).
    assert published.p_alive([0], [0.0], [38.86])[0] == 1.0
    # The longer the silence since the last purchase, the less likely still a customer.
    quiet = published.p_alive([3, 3, 3], [37.0, 20.0, 5.0], [38.0, 38.0, 38.0])
    assert quiet[0] > quiet[1] > quiet[2]


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow):
    # Fader and Hardie (2013), "The Gamma-Gamma model of monetary value", on the 946 repeat
    # buyers: p = 6.25, q = 3.74, gamma = 15.44, log-likelihood -4055.9177 (CLVTools' test).
    x, zbar = _columns(cdnow, "x", "zbar")
    fit = fit_gamma_gamma(x, zbar)
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    repeat = x > 0
    assert fit.log_likelihood(x[repeat], zbar[repeat]).sum() == pytest.approx(-4055.92, abs=0.05)
    # Few orders: the expected value leans to the population mean; many: to the own mean.
    expected = fit.expected_value(np.array([1.0, 50.0, 0.0]), np.array([100.0, 100.0, 0.0]))
    assert fit.mean_value < expected[0] < expected[1] < 100.0
    assert expected[2] == pytest.approx(fit.mean_value)


def _simulate_bgnbd(
    rng: np.random.Generator, n: int, params: tuple[float, ...], T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Customers from the BG/NBD story: Poisson purchases at a Gamma(r, alpha) rate, and
    after each repeat purchase a Beta(a, b) chance of leaving for good."""
    r, alpha, a, b = params
    rate = rng.gamma(r, 1.0 / alpha, n)
    leave = rng.beta(a, b, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        i = np.flatnonzero(alive)
        t[i] += rng.exponential(1.0 / rate[i])
        inside = t[i] <= T[i]
        alive[i[~inside]] = False
        bought = i[inside]
        x[bought] += 1
        t_x[bought] = t[bought]
        alive[bought[rng.random(len(bought)) < leave[bought]]] = False
    return x, t_x


def test_bgnbd_recovers_the_parameters_it_was_simulated_from():
    rng = np.random.default_rng(20240601)
    truth = (0.5, 6.0, 0.7, 2.5)
    T = rng.uniform(20.0, 52.0, 8000)
    x, t_x = _simulate_bgnbd(rng, len(T), truth, T)
    fit = fit_bgnbd(x, t_x, T)
    # The purchase side is pinned down well; a and b trade off along a ridge, so check their
    # mean drop-out probability a / (a + b) and that the truth sits inside the 99% likelihood
    # ratio region of the fit.
    assert fit.r == pytest.approx(truth[0], rel=0.1)
    assert fit.alpha == pytest.approx(truth[1], rel=0.1)
    assert fit.a / (fit.a + fit.b) == pytest.approx(truth[2] / (truth[2] + truth[3]), rel=0.1)
    at_fit = fit.log_likelihood(x, t_x, T).sum()
    at_truth = BgNbd(*truth).log_likelihood(x, t_x, T).sum()
    assert 0 <= 2 * (at_fit - at_truth) < chi2.ppf(0.99, df=4)


def test_gamma_gamma_recovers_the_parameters_it_was_simulated_from():
    rng = np.random.default_rng(7)
    p, q, gamma = 6.0, 4.0, 16.0
    n = 4000
    x = rng.integers(1, 12, n).astype(float)
    nu = rng.gamma(q, 1.0 / gamma, n)  # each customer's spend rate
    m = np.array([rng.gamma(p, 1.0 / v, int(k)).mean() for v, k in zip(nu, x, strict=True)])
    fit = fit_gamma_gamma(x, m)
    assert fit.q == pytest.approx(q, rel=0.15)
    assert fit.mean_value == pytest.approx(GammaGamma(p, q, gamma).mean_value, rel=0.05)
    at_fit = fit.log_likelihood(x, m).sum()
    at_truth = GammaGamma(p, q, gamma).log_likelihood(x, m).sum()
    assert 0 <= 2 * (at_fit - at_truth) < chi2.ppf(0.99, df=3)


def test_fits_refuse_data_they_cannot_learn_from():
    with pytest.raises(FitError, match="repeat purchase"):
        fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 10.0))
    with pytest.raises(ValueError, match="t_x <= T"):
        fit_bgnbd(np.ones(20), np.full(20, 12.0), np.full(20, 10.0))
    with pytest.raises(FitError, match="repeat buyers"):
        fit_gamma_gamma(np.array([0.0, 1.0]), np.array([0.0, 10.0]))


@settings(max_examples=40, deadline=None)
@given(
    log_params=st.tuples(*[st.floats(-2.0, 4.0) for _ in range(3)]),
    seed=st.integers(0, 2**16),
)
def test_gamma_gamma_gradient_matches_finite_differences(log_params, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 30, 200).astype(float)
    m = rng.gamma(2.0, 25.0, 200)
    at = np.array(log_params)
    value, grad = _gg_objective(at, x, m)
    numeric = approx_fprime(at, lambda z: _gg_objective(z, x, m)[0], 1e-6)
    assert value == pytest.approx(-GammaGamma(*np.exp(at)).log_likelihood(x, m).sum())
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-3 * max(1.0, abs(value)) ** 0.5)
