"""A latent class model for mixed customer data: each persona is a distribution over every
feature, fitted by EM; a customer belongs to the persona most likely to have produced them.

Why a mixture and not k-means on one-hot columns: customer data mixes kinds (rates, shares,
counts, categories, clock hours) and, above all, evidence of very different weight. A customer
with one order has a product "mix" of 100% of something; k-means takes that as seriously as a
customer with fifty orders and splits people by the accident of their first basket. Here each
feature has the likelihood its kind calls for, so evidence counts for what it is worth:

- `Gaussian`: a figure (log order rate, log order value); with `events`, an average of that
  many events (price point, units per line) whose noise shrinks as 1/events;
- `Circular`: a clock hour (the local hour someone reads email), the same on a 24-hour circle;
- `BetaBinomial`: k of n events (discounted orders of all orders), overdispersed;
- `DirichletMultinomial`: counts over categories (lead items per product category, sessions
  per channel), overdispersed;
- `Categorical`: one label (world region, acquisition channel).

Terms are independent given the persona (naive Bayes within a class). A missing value adds
nothing to a customer's likelihood, so people without email or survey answers are placed by
what is known about them. Overdispersion (how much people in one persona differ) is estimated
from the data, on a fixed grid, so no per-feature weights need choosing: each feature weighs
what its likelihood says it weighs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse
from scipy.special import betaln, gammaln

# Candidate overdispersion concentrations: small = people in a persona differ a lot.
CONCENTRATIONS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 200.0, 1e4)
MIN_PROB = 1e-3
RETUNE_EVERY = 10
MIN_VAR_FRACTION = 1e-3  # a persona's variance floor, as a share of the feature's variance


class Term(ABC):
    """One feature's likelihood. `prepare` reads its columns from the frame once; `fit` returns
    its parameters from responsibilities; `loglik` is (n, k) for given parameters."""

    name: str

    @abstractmethod
    def columns(self) -> list[str]: ...

    @abstractmethod
    def prepare(self, frame: pl.DataFrame) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def fit(self, data: dict[str, np.ndarray], resp: np.ndarray) -> dict: ...

    @abstractmethod
    def loglik(self, data: dict[str, np.ndarray], params: dict) -> np.ndarray: ...

    @abstractmethod
    def n_params(self, k: int) -> int:
        """Free parameters of the term in a k-persona model (for BIC)."""

    @abstractmethod
    def varies(self, data: dict[str, np.ndarray]) -> bool:
        """Whether the customers with evidence differ in it (a constant tells nobody apart)."""


def _floats(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame.get_column(column).cast(pl.Float64).fill_nan(None).to_numpy().astype(float)


@dataclass(frozen=True)
class Gaussian(Term):
    """value ~ Normal(mean_k, var + noise / events). With `events`, the value is an average of
    that many events, and `noise` (one event's variance) is estimated with `var`; without,
    noise is 0. Every persona has the same spread `var`: personas differ in their typical
    value, and a persona with its own spread can shrink onto a tight core and cede its edges,
    which fits the sample better and the people worse. `circular` values are clock hours
    (0-24), compared the short way round."""

    name: str
    events: str | None = None
    circular: bool = False

    def columns(self) -> list[str]:
        return [self.name] + ([self.events] if self.events else [])

    def prepare(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        x = _floats(frame, self.name)
        n = _floats(frame, self.events) if self.events else np.ones_like(x)
        seen = ~np.isnan(x) & (n > 0)
        total_var = float(np.var(x[seen])) if seen.sum() > 1 else 1.0
        inv_n = 1.0 / np.maximum(np.nan_to_num(n, nan=1.0), 1.0) if self.events else None
        x = np.where(seen, x, 0.0)
        data = {
            "x": x,
            "seen": seen,
            "inv_n": inv_n if inv_n is not None else np.zeros_like(x),
            "floor": np.array(max(total_var, 1e-6) * MIN_VAR_FRACTION),
        }
        if self.circular:
            angle = x * (2 * math.pi / 24)
            data.update(sin=np.sin(angle), cos=np.cos(angle))
        return data

    def _diff(self, x: np.ndarray, mean: np.ndarray) -> np.ndarray:
        d = x[:, None] - mean[None, :]
        if not self.circular:
            return d
        # Hours and means lie in [0, 24), so a difference is less than a day either way.
        return np.where(d >= 12.0, d - 24.0, np.where(d < -12.0, d + 24.0, d))

    def _d2(self, data: dict, mean_list: list[float]) -> np.ndarray:
        """Squared differences to the persona means; `fit` leaves them for the `loglik` of
        the same parameters, which EM calls next."""
        cached = data.get("_d2")
        if cached is not None and cached[0] is mean_list:
            return cached[1]
        d2 = self._diff(data["x"], np.asarray(mean_list)) ** 2
        data["_d2"] = (mean_list, d2)
        return d2

    def fit(
        self, data: dict[str, np.ndarray], resp: np.ndarray, previous: dict | None = None
    ) -> dict:
        seen = data["seen"]
        k = resp.shape[1]
        floor = float(data["floor"])
        var, noise = (1.0, 0.0) if previous is None else (previous["var"][0], previous["noise"])
        mean = self._mean(data, resp, var, noise).tolist()
        d2 = self._d2(data, mean)
        # Every persona shares the spread, so only each customer's weighted sums matter.
        weight = resp.sum(axis=1) * seen
        weighted_d2 = (resp * d2).sum(axis=1) * seen
        if self.events is None:
            var = max(float(weighted_d2.sum()) / max(float(weight.sum()), 1e-12), floor)
            return {"mean": mean, "var": [var] * k, "noise": 0.0}
        var, noise = _variance_components(weight, weighted_d2, data["inv_n"], var, noise, floor)
        return {"mean": mean, "var": [var] * k, "noise": noise}

    def _mean(self, data, resp: np.ndarray, var: float, noise: float) -> np.ndarray:
        # Precision-weighted: a customer's average over many events says more than one event.
        prec = data["seen"] / (var + noise * data["inv_n"])
        total = np.maximum(prec @ resp, 1e-12)
        if not self.circular:
            return ((prec * data["x"]) @ resp) / total
        s = (prec * data["sin"]) @ resp
        c = (prec * data["cos"]) @ resp
        return (np.arctan2(s, c) * 24 / (2 * math.pi)) % 24.0

    def n_params(self, k: int) -> int:
        return k + 1 + (1 if self.events else 0)

    def varies(self, data: dict[str, np.ndarray]) -> bool:
        seen = data["x"][data["seen"]]
        return bool(len(seen) and np.ptp(seen) > 0)

    def loglik(self, data: dict[str, np.ndarray], params: dict) -> np.ndarray:
        total = params["var"][0] + params["noise"] * data["inv_n"][:, None]
        d2 = self._d2(data, params["mean"])
        ll = -0.5 * (np.log(2 * math.pi * total) + d2 / total)
        return ll * data["seen"][:, None]


def _variance_components(
    weight: np.ndarray,
    weighted_d2: np.ndarray,
    inv_n: np.ndarray,
    var: float,
    noise: float,
    floor: float,
    steps: int = 5,
) -> tuple[float, float]:
    """Maximum-likelihood (var, noise) of squared deviations d2 ~ (var + noise * inv_n) *
    chi2_1, from each customer's total weight and weighted d2 (summed over personas, whose
    spread is shared), by Fisher scoring from the previous values (a few steps suffice: the
    previous round's values are close). The 2x2 system is solved in closed form: LAPACK's
    call costs more than the sums here."""
    var, noise = max(var, floor), max(noise, 0.0)
    inv_n2 = inv_n * inv_n
    for _ in range(steps):
        v = var + noise * inv_n
        resid = (weighted_d2 - weight * v) / v**2
        info_w = weight / v**2
        s0, s1 = 0.5 * float(resid.sum()), 0.5 * float(resid @ inv_n)
        a = 0.5 * float(info_w.sum()) + 1e-12
        b = 0.5 * float(info_w @ inv_n)
        d = 0.5 * float(info_w @ inv_n2) + 1e-12
        det = a * d - b * b
        if det == 0.0 or not math.isfinite(det):
            break
        var = max(var + (d * s0 - b * s1) / det, floor)
        noise = max(noise + (a * s1 - b * s0) / det, 0.0)
    return float(var), float(noise)


def Circular(name: str, events: str | None = None) -> Gaussian:
    """A clock hour (0-24) as a wrapped normal; see Gaussian."""
    return Gaussian(name, events, circular=True)


def _indicator(index: np.ndarray, size: int) -> sparse.csr_matrix:
    """(n, size) sparse matrix with a one in each row at `index`: its transpose sums rows by
    their index."""
    return sparse.csr_matrix((np.ones(len(index)), (np.arange(len(index)), index)),
                             shape=(len(index), size))


def _best_concentration(score) -> float:
    return max(CONCENTRATIONS, key=score)


@dataclass(frozen=True)
class BetaBinomial(Term):
    """`successes` of `trials` ~ BetaBinomial(trials, p_k * c, (1 - p_k) * c)."""

    successes: str
    trials: str
    name: str = ""

    def columns(self) -> list[str]:
        return [self.successes, self.trials]

    def prepare(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        k = _floats(frame, self.successes)
        n = _floats(frame, self.trials)
        seen = ~np.isnan(k) & ~np.isnan(n) & (n > 0)
        k, n = np.where(seen, k, 0.0), np.where(seen, n, 0.0)
        # Customers share few (successes, trials) pairs: the likelihood is computed per pair.
        pairs, pair_of = np.unique(np.column_stack([k, n]), axis=0, return_inverse=True)
        pair_of = pair_of.ravel()
        return {
            "k": k,
            "n": n,
            "seen": seen,
            "pair_k": pairs[:, 0],
            "pair_n": pairs[:, 1],
            "pair_of": pair_of,
            "by_pair": _indicator(pair_of, len(pairs)),
        }

    def fit(
        self, data: dict[str, np.ndarray], resp: np.ndarray, previous: dict | None = None
    ) -> dict:
        w = resp * data["seen"][:, None]
        p = (data["k"] @ w + 0.5) / (data["n"] @ w + 1.0)
        p = np.clip(p, MIN_PROB, 1 - MIN_PROB)
        if previous is not None and not previous.get("retune", False):
            return {"p": p.tolist(), "concentration": previous["concentration"]}
        weight = data["by_pair"].T @ w  # (pairs, k)
        c = _best_concentration(lambda c: float((weight * self._pair_ll(data, p, c)).sum()))
        return {"p": p.tolist(), "concentration": c}

    @staticmethod
    def _pair_ll(data, p, c) -> np.ndarray:
        k, n = data["pair_k"][:, None], data["pair_n"][:, None]
        a, b = p[None, :] * c, (1 - p[None, :]) * c
        return betaln(k + a, n - k + b) - betaln(a, b)

    def _ll(self, data, p, c) -> np.ndarray:
        return self._pair_ll(data, p, c)[data["pair_of"]]

    def n_params(self, k: int) -> int:
        return k + 1

    def varies(self, data: dict[str, np.ndarray]) -> bool:
        seen = data["seen"]
        share = data["k"][seen] / data["n"][seen]
        return bool(len(share) and np.ptp(share) > 0)

    def loglik(self, data: dict[str, np.ndarray], params: dict) -> np.ndarray:
        ll = self._ll(data, np.asarray(params["p"]), params["concentration"])
        return ll * data["seen"][:, None]


@dataclass(frozen=True)
class DirichletMultinomial(Term):
    """Counts over categories ~ DirichletMultinomial(p_k * c)."""

    counts: tuple[str, ...]
    name: str = ""

    def columns(self) -> list[str]:
        return list(self.counts)

    def prepare(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        x = np.column_stack([_floats(frame, c) for c in self.counts])
        x = np.nan_to_num(x, nan=0.0)
        n = x.sum(axis=1)
        # Most customers have counts in a few categories only: keep the non-zero cells, whose
        # terms are all the likelihood needs (a zero count adds nothing).
        rows, cols = np.nonzero(x)
        # Few distinct totals and (count, category) cells: their terms are computed once each
        # and summed into each customer's by sparse products.
        totals, total_of = np.unique(n, return_inverse=True)
        cells, cell_of = np.unique(
            np.column_stack([x[rows, cols], cols]), axis=0, return_inverse=True
        )
        return {
            "x": x,
            "seen": n > 0,
            "totals": totals,
            "total_of": total_of.ravel(),
            "by_total": _indicator(total_of.ravel(), len(totals)),
            "cell_vals": cells[:, 0],
            "cell_cols": cells[:, 1].astype(np.int64),
            "cells": sparse.csr_matrix(
                (np.ones(len(rows)), (rows, cell_of.ravel())), shape=(len(n), len(cells))
            ),
        }

    def fit(
        self, data: dict[str, np.ndarray], resp: np.ndarray, previous: dict | None = None
    ) -> dict:
        w = resp * data["seen"][:, None]
        totals = w.T @ data["x"] + 0.5  # (k, J)
        p = totals / totals.sum(axis=1, keepdims=True)
        p = np.clip(p, MIN_PROB, None)
        p /= p.sum(axis=1, keepdims=True)
        if previous is not None and not previous.get("retune", False):
            return {"p": p.tolist(), "concentration": previous["concentration"]}
        by_total, by_cell = data["by_total"].T @ w, data["cells"].T @ w

        def score(c: float) -> float:
            per_total, per_cell = self._pieces(data, p, c)
            return float((by_total * per_total).sum() + (by_cell * per_cell).sum())

        return {"p": p.tolist(), "concentration": _best_concentration(score)}

    @staticmethod
    def _pieces(data, p, c) -> tuple[np.ndarray, np.ndarray]:
        """The likelihood's term for each distinct total (totals, 1) and for each distinct
        non-zero (count, category) cell (cells, k); a customer's is their sum."""
        per_total = gammaln(c) - gammaln(data["totals"][:, None] + c)  # (totals, 1)
        a = (p * c).T[data["cell_cols"]]  # (distinct cells, k)
        return per_total, gammaln(data["cell_vals"][:, None] + a) - gammaln(a)

    def _ll(self, data, p, c) -> np.ndarray:
        per_total, per_cell = self._pieces(data, p, c)
        return per_total[data["total_of"]] + data["cells"] @ per_cell

    def n_params(self, k: int) -> int:
        return k * (len(self.counts) - 1) + 1

    def varies(self, data: dict[str, np.ndarray]) -> bool:
        return bool((data["x"].sum(axis=0) > 0).sum() > 1)

    def loglik(self, data: dict[str, np.ndarray], params: dict) -> np.ndarray:
        ll = self._ll(data, np.asarray(params["p"]), params["concentration"])
        return ll * data["seen"][:, None]


@dataclass(frozen=True)
class Categorical(Term):
    """One label per customer ~ Categorical(p_k); `levels` fixes the label set and order."""

    name: str
    levels: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        return [self.name]

    def prepare(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        values = frame.get_column(self.name).cast(pl.String).to_list()
        index = {v: i for i, v in enumerate(self.levels)}
        code = np.array([index.get(v, -1) if v is not None else -1 for v in values])
        return {"code": code, "seen": code >= 0}

    def fit(
        self, data: dict[str, np.ndarray], resp: np.ndarray, previous: dict | None = None
    ) -> dict:
        onehot = np.zeros((len(data["code"]), len(self.levels)))
        seen = data["seen"]
        onehot[np.flatnonzero(seen), data["code"][seen]] = 1.0
        totals = resp.T @ onehot + 0.5
        p = totals / totals.sum(axis=1, keepdims=True)
        return {"p": p.tolist()}

    def n_params(self, k: int) -> int:
        return k * (len(self.levels) - 1)

    def varies(self, data: dict[str, np.ndarray]) -> bool:
        return bool(len(np.unique(data["code"][data["seen"]])) > 1)

    def loglik(self, data: dict[str, np.ndarray], params: dict) -> np.ndarray:
        logp = np.log(np.asarray(params["p"]))  # (k, L)
        out = np.zeros((len(data["code"]), logp.shape[0]))
        seen = data["seen"]
        out[seen] = logp[:, data["code"][seen]].T
        return out


@dataclass
class MixtureFit:
    """A fitted model: mixing weights, each term's parameters, the customers' responsibilities
    and hard labels (0..k-1), the log-likelihood and the iterations EM took."""

    weights: np.ndarray
    params: list[dict]
    resp: np.ndarray
    labels: np.ndarray
    loglik: float
    iterations: int
    converged: bool = field(default=True)

    @property
    def k(self) -> int:
        return len(self.weights)


def prepare(terms: Sequence[Term], frame: pl.DataFrame) -> list[dict[str, np.ndarray]]:
    """Each term's arrays from the frame; raises ValueError naming a missing column."""
    missing = sorted({c for t in terms for c in t.columns()} - set(frame.columns))
    if missing:
        raise ValueError(f"persona model: the feature frame lacks columns {missing}")
    return [t.prepare(frame) for t in terms]


def _normalise(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities (rows of exp(joint) summing to one) and each row's log normaliser.
    By hand rather than scipy's logsumexp, whose checks and second exponential cost a quarter
    of an EM round on a few thousand customers (profiled on Online Retail II)."""
    top = joint.max(axis=1, keepdims=True)
    scaled = np.exp(joint - top)
    total = scaled.sum(axis=1, keepdims=True)
    return scaled / total, (top + np.log(total)).ravel()


def _log_joint(terms, data, weights, params) -> np.ndarray:
    ll = np.log(np.maximum(weights, 1e-300))[None, :].repeat(len(data[0]["seen"]), axis=0)
    for term, d, p in zip(terms, data, params, strict=True):
        ll += term.loglik(d, p)
    return ll


def em(
    terms: Sequence[Term],
    data: list[dict[str, np.ndarray]],
    resp: np.ndarray,
    max_iter: int = 200,
    tol: float = 1e-6,
    params: list[dict] | None = None,
) -> MixtureFit:
    """EM from initial responsibilities `resp` (n, k), or from `params` and mixing weights
    implied by `resp` when given (a warm start). Stops when the mean log-likelihood gains
    less than `tol`. Empty personas keep a tiny weight rather than vanish, so k is kept."""
    resp = np.asarray(resp, dtype=float)
    previous = params
    last = -np.inf
    loglik = -np.inf
    iterations = 0
    converged = False
    since_retune = RETUNE_EVERY  # retune on the first round
    for _ in range(max_iter):
        iterations += 1
        weights = np.maximum(resp.mean(axis=0), 1e-6)
        weights /= weights.sum()
        # Overdispersion moves slowly and costs most to estimate: it is re-estimated every
        # RETUNE_EVERY rounds, and always before EM may stop.
        retune = since_retune >= RETUNE_EVERY
        since_retune = 0 if retune else since_retune + 1
        params = [
            t.fit(d, resp, {**previous[i], "retune": retune} if previous else None)
            for i, (t, d) in enumerate(zip(terms, data, strict=True))
        ]
        previous = params
        resp, norm = _normalise(_log_joint(terms, data, weights, params))
        loglik = float(norm.mean())
        if loglik - last < tol:
            if retune:
                converged = True
                break
            since_retune = RETUNE_EVERY
        last = loglik
    weights = np.maximum(resp.mean(axis=0), 1e-6)
    weights /= weights.sum()
    return MixtureFit(
        weights=weights,
        params=params or [],
        resp=resp,
        labels=resp.argmax(axis=1),
        loglik=loglik,
        iterations=iterations,
        converged=converged,
    )


def bic(terms: Sequence[Term], fit: MixtureFit, n: int) -> float:
    """Bayesian information criterion of a fit on n customers (lower is better):
    -2 * total log-likelihood + free parameters * ln(n)."""
    params = fit.k - 1 + sum(t.n_params(fit.k) for t in terms)
    return float(-2.0 * fit.loglik * n + params * math.log(max(n, 2)))


def predict(
    terms: Sequence[Term],
    data: list[dict[str, np.ndarray]],
    weights: np.ndarray,
    params: list[dict],
) -> np.ndarray:
    """Responsibilities (n, k) of fitted parameters for new data."""
    joint = _log_joint(terms, data, np.asarray(weights), params)
    return _normalise(joint)[0]
