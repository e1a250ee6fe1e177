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

from pipelines.segments import mixture
from pipelines.segments.features import CATEGORY_PREFIX, CHANNEL_PREFIX, count_columns
from pipelines.segments.profile import build_profile

log = logging.getLogger(__name__)

CATEGORICAL = ("main_device", "world_region", "acquisition_channel")
# How sure the k-means start is of its own assignment (the rest spread over the others).
START_CONFIDENCE = 0.9
# Principal components of the profile that k-means starts from (and the whole profile).
START_DIMENSIONS: tuple[int, ...] = (4, 6, 8, 12)
# EM rounds that tell a promising start from a poor one.
SHORT_RUN = 15


@dataclass(frozen=True)
class ModelSpec:
    """The model's shape: the levels of each categorical and the count columns. Two days
    whose data give the same spec can share parameters (a warm start)."""

    levels: dict[str, tuple[str, ...]]
    product_mix: tuple[str, ...]
    visit_channels: tuple[str, ...]

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> ModelSpec:
        levels = {
            c: tuple(
                sorted(frame.get_column(c).cast(pl.String).fill_null("unknown").unique().to_list())
            )
            for c in CATEGORICAL
        }
        return cls(
            levels,
            tuple(count_columns(frame, CATEGORY_PREFIX)),
            tuple(count_columns(frame, CHANNEL_PREFIX)),
        )

    @classmethod
    def from_json(cls, data: dict) -> ModelSpec:
        return cls(
            {k: tuple(v) for k, v in data["levels"].items()},
            tuple(data["product_mix"]),
            tuple(data["visit_channels"]),
        )

    def to_json(self) -> dict:
        return {
            "levels": {k: list(v) for k, v in self.levels.items()},
            "product_mix": list(self.product_mix),
            "visit_channels": list(self.visit_channels),
        }

    def signature(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:12]

    def terms(self) -> list[mixture.Term]:
        return [
            mixture.Gaussian("log_days_between_orders", events="order_gaps"),
            mixture.Gaussian("log_avg_order_value"),
            mixture.Gaussian("price_position", events="lead_items"),
            mixture.Gaussian("units_per_line", events="lines"),
            mixture.BetaBinomial("discounted_orders", "orders", name="discount"),
            mixture.BetaBinomial("holiday_orders", "orders", name="holiday"),
            # A shop without product categories or web analytics has no counts to mix.
            *(
                [mixture.DirichletMultinomial(self.product_mix, name="product_mix")]
                if self.product_mix
                else []
            ),
            *(
                [mixture.DirichletMultinomial(self.visit_channels, name="visit_channels")]
                if self.visit_channels
                else []
            ),
            mixture.Circular("read_hour", "read_hour_events"),
            mixture.Circular("shop_hour", "shop_hour_events"),
            mixture.Gaussian("nps_score"),
            *(mixture.Categorical(c, self.levels[c]) for c in CATEGORICAL),
        ]


def starts(profile: np.ndarray, k: int, seeds: tuple[int, ...]) -> list[np.ndarray]:
    """Initial responsibilities (n, k), several: k-means on the profile's leading principal
    components (START_DIMENSIONS of them, and on the whole profile), once per seed. The
    leading components carry the profile's main structure and little of its noise, but how
    many carry structure depends on the shop, so each count gets its start and the likelihood
    picks (see `fit`)."""
    out = []
    full = profile.shape[1]
    for dims in (*START_DIMENSIONS, None):
        if dims is not None and dims >= full:
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
