"""Ground truth for the simulated shop, for evaluating the pipeline; the pipeline never reads it.

`customers.parquet` holds one row per simulated person with the hidden persona, churn hazard
and future outcomes; `identifiers.parquet` maps every identifier a source shows to its person.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulate.playout import Playout
from pipelines.simulate.population import UNSUB_HAZARD_MULT, Window

logger = logging.getLogger(__name__)

CUSTOMERS_FILE = "customers.parquet"
IDENTIFIERS_FILE = "identifiers.parquet"
IDENTIFIER_TYPES: tuple[str, ...] = ("email", "shop_customer_id", "mailchimp_email_raw")


def truth_customers(
    people: pl.DataFrame, summary: pl.DataFrame, playout: Playout, window: Window
) -> pl.DataFrame:
    """The per-person truth table.

    Returns one row per person ordered by person_id with person_id, persona,
    shop_customer_id, email (canonical), mailchimp_status, is_active_at_end,
    churned_next_90d (no order in the 90 days after end_date), value_next_365d (dollars),
    churn_hazard (daily hazard in force at the export instant) and, for analysis,
    purchase_rate (base orders/day) and left_at (when they stopped buying for good; null for
    people who never bought or who are still buying at the end of the hidden year).
    """
    end = window.end_ts
    unsub_by_end = people["unsub_ts"].fill_null(end) < end
    left = playout.left_ts
    left_at = np.where(np.isfinite(left) & (left < window.horizon_ts), left, np.nan)
    left_series = pl.Series("left_at", left_at).fill_nan(None).cast(pl.Int64)
    return (
        people.select(
            "person_id",
            "persona",
            "shop_customer_id",
            "email",
            pl.col("mc_status").alias("mailchimp_status"),
            "base_hazard",
            "purchase_rate",
        )
        .join(summary, on="person_id", how="left", maintain_order="left")
        .with_columns(
            churned_next_90d=pl.col("orders_next_90d") == 0,
            value_next_365d=pl.col("value_next_365d_cents") / 100,
            churn_hazard=pl.col("base_hazard")
            * pl.when(pl.lit(unsub_by_end)).then(UNSUB_HAZARD_MULT).otherwise(1.0),
            left_at=pl.from_epoch(pl.lit(left_series), time_unit="s").dt.replace_time_zone("UTC"),
        )
        .select(
            "person_id",
            "persona",
            "shop_customer_id",
            "email",
            "mailchimp_status",
            "is_active_at_end",
            "churned_next_90d",
            "value_next_365d",
            "churn_hazard",
            "purchase_rate",
            "left_at",
        )
    )


def truth_identifiers(people: pl.DataFrame, mailchimp: pl.DataFrame) -> pl.DataFrame:
    """Every identifier the sources expose and the person it belongs to.

    Returns identifier_type, identifier_value, person_id, ordered by type then person; each
    (identifier_type, identifier_value) pair appears once.
    """
    # Built already in (identifier_type, person_id) order: sorting millions of strings costs
    # seconds at scale l and adds nothing.
    parts = [
        people.sort("person_id").select(
            pl.lit("email").alias("identifier_type"),
            pl.col("email").alias("identifier_value"),
            "person_id",
        ),
        mailchimp.sort("person_id").select(
            pl.lit("mailchimp_email_raw").alias("identifier_type"),
            pl.col("email_raw").alias("identifier_value"),
            "person_id",
        ),
        people.filter(pl.col("shop_customer_id").is_not_null())
        .sort("person_id")
        .select(
            pl.lit("shop_customer_id").alias("identifier_type"),
            pl.col("shop_customer_id").alias("identifier_value"),
            "person_id",
        ),
    ]
    return pl.concat(parts)


def write_truth(
    directory: Path, customers: pl.DataFrame, identifiers: pl.DataFrame
) -> dict[str, int]:
    """Write both truth tables as Parquet into `directory`; returns rows written per table."""
    directory.mkdir(parents=True, exist_ok=True)
    customers.write_parquet(directory / CUSTOMERS_FILE)
    identifiers.write_parquet(directory / IDENTIFIERS_FILE)
    logger.info("truth: %d people, %d identifiers", customers.height, identifiers.height)
    return {"truth_customers": customers.height, "truth_identifiers": identifiers.height}
