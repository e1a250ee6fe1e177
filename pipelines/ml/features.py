"""The churn model's features, as `marts.customer_features` names them, and how to read them."""

from __future__ import annotations

import duckdb
import polars as pl

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


def read_orders(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Order times per customer, the ground the labels are computed from."""
    orders = con.sql("select customer_key, ordered_at from marts.fct_orders "
                     "where not is_cancelled").pl()
    # DuckDB names the zone Etc/UTC; Polars compares only identical zones.
    return orders.with_columns(pl.col("ordered_at").dt.convert_time_zone("UTC"))


def feature_matrix(frame: pl.DataFrame, features: tuple[str, ...]) -> pl.DataFrame:
    """The model's input columns as floats, in the model's order (nulls stay missing)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"customer_features lacks the model's features: {missing}")
    return frame.select([pl.col(f).cast(pl.Float64) for f in features])
