"""The persona model: which features it reads, with which likelihood, and how it is fitted.

Personas describe who a customer is (tastes and habits), not where they are in their life with
the shop: recency, yearly order counts and email counts of the last 90 or 365 days change as a
customer lapses, and RFM segments and churn scores already say that. A model fed those splits
customers by lifecycle instead of by kind (on the simulated shop it halves the agreement with
the hidden personas), so they describe personas on the cards but do not define them.

What defines them, by group: behaviour (days between orders while active, units per product,
discount codes, November-December orders), value (order value, price point), product mix (lead
item per category), channel (visits per channel, email visits included, and the first visit's
channel), device (main device), engagement timing (the local hour they read email), shopping
timing (the local hour they order and visit), demographics (world region) and survey (NPS).

Not social engagement: the features frame has it (`social_engager`: ever reacted, commented or
wrote to the shop on Facebook or Instagram), but measured on the bench world at scale s (seed
42, 2026-10-31, `python -m bench.social_features --part personas`) a model with it as a
categorical term found the same k=7 with an adjusted Rand index of 0.53875 against 0.53877
without, and a largest size error of 21.8% against 21.5%: no better. Only 5% of the buyers
have a social account identity links to them (2.6% to 7.9% by hidden persona).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from pipelines.personas import mixture
from pipelines.personas.features import CATEGORY_PREFIX, CHANNEL_PREFIX, count_columns
from pipelines.personas.profile import build_profile

log = logging.getLogger(__name__)

CATEGORICAL = ("main_device", "world_region", "acquisition_channel")
# How sure the k-means start is of its own assignment (the rest spread over the others).
START_CONFIDENCE = 0.9
# Principal components of the profile that k-means starts from (and the whole profile).
START_DIMENSIONS: tuple[int, ...] = (4, 6, 8, 12)
# EM rounds that tell a promising start from a poor one.
SHORT_RUN = 15


# A feature takes part in the model only when at least this share of customers has evidence
# for it and their values are not all alike: a shop without a survey, web analytics or discount
# codes gives those features to nobody (or the same to everybody), and a feature that cannot
# tell customers apart would add only parameters. One in twenty is enough evidence to place a
# persona's mean on a few thousand customers, and little enough to keep a survey answered by a
# minority.
MIN_SEEN_SHARE = 0.05
# How a marketer reads each term of the model (the step's summary lists those in use).
TERM_LABELS: dict[str, str] = {
    "log_days_between_orders": "days between orders",
    "log_avg_order_value": "order value",
    "price_position": "price point",
    "log_units_per_line": "units per product",
    "discount": "discount codes",
    "holiday": "November-December orders",
    "product_mix": "product categories",
    "visit_channels": "visit channels",
    "read_hour": "hour they read email",
    "shop_hour": "hour they shop",
    "nps_score": "survey answer (NPS)",
    "main_device": "device",
    "world_region": "world region",
    "acquisition_channel": "first visit's channel",
}


def candidate_terms(levels: dict[str, tuple[str, ...]], product_mix: tuple[str, ...],
                    visit_channels: tuple[str, ...]) -> list[mixture.Term]:
    """Every feature the model can read, with its likelihood (see the module docstring)."""
    return [
        mixture.Gaussian("log_days_between_orders", events="order_gaps"),
        mixture.Gaussian("log_avg_order_value"),
        mixture.Gaussian("price_position", events="lead_items"),
        mixture.Gaussian("log_units_per_line", events="lines"),
        mixture.BetaBinomial("discounted_orders", "orders", name="discount"),
        mixture.BetaBinomial("holiday_orders", "orders", name="holiday"),
        # A shop without product categories or web analytics has no counts to mix.
        *([mixture.DirichletMultinomial(product_mix, name="product_mix")] if product_mix else []),
        *(
            [mixture.DirichletMultinomial(visit_channels, name="visit_channels")]
            if visit_channels
            else []
        ),
        mixture.Circular("read_hour", "read_hour_events"),
        mixture.Circular("shop_hour", "shop_hour_events"),
        mixture.Gaussian("nps_score"),
        *(mixture.Categorical(c, levels[c]) for c in CATEGORICAL),
    ]


@dataclass(frozen=True)
class ModelSpec:
    """The model's shape: the levels of each categorical, the count columns and the features
    in use. Two days whose data give the same spec can share parameters (a warm start)."""

    levels: dict[str, tuple[str, ...]]
    product_mix: tuple[str, ...]
    visit_channels: tuple[str, ...]
    features: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> ModelSpec:
        levels = {
            c: tuple(
                sorted(frame.get_column(c).cast(pl.String).fill_null("unknown").unique().to_list())
            )
            for c in CATEGORICAL
        }
        mix = tuple(count_columns(frame, CATEGORY_PREFIX))
        channels = tuple(count_columns(frame, CHANNEL_PREFIX))
        used = tuple(
            t.name
            for t in candidate_terms(levels, mix, channels)
            if informative(t, t.prepare(frame), frame.height)
        )
        return cls(levels, mix, channels, used)

    @classmethod
    def from_json(cls, data: dict) -> ModelSpec:
        return cls(
            {k: tuple(v) for k, v in data["levels"].items()},
            tuple(data["product_mix"]),
            tuple(data["visit_channels"]),
            tuple(data.get("features", ())),
        )

    def to_json(self) -> dict:
        return {
            "levels": {k: list(v) for k, v in self.levels.items()},
            "product_mix": list(self.product_mix),
            "visit_channels": list(self.visit_channels),
            "features": list(self.features),
        }

    def signature(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:12]

    def terms(self) -> list[mixture.Term]:
        """The terms of the features in use, in the candidates' order."""
        candidates = candidate_terms(self.levels, self.product_mix, self.visit_channels)
        return [t for t in candidates if t.name in self.features]

    def unused(self) -> list[str]:
        """Features the model can read that this shop's data does not give it."""
        return [n for n in TERM_LABELS if n not in self.features]


