"""The models' features: what `marts.customer_features` holds per cutoff, and what the models
derive from it in Polars (the buy-till-you-die summaries)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import polars as pl

from pipelines.ml import btyd

log = logging.getLogger(__name__)

CHURN_FEATURES: tuple[str, ...] = (
    "days_since_last_order",
    "tenure_days",
    "orders_count",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "revenue",
    "avg_order_value",
    "revenue_90d",
    "revenue_365d",
    "avg_days_between_orders",
    "is_email_subscribed",
)

# What `customer_features` knows beyond orders (email, web, surveys, discounts, categories):
# all zero or empty for a shop with only an orders file, which the models then simply ignore.
ENGAGEMENT_FEATURES: tuple[str, ...] = (
    "discounted_order_share",
    "categories_bought",
    "email_opens_90d",
    "email_clicks_90d",
    "has_unsubscribed",
    "sessions_30d",
    "sessions_90d",
    "ad_sessions_90d",
    "days_since_last_session",
    "nps_score",
)

# What `customer_features` knows of the customer's Facebook and Instagram engagement (of the
# social accounts identity links to them): zero or null for a shop without the social source.
SOCIAL_FEATURES: tuple[str, ...] = (
    "social_engagements_90d",
    "social_messages_90d",
    "days_since_last_social",
    "social_negative_share_180d",
)

# +1: churn risk can only rise with the feature; -1: only fall. Recency and recent activity
# are the relations a marketer would bet on; the rest are left free.
CHURN_MONOTONE: dict[str, int] = {
    "days_since_last_order": 1,
    "orders_90d": -1,
    "orders_365d": -1,
}

# Active customers: bought at least once, and within the last year.
ACTIVE_WITHIN_DAYS = 365


def read_features(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """All feature snapshots (every cutoff) from the work file."""
    return con.sql("select * from marts.customer_features").pl()


def read_purchases(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every customer's purchases as known at the end of the run's date (`marts.fct_purchases`:
    the orders of one day that are purchases, taken together): the day as `ordered_at` (its
    midnight, UTC), `amount` (as ordered) and `value` (net of refunds), both in the reporting
    currency: null on a day with an order that has no exchange rate, which value labels
    leave out rather than add in another currency. What labels look for after a cutoff, and
    where lifetime value's history begins. Features come from `marts.customer_features`
    alone, which places each order and cancellation against each cutoff (a purchase
    cancelled since an older cutoff was one at it)."""
    purchases = con.sql(
        "select customer_key, purchase_date, orders, "
        "cast(amount_reporting as double) as amount, "
        "cast(value_reporting as double) as value from marts.fct_purchases"
    ).pl()
    return purchases.with_columns(
        ordered_at=pl.col("purchase_date").cast(pl.Datetime("us", "UTC"))
    ).drop("purchase_date")


# What BG/NBD and Gamma-Gamma, fit on each cutoff's customers, say about each customer.
BTYD_FEATURES: tuple[str, ...] = (
    "p_alive",
    "expected_orders_90d",
    "expected_orders_365d",
    "expected_order_value",
    "expected_value_365d",
)


