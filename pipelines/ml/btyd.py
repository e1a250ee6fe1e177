"""Buy-till-you-die models: BG/NBD for how often a customer buys and whether they are still
around, Gamma-Gamma for how much they spend per order, both fit by maximum likelihood.

The lifetime-value baseline beside the XGBoost model, and features for it. The formulas are
those of Fader, Hardie and Lee: "Counting your customers the easy way: an alternative to the
Pareto/NBD model" (Marketing Science, 2005) and "The Gamma-Gamma model of monetary value"
(Fader and Hardie, 2013). Each customer is summarised by

- `x`: repeat purchases (orders after the first),
- `t_x`: time from the first to the last purchase,
- `T`: time from the first purchase to the end of the observation,
- `m`: the mean value of the repeat purchases (Gamma-Gamma only, customers with x > 0),

all in one time unit (the pipeline uses days; CDNOW's published fit uses weeks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1


class FitError(RuntimeError):
    """The likelihood could not be maximised (too few customers, or no repeat buyers)."""


@dataclass(frozen=True)
class BgNbd:
    """Purchase rates ~ Gamma(r, alpha); drop-out probability after each purchase ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood of (x, t_x, T)."""
        return _bgnbd_ll((self.r, self.alpha, self.a, self.b), *_arrays(x, t_x, T))

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Probability that each customer is still active at T."""
        x, t_x, T = _arrays(x, t_x, T)
        return 1.0 / (1.0 + self._dead_odds(x, t_x, T))

    def expected_purchases(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
    ) -> np.ndarray:
        """Expected purchases in (T, T + t] given each customer's history (FHL 2005, eq. 10)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        head = (a + b + x - 1.0) / (a - 1.0)
        tail = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1.0, z
        )
        return head * tail / (1.0 + self._dead_odds(x, t_x, T))

    def _dead_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(gone at T) / P(alive at T): zero for customers with no repeat purchase."""
        repeat = x > 0
        odds = np.zeros_like(x)
        xr = x[repeat]
        odds[repeat] = (self.a / (self.b + xr - 1.0)) * np.exp(
            (self.r + xr) * (np.log(self.alpha + T[repeat]) - np.log(self.alpha + t_x[repeat]))
        )
        return odds


@dataclass(frozen=True)
class GammaGamma:
    """Order values ~ Gamma(p, nu) per customer, nu ~ Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float

    def log_likelihood(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Each repeat buyer's log-likelihood of their mean order value `m` over `x` orders."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        return _gg_ll((self.p, self.q, self.gamma), x, m)

    @property
    def mean_value(self) -> float:
        """The population's mean order value, for customers with no repeat purchase yet."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1 else float("nan")

    def expected_value(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Expected value of a customer's future orders: their own mean, shrunk towards the
        population's by how few orders it rests on (Fader and Hardie 2013, eq. 5)."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        own = self.p * (self.gamma + m * x) / (self.p * x + self.q - 1.0)
        return np.where(x > 0, own, self.mean_value)


def _arrays(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(c, dtype=float) for c in columns)


def _bgnbd_ll(
    params: tuple[float, ...], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _gg_ll(params: tuple[float, ...], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, g = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def _gg_objective(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[float, np.ndarray]:
    """Gamma-Gamma's negative log-likelihood over log-parameters, and its gradient. The
    gradient is analytic: at a million buyers each evaluation is a pass of log-gamma over all
    of them, and a finite difference would cost three more."""
    p, q, g = np.exp(np.clip(log_params, -30, 30))
    total = float(_gg_ll((p, q, g), x, m).sum())
    if not np.isfinite(total):
        return 1e300, np.zeros(3)
    px = p * x
    log_gmx = np.log(g + m * x)
    psi = digamma(px + q)
    d_p = float(np.dot(x, psi - digamma(px) + np.log(m) + np.log(x) - log_gmx))
    d_q = float((psi - log_gmx).sum() + len(x) * (np.log(g) - digamma(q)))
    d_g = float(len(x) * q / g - ((px + q) / (g + m * x)).sum())
    # d/d(log theta) = theta * d/d(theta), negated with the likelihood.
    return -total, -np.array([p * d_p, q * d_q, g * d_g])


def _maximise(neg_ll, start: np.ndarray, what: str, jac: bool = False) -> np.ndarray:
    """Minimise a negative log-likelihood over log-parameters (so every parameter stays
    positive); when L-BFGS-B stops short of convergence, Nelder-Mead, which copes better
    with flat ridges, carries on from where it stopped. With `jac`, `neg_ll` returns the
    value and its gradient, which spares L-BFGS-B a finite difference per parameter."""
    result = minimize(neg_ll, start, method="L-BFGS-B", jac=jac)
    if not result.success:
        value = (lambda z: neg_ll(z)[0]) if jac else neg_ll
        polished = minimize(
            value,
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000},
        )
        result = polished if polished.fun <= result.fun else result
    if not np.isfinite(result.fun) or result.fun >= 1e300:
        raise FitError(f"{what}: the likelihood is not finite at any parameters tried")
    return np.exp(result.x)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD on the customers' (x, t_x, T).

    Identical summaries are counted once with a weight, which makes daily-grained histories
    (many customers share x = 0 and the same T) cheap to fit.
    """
    x, t_x, T = _arrays(x, t_x, T)
    if len(x) < 10 or not (x > 0).any():
        raise FitError(
            f"BG/NBD needs at least 10 customers and one repeat purchase, "
            f"got {len(x)} customers and {int((x > 0).sum())} repeat buyers"
        )
    if np.any(t_x > T) or np.any(t_x < 0) or np.any(x < 0):
        raise ValueError("BG/NBD inputs must have 0 <= t_x <= T and x >= 0")
    rows, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    ux, ut, uT = rows[:, 0], rows[:, 1], rows[:, 2]

    def neg_ll(log_params: np.ndarray) -> float:
        params = np.exp(np.clip(log_params, -30, 30))
        ll = _bgnbd_ll(tuple(params), ux, ut, uT)
        total = float(np.dot(weights, ll))
        return -total if np.isfinite(total) else 1e300

    # Start from a mean purchase rate of the observed repeat rate, a guess that converges on
    # both weekly (CDNOW) and daily (the shop) units.
    rate = max(float(x.sum() / T.sum()), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, 3.0])
    r, alpha, a, b = _maximise(neg_ll, start, "BG/NBD")
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on repeat buyers' (x, mean repeat order value m).

    Customers with x = 0 or a non-positive mean are left out, as the model requires.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if len(x) < 10:
        raise FitError(
            f"Gamma-Gamma needs at least 10 repeat buyers with a positive order value, got {len(x)}"
        )

    start = np.log([1.0, 2.0, float(np.mean(m))])
    p, q, g = _maximise(lambda z: _gg_objective(z, x, m), start, "Gamma-Gamma", jac=True)
    return GammaGamma(p=float(p), q=float(q), gamma=float(g))
