"""Response curves: what an ad set's daily spend brings, fitted per ad set.

The curve is Hill saturation on geometric adstock: conversions on day t are Poisson with mean
beta * hill(x_t) where x_t = (1 - decay) * sum_k decay^k spend_{t-k} (normalised so a steady
spend s gives x = s, and kappa stays in the account's currency per day) and
hill(x) = x^alpha / (x^alpha + kappa^alpha). No intercept: the outcome is conversions Meta's
clicks brought (credited to the click day), so a day with no spend and nothing carried over
brings none.

Fitted by penalised Poisson likelihood (the maximum a posteriori under weak priors that keep
the fit finite when an ad set's spend barely varies) with SciPy; the uncertainty is the Laplace
approximation (the inverse Hessian at the optimum), scaled by the Pearson dispersion so that
over-dispersed days widen it as a negative-binomial would. The Laplace approximation is one
Hessian per ad set where a bootstrap over days would refit hundreds of times, and it keeps
the fit deterministic for a daily run; bench/README.md compares both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

# Parameter vector on the unconstrained scale: log beta, log kappa, log alpha, logit decay.
PARAMS = ("beta", "kappa", "alpha", "decay")
ALPHA_PRIOR = (np.log(1.2), 0.5)  # log alpha: shapes from concave (0.5) to S-shaped (3)
KAPPA_PRIOR_SD = 1.0  # log kappa around the median active spend: the half-effect point
DECAY_PRIOR = (-1.5, 1.5)  # logit decay: little carry-over unless the days say otherwise
MAX_DECAY = 0.9


@dataclass(frozen=True)
class Curve:
    """A fitted (or true) response curve: expected conversions per day at a steady daily
    spend, `beta * s^alpha / (s^alpha + kappa^alpha)`; `decay` is the adstock's carry-over."""

    beta: float
    kappa: float
    alpha: float
    decay: float = 0.0

    def response(self, spend: np.ndarray | float) -> np.ndarray:
        """Expected conversions per day at steady daily `spend`."""
        s = np.maximum(np.asarray(spend, dtype=float), 0.0)
        return self.beta * hill(s, self.alpha, self.kappa)

    def marginal(self, spend: np.ndarray | float) -> np.ndarray:
        """Extra conversions per day from one more unit of daily spend at `spend`."""
        s = np.maximum(np.asarray(spend, dtype=float), 1e-9)
        h = hill(s, self.alpha, self.kappa)
        return self.beta * self.alpha * h * (1.0 - h) / s


@dataclass(frozen=True)
class Fit:
    """A curve fitted to one ad set's days, with draws from its approximate posterior
    (`draws`: rows of beta, kappa, alpha, decay) and the Pearson dispersion of the days."""

    curve: Curve
    draws: np.ndarray
    dispersion: float
    days: int
    converged: bool

    def curves(self) -> list[Curve]:
        return [Curve(*row) for row in self.draws]


def hill(spend: np.ndarray, alpha: float, kappa: float) -> np.ndarray:
    """The share of the maximum effect reached at `spend`: 0 at none, 1/2 at kappa."""
    # Through logs: x^a / (x^a + k^a) = expit(a (log x - log k)), stable for any size.
    with np.errstate(divide="ignore"):
        return special.expit(alpha * (np.log(np.maximum(spend, 0.0)) - np.log(kappa)))


def adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Geometric carry-over, normalised: a steady spend s stays s."""
    from scipy.signal import lfilter

    return lfilter([1.0 - decay], [1.0, -decay], spend)


def _unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    beta, kappa, alpha = np.exp(theta[:3])
    decay = MAX_DECAY * special.expit(theta[3])
    return float(beta), float(kappa), float(alpha), float(decay)


def _neg_log_posterior(theta: np.ndarray, spend: np.ndarray, outcome: np.ndarray,
                       kappa_centre: float) -> float:
    beta, kappa, alpha, decay = _unpack(theta)
    mu = beta * hill(adstock(spend, decay), alpha, kappa) + 1e-9
    nll = float(np.sum(mu - outcome * np.log(mu)))
    prior = (
        0.5 * ((theta[1] - kappa_centre) / KAPPA_PRIOR_SD) ** 2
        + 0.5 * ((theta[2] - ALPHA_PRIOR[0]) / ALPHA_PRIOR[1]) ** 2
        + 0.5 * ((theta[3] - DECAY_PRIOR[0]) / DECAY_PRIOR[1]) ** 2
    )
    return nll + prior


def _hessian(f, theta: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of `f` at `theta`."""
    n = len(theta)
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            e_i, e_j = np.eye(n)[i] * step, np.eye(n)[j] * step
            value = (f(theta + e_i + e_j) - f(theta + e_i - e_j)
                     - f(theta - e_i + e_j) + f(theta - e_i - e_j)) / (4 * step * step)
            hess[i, j] = hess[j, i] = value
    return hess


def fit_curve(spend: np.ndarray, outcome: np.ndarray, *, n_draws: int = 200,
              seed: int = 0) -> Fit:
    """Fit one ad set's curve to its daily `spend` and `outcome` (conversions credited to
    each day, days in order with no gaps; zero-spend days included, they carry the adstock).

    Returns the MAP curve and `n_draws` curves drawn from the Laplace approximation."""
    spend = np.asarray(spend, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    active = spend[spend > 0]
    kappa_centre = float(np.log(np.median(active)))
    rate = outcome[spend > 0].mean()
    def objective(theta: np.ndarray) -> float:
        return _neg_log_posterior(theta, spend, outcome, kappa_centre)

    # Start at the half-effect point at the median spend, beta twice the mean outcome.
    starts = [np.array([np.log(max(2.0 * rate, 1e-3)), kappa_centre + shift, ALPHA_PRIOR[0],
                        DECAY_PRIOR[0]]) for shift in (-1.0, 0.0, 1.0)]
    best = min((optimize.minimize(objective, start, method="L-BFGS-B") for start in starts),
               key=lambda r: r.fun)
    theta = best.x
    beta, kappa, alpha, decay = _unpack(theta)
    mu = beta * hill(adstock(spend, decay), alpha, kappa) + 1e-9
    dof = max(len(outcome) - len(theta), 1)
    dispersion = max(float(np.sum((outcome - mu) ** 2 / mu) / dof), 1.0)
    hess = _hessian(objective, theta)
    try:
        cov = np.linalg.inv(hess) * dispersion
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        # A flat direction (spend that never varied): fall back to the diagonal, floored.
        cov = np.diag(dispersion / np.maximum(np.abs(np.diag(hess)), 1e-2))
    rng = np.random.default_rng(seed)
    samples = rng.multivariate_normal(theta, cov, size=n_draws)
    draws = np.array([_unpack(s) for s in samples])
    return Fit(curve=Curve(beta, kappa, alpha, decay), draws=draws, dispersion=dispersion,
               days=len(outcome), converged=bool(best.success))
