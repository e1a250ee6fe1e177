"""What people did with products, weighted by kind and age; the catalogue; replenishment.

Weights: a purchase says most about a taste, an add-to-cart less, a product view least (the
usual ordering of implicit signals). Age: half the weight after `HALF_LIFE_DAYS` (six months),
so a purchase a year ago counts a quarter: tastes and stocks in a shop drift over a season or
two, while a small shop's history is too thin to forget faster.
"""

from __future__ import annotations

from datetime import date

import polars as pl

HALF_LIFE_DAYS = 180.0
KIND_WEIGHTS = {"purchase": 1.0, "add_to_cart": 0.5, "view_item": 0.25}
# A product is in the catalogue while it has sold at a positive price within this many days:
# the marts hold no product export, and a year covers every seasonal line.
CATALOGUE_DAYS = 365
# Repeat purchases (the same person buying the same product again) needed before an
# inter-purchase time is trusted; fewer say nothing about a cycle.
MIN_REPEATS = 5
# A replenished product is due again from its usual interval until three intervals have
# passed (by then the person has most likely stocked up elsewhere or moved on).
DUE_WINDOW = (1.0, 3.0)


def interactions(lines: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """One row per signal: customer_key, product_id, on (date), kind. A product bought on
    several lines of one order counts once."""
    bought = (lines.select("customer_key", "product_id", pl.col("order_date").alias("on"),
                           "order_id")
              .unique(["customer_key", "product_id", "order_id"])
              .drop("order_id").with_columns(kind=pl.lit("purchase")))
    seen = events.select("customer_key", "product_id", pl.col("event_date").alias("on"),
                         pl.col("event_name").alias("kind"))
    return pl.concat([bought, seen.cast(bought.schema)], how="vertical")


def weighted(signals: pl.DataFrame, as_of: date, own_days: pl.DataFrame | None = None
             ) -> pl.DataFrame:
    """Signals before `as_of` with their weight (kind x age decay). `own_days`
    (customer_key, as_of) gives some people their own day to age their signals from (and to
    drop their later ones): the day their list is for."""
    if own_days is not None:
        signals = (signals.join(own_days.select("customer_key", pl.col("as_of").alias("day")),
                                on="customer_key", how="left")
                   .with_columns(pl.col("day").fill_null(as_of)))
    else:
        signals = signals.with_columns(day=pl.lit(as_of))
    age = (pl.col("day") - pl.col("on")).dt.total_days().cast(pl.Float64)
    kind = pl.col("kind").replace_strict(KIND_WEIGHTS, default=0.0, return_dtype=pl.Float64)
    return (signals.filter((pl.col("on") < pl.col("day")) & (pl.col("on") < as_of))
            .with_columns(weight=kind * (0.5 ** (age / HALF_LIFE_DAYS))).drop("day"))


def catalogue(lines: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Products on sale: sold at a positive price within `CATALOGUE_DAYS` before `as_of`, with
    the name, category and price of their latest sale: product_id, product_name, category,
    price."""
    recent = lines.filter(
        (pl.col("order_date") < as_of)
        & ((pl.lit(as_of) - pl.col("order_date")).dt.total_days() <= CATALOGUE_DAYS)
        & (pl.col("unit_price") > 0))
    return (recent.sort("order_date", "order_id")
            .group_by("product_id")
            .agg(pl.col("product_name").last(), pl.col("category").last(),
                 pl.col("unit_price").last().alias("price"))
            .sort("product_id"))


def intervals(lines: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Each replenished product's usual days between purchases by the same person: the median
    of its own repeat gaps when it has `MIN_REPEATS`, else its category's (products of a
    category restock alike), else none. product_id, interval_days (products never
    repeated enough are absent: once bought, never shown again)."""
    days = (lines.filter(pl.col("order_date") < as_of)
            .select("customer_key", "product_id", "category", "order_date").unique()
            .sort("customer_key", "product_id", "order_date"))
    gaps = (days.with_columns(gap=(pl.col("order_date") - pl.col("order_date").shift(1)
                                   .over("customer_key", "product_id")).dt.total_days())
            .filter(pl.col("gap").is_not_null() & (pl.col("gap") > 0)))
    own = gaps.group_by("product_id").agg(n=pl.len(), own=pl.col("gap").median())
    by_category = gaps.group_by("category").agg(nc=pl.len(), pooled=pl.col("gap").median())
    products = days.select("product_id", "category").unique("product_id", keep="last")
    return (products.join(own, on="product_id", how="left")
            .join(by_category, on="category", how="left")
            .with_columns(interval_days=pl.when(pl.col("n") >= MIN_REPEATS).then(pl.col("own"))
                          .when(pl.col("nc") >= MIN_REPEATS).then(pl.col("pooled")))
            .filter(pl.col("interval_days").is_not_null())
            .select("product_id", pl.col("interval_days").round().cast(pl.Int32))
            .sort("product_id"))


def last_bought(lines: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """When each person last bought each product before `as_of`: customer_key, product_id,
    last_on."""
    return (lines.filter(pl.col("order_date") < as_of)
            .group_by("customer_key", "product_id").agg(last_on=pl.col("order_date").max()))
