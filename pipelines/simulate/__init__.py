"""A seeded synthetic small shop written in real vendor export formats, with hidden truth.

`simulate` draws a population with hidden personas and churn hazards, plays their purchases
out through a year past the export date, and writes what the vendors would export on that
date (Shopify customers, an orders CSV, a Mailchimp audience) into landing, plus the ground
truth into `truth/`. Same seed, scale and end date give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl

from pipelines.config import SCALES, Settings
from pipelines.simulate import population, truth, writers
from pipelines.simulate.playout import person_summary, play_out

logger = logging.getLogger(__name__)

__all__ = ["landing_is_empty", "simulate"]

SHOP_SOURCE = "shop"
MAILCHIMP_SOURCE = "mailchimp"


def simulate(
    settings: Settings,
    scale: str = "xs",
    seed: int = 42,
    end_date: dt.date = dt.date(2026, 10, 31),
    history_days: int = 730,
) -> dict[str, int]:
    """Simulate the shop at `scale` and write one full-history export dated `end_date`.

    Writes `landing/shop/<end_date>/customers_export.csv`, `landing/orders/<end_date>/orders.csv`,
    `landing/mailchimp/<end_date>/<status>_members_export.csv` (four files) and
    `truth/customers.parquet` and `truth/identifiers.parquet` under `settings.home`.
    Returns rows written per file kind: customers, orders, order_lines, mailchimp_members,
    mailchimp_<status> for each status, truth_customers, truth_identifiers.
    Raises ValueError for an unknown scale or a non-positive history.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    if history_days < 1:
        raise ValueError(f"history_days must be at least 1, got {history_days}")
    window = population.Window(end_date=end_date, history_days=history_days)
    n = SCALES[scale]
    logger.info("simulating scale=%s (%d people) seed=%d end_date=%s", scale, n, seed, end_date)

    people = population.build_population(n, seed, window)
    playout = play_out(seed, people, window)
    summary = person_summary(n, playout, window)
    shop = population.shop_details(seed, people)
    mailchimp = population.mailchimp_details(seed, people)

    day = end_date.isoformat()
    shop_dir = settings.landing_dir / SHOP_SOURCE / day
    counts: dict[str, int] = {}

    customers = people.join(shop, on="person_id", how="inner", maintain_order="left").join(
        summary, on="person_id", how="left", maintain_order="left"
    )
    counts["customers"] = writers.write_shopify_customers(
        shop_dir / "customers_export.csv", customers
    )

    # Only the past is exported; the future lines feed the truth only.
    past_lines = playout.lines.filter(pl.col("ts") < window.end_ts).join(
        people.select("person_id", pl.col("shop_customer_id").alias("customer_id"), "email"),
        on="person_id",
        how="left",
        maintain_order="left",
    )
    counts["orders"] = past_lines["order_id"].n_unique()
    # The generic orders file is its own source: a shop platform's export lives beside its
    # customers, a plain orders file from any other platform under landing/orders/.
    orders_dir = settings.landing_dir / "orders" / end_date.isoformat()
    orders_dir.mkdir(parents=True, exist_ok=True)
    counts["order_lines"] = writers.write_orders_csv(
        orders_dir / "orders.csv", past_lines, currency=settings.default_currency
    )

    members = mailchimp.join(
        people.select(
            "person_id",
            "mc_status",
            "optin_ts",
            "confirm_ts",
            "last_changed_ts",
            "unsub_ts",
            "clean_ts",
        ),
        on="person_id",
        how="left",
        maintain_order="left",
    )
    per_status = writers.write_mailchimp_members(
        settings.landing_dir / MAILCHIMP_SOURCE / day, members
    )
    counts["mailchimp_members"] = sum(per_status.values())
    counts.update({f"mailchimp_{status}": rows for status, rows in per_status.items()})

    counts.update(
        truth.write_truth(
            settings.truth_dir,
            truth.truth_customers(people, summary, playout, window),
            truth.truth_identifiers(people, mailchimp),
        )
    )
    logger.info("simulation written: %s", counts)
    return counts


def landing_is_empty(settings: Settings) -> bool:
    """True when the landing folder is missing or holds no files at any depth."""
    root = settings.landing_dir
    if not root.exists():
        return True
    return not any(p.is_file() for p in root.rglob("*"))
