"""Labels: did an active customer buy again within the horizon after a cutoff (churn), and
what did each customer spend in it (lifetime value)? Both look for purchases
(`features.read_purchases`): a cancelled order, a return or a credit note is none."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipelines.ml.features import ACTIVE_WITHIN_DAYS


def active(features: pl.DataFrame) -> pl.DataFrame:
    """Rows of customers who are active at their cutoff (the population churn is defined on)."""
    return features.filter(
        (pl.col("orders_count") > 0) & (pl.col("days_since_last_order") <= ACTIVE_WITHIN_DAYS)
    )


def labelled_cutoffs(cutoffs: list[date], logical_date: date, horizon_days: int) -> list[date]:
    """Cutoffs whose whole outcome window has passed by `logical_date`."""
    return sorted(c for c in cutoffs if c + timedelta(days=horizon_days) <= logical_date)


def churn_labels(features: pl.DataFrame, orders: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """Add `churned`: no purchase in the `horizon_days` after the end of the row's cutoff date.

    `features` has one row per (customer_key, as_of_date); `orders` (the purchases) has
    customer_key and ordered_at (UTC). Rows are kept as given; only the label column is added.
    """
    windows = (
        features.select("customer_key", "as_of_date")
        .unique()
        .with_columns(
            start=pl.col("as_of_date").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1),
        )
        .with_columns(end=pl.col("start") + pl.duration(days=horizon_days))
    )
    bought = (
        windows.join(orders.select("customer_key", "ordered_at"), on="customer_key")
        .filter((pl.col("ordered_at") >= pl.col("start")) & (pl.col("ordered_at") < pl.col("end")))
        .select("customer_key", "as_of_date")
        .unique()
        .with_columns(bought_again=pl.lit(True))
    )
    return (
        features.join(bought, on=["customer_key", "as_of_date"], how="left")
        .with_columns(churned=pl.col("bought_again").is_null())
        .drop("bought_again")
    )


def value_labels(features: pl.DataFrame, orders: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """Add `value_next`: the value (net of refunds) of a customer's purchases in the
    `horizon_days` after the end of the row's cutoff date; 0 when nothing, never below 0 (a
    purchase refunded in full is worth nothing, not less).

    `orders` (the purchases) has customer_key, ordered_at (UTC) and value.
    """
    windows = (
        features.select("customer_key", "as_of_date")
        .unique()
        .with_columns(
            start=pl.col("as_of_date").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1),
        )
        .with_columns(end=pl.col("start") + pl.duration(days=horizon_days))
    )
    spent = (
        windows.join(orders.select("customer_key", "ordered_at", "value"), on="customer_key")
        .filter((pl.col("ordered_at") >= pl.col("start")) & (pl.col("ordered_at") < pl.col("end")))
        .group_by("customer_key", "as_of_date")
        .agg(pl.col("value").sum().alias("value_next"))
    )
    return features.join(spent, on=["customer_key", "as_of_date"], how="left").with_columns(
        pl.col("value_next").fill_null(0.0).clip(lower_bound=0.0).cast(pl.Float64)
    )
