"""Which categories sell out of their usual share in which regions and months, learned from
the shop's orders: a category x region x month index, shrunk toward the category's index in
all regions together.

For region r, category c and month m, the observed count O is the orders in r and m holding c;
the expected count E is what c would have if it kept its yearly share of r's orders in every
month: E = orders(r, m) x orders(r, c) / orders(r). O / E is the raw index (1: no season).
Region size and the region's own busy months cancel out, so what is left is the category's
season in that region. Small cells are noisy, so each index is shrunk with a gamma-Poisson
model: O ~ Poisson(E theta), theta ~ Gamma(k P, k), P the category's index in month m over
all regions (its season everywhere) and k (how many expected orders' worth the prior
weighs) fitted per category by maximising the negative-binomial marginal likelihood. A region
whose season differs from the rest (the southern hemisphere's winter in July, a cold region's
longer winter) keeps its own index where its orders say so clearly enough.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import optimize, stats

MIN_STRENGTH = 0.01
MAX_STRENGTH = 1e6
INTERVAL = 0.8


def _fit_strength(observed: np.ndarray, expected: np.ndarray, prior: np.ndarray) -> float:
    """The prior's weight k (in expected orders) that best explains `observed` given
    `expected` x a gamma-distributed index with mean `prior`."""
    usable = (expected > 0) & (prior > 0)
    o, e, p = observed[usable], expected[usable], prior[usable]
    if len(o) < 2:
        return MAX_STRENGTH

    def negative_log_likelihood(log_k: float) -> float:
        k = math.exp(log_k)
        return -float(stats.nbinom.logpmf(o, k * p, k / (k + e)).sum())

    best = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(math.log(MIN_STRENGTH), math.log(MAX_STRENGTH)),
        method="bounded")
    return float(math.exp(best.x))


def seasonal_index(counts: pl.DataFrame) -> pl.DataFrame:
    """From `counts` (region, category, month 1-12, orders: orders in the region and month that
    hold the category), one row per region, category and month with the observed and expected
    orders, the raw index, the category's index over all regions (`pooled_index`), the
    prior's weight in expected orders (`prior_strength`: the fitted k, at most the other
    regions' expected orders that month), the shrunk index (`seasonal_index`), its 80%
    interval and the chance it is above 1 (`prob_above_one`). Months with no order of the
    category are rows too (observed 0)."""
    if counts.filter(pl.col("orders") < 0).height:
        raise ValueError("seasonal_index: orders must not be negative")
    if counts.filter(~pl.col("month").is_between(1, 12)).height:
        raise ValueError("seasonal_index: month must be between 1 and 12")
    # Sorted first, so every sum adds in the same order and a rerun gives the same bits
    # (the published tables are compared by hash).
    counts = counts.sort("region", "category", "month")
    regions = counts.select("region").unique(maintain_order=True)
    categories = counts.select("category").unique(maintain_order=True)
    months = pl.DataFrame({"month": list(range(1, 13))}, schema={"month": counts.schema["month"]})
    grid = regions.join(categories, how="cross").join(months, how="cross")
    cells = grid.join(counts.group_by("region", "category", "month").agg(pl.col("orders").sum()),
                      on=["region", "category", "month"], how="left").with_columns(
        pl.col("orders").fill_null(0).cast(pl.Float64).alias("observed"))
    # The region's orders by month and by category: a line per order and category, so an order
    # holding two categories counts once in each, and the shares use the same counting.
    cells = cells.with_columns(
        region_month=pl.col("observed").sum().over("region", "month"),
        region_category=pl.col("observed").sum().over("region", "category"),
        region_total=pl.col("observed").sum().over("region"),
    ).with_columns(
        expected=pl.when(pl.col("region_total") > 0).then(
            pl.col("region_month") * pl.col("region_category") / pl.col("region_total")
        ).otherwise(0.0),
    ).with_columns(
        pooled_observed=pl.col("observed").sum().over("category", "month"),
        pooled_expected=pl.col("expected").sum().over("category", "month"),
    )
    # The category's season over all regions is itself shrunk toward no season (1): a
    # category sold twice a year has no October peak because one of the two fell in October.
    pooled = cells.select("category", "month", "pooled_observed", "pooled_expected").unique(
        maintain_order=True)
    k0 = _fit_strength(pooled["pooled_observed"].to_numpy(), pooled["pooled_expected"].to_numpy(),
                       np.ones(pooled.height))
    cells = cells.with_columns(
        pooled_index=(pl.col("pooled_observed") + k0) / (pl.col("pooled_expected") + k0),
        pooled_weight=pl.col("pooled_expected") + k0,
    )
    parts = []
    for _, part in cells.group_by("category", maintain_order=True):
        o = part["observed"].to_numpy()
        e = part["expected"].to_numpy()
        p = part["pooled_index"].to_numpy()
        k = _fit_strength(o, e, p)
        # The prior is the other regions' evidence (and the no-season prior behind it): it can
        # weigh no more than that, so a fully pooled cell is as uncertain as the pooled index.
        others = np.maximum(part["pooled_weight"].to_numpy() - e, MIN_STRENGTH)
        strength = np.minimum(k, others)
        shape, rate = o + strength * p, e + strength
        tail = (1 - INTERVAL) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            low = np.where(shape > 0, stats.gamma.ppf(tail, shape, scale=1 / rate), 0.0)
            high = np.where(shape > 0, stats.gamma.ppf(1 - tail, shape, scale=1 / rate), 0.0)
            above = np.where(shape > 0, stats.gamma.sf(1.0, shape, scale=1 / rate), 0.0)
        parts.append(part.with_columns(
            prior_strength=pl.Series(strength),
            seasonal_index=pl.Series(np.where(rate > 0, shape / rate, 0.0)),
            index_low=pl.Series(low), index_high=pl.Series(high),
            prob_above_one=pl.Series(above)))
    out = pl.concat(parts) if parts else cells.with_columns(
        prior_strength=pl.lit(None, pl.Float64), seasonal_index=pl.lit(None, pl.Float64),
        index_low=pl.lit(None, pl.Float64), index_high=pl.lit(None, pl.Float64),
        prob_above_one=pl.lit(None, pl.Float64))
    return out.select(
        "region", "category", "month", "observed", "expected",
        raw_index=pl.when(pl.col("expected") > 0).then(pl.col("observed") / pl.col("expected")),
        pooled_index="pooled_index",
        prior_strength="prior_strength", seasonal_index="seasonal_index",
        index_low="index_low", index_high="index_high", prob_above_one="prob_above_one",
    ).sort("region", "category", "month")