def btyd_inputs(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days from the features: repeat purchases (purchase days after the
    first: several orders of one day are one purchase, as BG/NBD counts them), first to last
    purchase, first purchase to the cutoff."""
    T = frame.get_column("tenure_days").cast(pl.Float64).to_numpy()
    x = (frame.get_column("purchase_days").cast(pl.Float64) - 1).clip(0).to_numpy()
    t_x = T - frame.get_column("days_since_last_order").cast(pl.Float64).to_numpy()
    return x, np.clip(t_x, 0, T), T


# BG/NBD has four parameters and Gamma-Gamma three: this many customers pin them down as well
# as a million do, at a fifth of the cost. Fewer customers than this are all used.
BTYD_FIT_SAMPLE = 200_000


def fit_sample(keys: pl.Series, size: int) -> np.ndarray:
    """Row positions of at most `size` customers, chosen by a hash of their key and listed in
    key order, so that the same customers are fit in the same order whatever the order of
    the rows: a fit's sums then add in one order, and a rerun gives the same bits."""
    chosen = np.arange(keys.len())
    if keys.len() > size:
        chosen = np.argpartition(keys.hash(seed=11).to_numpy(), size - 1)[:size]
    return chosen[keys.gather(chosen).arg_sort().to_numpy()]


@dataclass(frozen=True)
class BtydFit:
    """BG/NBD and Gamma-Gamma as fit on one cutoff's customers."""

    purchases: btyd.BgNbd
    spend: btyd.GammaGamma
    customers: int
    repeat_buyers: int

    def record(self) -> dict:
        """The fitted parameters and what they were fit on, for model cards and runs."""
        return {
            "bgnbd": {k: getattr(self.purchases, k) for k in ("r", "alpha", "a", "b")},
            "gamma_gamma": {k: getattr(self.spend, k) for k in ("p", "q", "gamma")},
            "customers": self.customers,
            "repeat_buyers": self.repeat_buyers,
            "unit": "purchase days",
        }

    def expected_value(self, frame: pl.DataFrame, days: float) -> np.ndarray:
        """Each customer's expected spend over the next `days`: expected purchases times the
        expected value of a purchase."""
        x, t_x, T = btyd_inputs(frame)
        m = frame.get_column("repeat_order_value").cast(pl.Float64).fill_null(0.0).to_numpy()
        return self.purchases.expected_purchases(x, t_x, T, days) * self.spend.expected_value(x, m)


def fit_btyd(frame: pl.DataFrame) -> BtydFit:
    """Fit BG/NBD and Gamma-Gamma on the customers of one cutoff (a sample of them past
    `BTYD_FIT_SAMPLE`). Raises `btyd.FitError` when they cannot be fit."""
    x, t_x, T = btyd_inputs(frame)
    m = frame.get_column("repeat_order_value").cast(pl.Float64).fill_null(0.0).to_numpy()
    fit = fit_sample(frame.get_column("customer_key"), BTYD_FIT_SAMPLE)
    purchases = btyd.fit_bgnbd(x[fit], t_x[fit], T[fit])
    spend = btyd.fit_gamma_gamma(x[fit], m[fit])
    return BtydFit(purchases, spend, len(fit), int((x[fit] > 0).sum()))


def btyd_scores(frame: pl.DataFrame) -> tuple[pl.DataFrame, BtydFit | str]:
    """`frame` (one cutoff) with `BTYD_FEATURES` added for every customer, and the fit (or why
    there is none: then the features are null)."""
    empty = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(f) for f in BTYD_FEATURES)
    as_of = frame.get_column("as_of_date").first()
    try:
        fit = fit_btyd(frame)
    except btyd.FitError as exc:
        log.info("buy-till-you-die features left empty at %s: %s", as_of, exc)
        return empty, str(exc)
    x, t_x, T = btyd_inputs(frame)
    m = frame.get_column("repeat_order_value").cast(pl.Float64).fill_null(0.0).to_numpy()
    orders_365 = fit.purchases.expected_purchases(x, t_x, T, 365.0)
    orders_90 = fit.purchases.expected_purchases(x, t_x, T, 90.0)
    value = fit.spend.expected_value(x, m)
    columns = {
        "p_alive": fit.purchases.p_alive(x, t_x, T),
        "expected_orders_90d": orders_90,
        "expected_orders_365d": orders_365,
        "expected_order_value": value,
        "expected_value_365d": orders_365 * value,
    }
    # A fit on a few days of history can put BG/NBD's scale near zero, where the expected
    # purchases of customers first seen that day overflow; Gamma-Gamma with q <= 1 has no
    # finite mean. Half-made features would be worse than none.
    if not all(np.isfinite(v).all() for v in columns.values()):
        reason = (
            "the fit gives no finite expectation for some customers "
            f"(BG/NBD r={fit.purchases.r:.3g} alpha={fit.purchases.alpha:.3g} "
            f"a={fit.purchases.a:.3g} b={fit.purchases.b:.3g}, Gamma-Gamma q={fit.spend.q:.3g})"
        )
        log.info("buy-till-you-die features left empty at %s: %s", as_of, reason)
        return empty, reason
    return frame.with_columns(pl.Series(k, v) for k, v in columns.items()), fit


def btyd_enrich(features: pl.DataFrame) -> tuple[pl.DataFrame, dict[date, BtydFit | str]]:
    """`features` (every cutoff, with customer_features' purchase_days and
    repeat_order_value) with `BTYD_FEATURES` added, each cutoff fit on its own customers, so
    nothing after a cutoff shapes its features; and each cutoff's fit (or why it has none)."""
    if features.height == 0:
        return features.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(f) for f in BTYD_FEATURES
        ), {}
    parts, fits = [], {}
    for part in features.partition_by("as_of_date", maintain_order=True):
        scored, fit = btyd_scores(part)
        parts.append(scored)
        fits[part.get_column("as_of_date").first()] = fit
    return pl.concat(parts), fits


def with_btyd(features: pl.DataFrame) -> pl.DataFrame:
    """`btyd_enrich` without the fits."""
    return btyd_enrich(features)[0]


def fit_records(fits: dict[date, BtydFit | str]) -> dict[str, dict]:
    """The fits by cutoff (ISO dates) as recorded on model cards and in `ml.model_runs`."""
    return {
        str(cutoff): fit.record() if isinstance(fit, BtydFit) else {"error": fit}
        for cutoff, fit in sorted(fits.items())
    }


def feature_matrix(frame: pl.DataFrame, features: tuple[str, ...]) -> pl.DataFrame:
    """The model's input columns as floats, in the model's order (nulls stay missing)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"customer_features lacks the model's features: {missing}")
    return frame.select([pl.col(f).cast(pl.Float64) for f in features])