def informative(term: mixture.Term, data: dict[str, np.ndarray], customers: int) -> bool:
    """Whether a term can tell customers apart: evidence for MIN_SEEN_SHARE of them, and
    not the same value for all."""
    seen = np.asarray(data["seen"], dtype=bool)
    return bool(seen.sum() >= max(2, MIN_SEEN_SHARE * customers) and term.varies(data))


def starts(profile: np.ndarray, k: int, seeds: tuple[int, ...]) -> list[np.ndarray]:
    """Initial responsibilities (n, k), several: k-means on the profile's leading principal
    components (START_DIMENSIONS of them, and on the whole profile), once per seed. The
    leading components carry the profile's main structure and little of its noise, but how
    many carry structure depends on the shop, so each count gets its start and the likelihood
    picks (see `fit`)."""
    out = []
    # Components past the profile's rank add nothing: k-means on them is k-means on the whole
    # profile (distances are the same), a duplicate start. A shop with few features (orders
    # only) has a profile of rank 6 or so, where the duplicates were most of the starts.
    rank = int(np.linalg.matrix_rank(profile)) if profile.size else 0
    for dims in (*START_DIMENSIONS, None):
        if dims is not None and dims >= rank:
            continue
        space = profile if dims is None else PCA(dims, random_state=0).fit_transform(profile)
        for seed in seeds:
            labels = KMeans(k, n_init=1, random_state=seed).fit(space).labels_
            resp = np.full((len(labels), k), (1 - START_CONFIDENCE) / max(k - 1, 1))
            resp[np.arange(len(labels)), labels] = START_CONFIDENCE
            out.append(resp)
    return out


def fit(
    spec: ModelSpec,
    frame: pl.DataFrame,
    k: int,
    seeds: tuple[int, ...],
    max_iter: int = 200,
    tol: float = 1e-5,
) -> mixture.MixtureFit:
    """The most likely model from several starts: a short EM run from each start (`starts`),
    then the best of them run to convergence (the "emEM" strategy for mixtures: the likelihood
    has many local optima, and a few rounds are enough to tell a promising start). Ties go to
    the earlier start, so the result is deterministic."""
    terms = spec.terms()
    data = mixture.prepare(terms, frame)
    profile = build_profile(frame).matrix
    best: mixture.MixtureFit | None = None
    for resp in starts(profile, k, seeds):
        result = mixture.em(terms, data, resp, max_iter=SHORT_RUN, tol=tol)
        if best is None or result.loglik > best.loglik + 1e-9:
            best = result
    assert best is not None, "fit needs at least one seed"
    final = mixture.em(terms, data, best.resp, max_iter=max_iter, tol=tol, params=best.params)
    log.debug("k=%d loglik=%.5f iterations=%d", k, final.loglik, final.iterations)
    return final


def refine(
    spec: ModelSpec,
    frame: pl.DataFrame,
    weights: np.ndarray,
    params: list[dict],
    max_iter: int,
    tol: float = 1e-5,
) -> mixture.MixtureFit:
    """EM on `frame` from fitted parameters (a warm start): yesterday's model on today's data,
    or a model fitted on a sample on every customer."""
    terms = spec.terms()
    data = mixture.prepare(terms, frame)
    resp = mixture.predict(terms, data, weights, params)
    return mixture.em(terms, data, resp, max_iter=max_iter, tol=tol, params=params)
