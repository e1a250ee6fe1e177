"""How good the recommendations are: each person's last order held out, the lists made from
what came before it, scored by hit rate and NDCG at 10.

Variants: `model` (the step's own lists: co-occurrence, restock, context, fallbacks),
`context_free` (the same without place and season), `popularity` (the shop's ten most bought
products, recency-weighted: the simple rival), and any other personal model in the
co-occurrence's place (bench/recommendations.py measures `implicit`'s ALS so). Each is
reported overall and in winter months (December to February north of the equator, June to
August south; the hemisphere from the person's country).

Leave-last-out: the person's own later signals are removed; other people's are kept (as a
shop's history would hold them on that day for most of them), so popularity and similarity
see a little of the future for everyone alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import polars as pl

from pipelines.personalize import history
from pipelines.personalize.recommend import TOP_K, Inputs, recommend

# Countries south of the equator (ISO 3166-1 alpha-2), for winter months only.
SOUTHERN = frozenset({"AR", "AU", "BO", "BR", "BW", "CL", "LS", "MG", "MU", "MZ", "NA", "NZ",
                      "PE", "PY", "SZ", "UY", "ZA", "ZM", "ZW"})
WINTER_NORTH, WINTER_SOUTH = (12, 1, 2), (6, 7, 8)


def ndcg_at_k(ranked: list[str], relevant: set[str], k: int = TOP_K) -> float:
    """NDCG of one ranked list against binary relevance: the discounted gain of the hits over
    the best possible (every relevant item first)."""
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def holdout(lines: pl.DataFrame, events: pl.DataFrame, customers: pl.DataFrame
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(training lines, training events, held-out orders). Everyone with two or more orders
    is evaluated on their last (latest day, then highest order id): held out are its products
    (customer_key, order_date, products), and their own lines and events from that day on."""
    orders = (lines.select("customer_key", "order_id", "order_date").unique()
              .sort("customer_key", "order_date", "order_id"))
    counts = orders.group_by("customer_key").len()
    last = (orders.join(counts.filter(pl.col("len") >= 2), on="customer_key")
            .group_by("customer_key").agg(pl.col("order_id").last(),
                                          pl.col("order_date").last().alias("cut")))
    test = (lines.join(last, on=["customer_key", "order_id"])
            .group_by("customer_key").agg(pl.col("cut").first().alias("order_date"),
                                          pl.col("product_id").unique().alias("products")))
    cut = last.select("customer_key", "cut")
    train_lines = (lines.join(cut, on="customer_key", how="left")
                   .filter(pl.col("cut").is_null() | (pl.col("order_date") < pl.col("cut")))
                   .drop("cut"))
    train_events = (events.join(cut, on="customer_key", how="left")
                    .filter(pl.col("cut").is_null() | (pl.col("event_date") < pl.col("cut")))
                    .drop("cut"))
    people = customers.join(test.select("customer_key", "order_date"), on="customer_key",
                            how="right")
    return train_lines, train_events, test.join(
        people.select("customer_key", "country_code"), on="customer_key", how="left")


def scores(recs: pl.DataFrame, test: pl.DataFrame, k: int = TOP_K) -> pl.DataFrame:
    """Per held-out person: hit (any held-out product in the top k) and ndcg, with winter."""
    lists = (recs.filter(pl.col("rank") <= k).sort("customer_key", "rank")
             .group_by("customer_key").agg(pl.col("product_id").alias("ranked")))
    joined = test.join(lists, on="customer_key", how="left")
    hits, ndcgs = [], []
    for ranked, products in zip(joined.get_column("ranked").to_list(),
                                joined.get_column("products").to_list(), strict=True):
        ranked, relevant = ranked or [], set(products)
        hits.append(float(any(p in relevant for p in ranked[:k])))
        ndcgs.append(ndcg_at_k(ranked, relevant, k))
    month = pl.col("order_date").dt.month()
    south = pl.col("country_code").fill_null("").str.to_uppercase().is_in(list(SOUTHERN))
    winter = (pl.when(south).then(month.is_in(list(WINTER_SOUTH)))
              .otherwise(month.is_in(list(WINTER_NORTH))))
    return joined.select("customer_key", winter.alias("winter")).with_columns(
        hit=pl.Series(hits, dtype=pl.Float64), ndcg=pl.Series(ndcgs, dtype=pl.Float64))


def popularity(lines: pl.DataFrame, events: pl.DataFrame, test: pl.DataFrame, as_of: date,
               k: int = TOP_K) -> pl.DataFrame:
    """The rival: everyone gets the shop's top k products by recency-weighted purchases."""
    signals = history.weighted(history.interactions(lines, events.clear()), as_of)
    top = (signals.group_by("product_id").agg(pl.col("weight").sum())
           .sort(["weight", "product_id"], descending=[True, False]).head(k)
           .get_column("product_id").to_list())
    return test.select("customer_key").join(
        pl.DataFrame({"rank": list(range(1, len(top) + 1)), "product_id": top}), how="cross")


def evaluate(lines: pl.DataFrame, events: pl.DataFrame, customers: pl.DataFrame,
             variants: tuple[str, ...] = ("model", "context_free", "popularity"),
             models: dict[str, Callable[[], object]] | None = None) -> dict:
    """Hit rate and NDCG at 10 per variant, overall and in winter months, with counts.
    `customers`: customer_key, country_code, region_code, persona_name (may be null).
    `models`: other personal models (name: factory with `cooccur.CoOccurrence`'s methods),
    each measured in the step's place of co-occurrence, context included."""
    train_lines, train_events, test = holdout(lines, events, customers)
    as_of = date.fromordinal(lines.get_column("order_date").max().toordinal() + 1)
    people = (customers.join(test.select("customer_key", pl.col("order_date").alias("as_of")),
                             on="customer_key"))
    inputs = Inputs(people, train_lines, train_events, as_of)
    out: dict = {"people": test.height}
    for variant in [*variants, *(models or {})]:
        if variant == "popularity":
            recs = popularity(train_lines, train_events, test, as_of)
        elif variant in (models or {}):
            recs = recommend(inputs, model_factory=models[variant], explain=False)
        else:
            recs = recommend(inputs, use_context=variant == "model", explain=False)
        per = scores(recs, test)
        wint = per.filter(pl.col("winter"))
        out["winter_people"] = wint.height
        out[variant] = {
            "hit_rate": per.get_column("hit").mean(), "ndcg": per.get_column("ndcg").mean(),
            "winter_hit_rate": wint.get_column("hit").mean() if wint.height else None,
            "winter_ndcg": wint.get_column("ndcg").mean() if wint.height else None}
    return out
