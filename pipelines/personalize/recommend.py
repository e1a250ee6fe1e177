"""Each person's top products for the day (`ml.recommendations`), with a reason in words.

What is shown, best first: products due to restock (a product the person buys again, by
its learned inter-purchase time: `history.intervals`; `score` 1 plus the blend below), then by
the blend (`score` 0-1) of two shares: the person's own model (`cooccur`: products bought with
what they bought or looked at, recency-weighted by `history`) and the favourites of their
persona (or of the shop, without one) where they live in this month (`context`), mixed by
how much the person has shown (the favourites count as one fresh purchase of their own).
`source` says which part weighs more for the row: `model`, else `persona` or `popular`.
Never: a product outside the catalogue (not sold at a price within a year), or one the person
bought that is not replenished, or is but not yet due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sp

from pipelines.config import Settings
from pipelines.personalize import context, history, store
from pipelines.personalize.cooccur import CoOccurrence
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

TOP_K = 10
CHUNK_CELLS = 4_000_000  # people x items scored at once
RESTOCK, MODEL, PERSONA, POPULAR = 3.0, 2.0, 1.0, 0.0
SOURCES = {RESTOCK: "model", MODEL: "model", PERSONA: "persona", POPULAR: "popular"}
IN_SEASON = 1.25  # a lift from which the reason says the product sells well locally now


@dataclass
class Inputs:
    """What the recommendations are made from. `customers`: customer_key, country_code,
    region_code, persona_name, as_of (the day the list is for). `lines`: purchased lines
    (store.read_order_lines) and `events`: GA4 product signals (store.read_product_events),
    both before the day they are used for."""

    customers: pl.DataFrame
    lines: pl.DataFrame
    events: pl.DataFrame
    as_of: date  # the day the catalogue and recency weights are taken at


def _shares(weights: np.ndarray) -> np.ndarray:
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(weights), 1.0 / max(len(weights), 1))


def _positions(values: pl.Series, index: dict[str, int]) -> np.ndarray:
    """The position of each value in `index` (every value must be there)."""
    return values.replace_strict(index, return_dtype=pl.Int64).to_numpy()


def recommend(inputs: Inputs, k: int = TOP_K, use_context: bool = True,
              model_factory: Callable[[], object] = CoOccurrence, explain: bool = True
              ) -> pl.DataFrame:
    """The top `k` per customer: customer_key, rank, product_id, score, source, reason."""
    catalogue = history.catalogue(inputs.lines, inputs.as_of)
    signals = history.weighted(history.interactions(inputs.lines, inputs.events), inputs.as_of,
                               inputs.customers.select("customer_key", "as_of"))
    names = dict(inputs.lines.sort("order_date").group_by("product_id")
                 .agg(pl.col("product_name").last()).iter_rows())
    items = sorted(set(catalogue.get_column("product_id").to_list())
                   | set(signals.get_column("product_id").to_list()))
    index = {p: i for i, p in enumerate(items)}
    n_items = len(items)
    customers = inputs.customers.sort("customer_key")
    empty = pl.DataFrame(schema={"customer_key": pl.String, "rank": pl.Int32,
                                 "product_id": pl.String, "score": pl.Float64,
                                 "source": pl.String, "reason": pl.String})
    if catalogue.is_empty() or customers.is_empty():
        return empty
    sellable = np.zeros(n_items, dtype=bool)
    sellable[[index[p] for p in catalogue.get_column("product_id")]] = True

    # Every person's weighted profile trains the model; the customers get scored.
    people = sorted(set(signals.get_column("customer_key").to_list())
                    | set(customers.get_column("customer_key").to_list()))
    row = {c: i for i, c in enumerate(people)}
    summed = signals.group_by("customer_key", "product_id").agg(pl.col("weight").sum())
    matrix = sp.csr_matrix(
        (summed.get_column("weight").to_numpy(),
         (_positions(summed.get_column("customer_key"), row),
          _positions(summed.get_column("product_id"), index))),
        shape=(len(people), n_items))
    model = model_factory().fit(matrix)

    # Popularity (recency-weighted purchases) overall and per persona, shrunk to overall.
    bought = signals.filter(pl.col("kind") == "purchase")
    pop = np.zeros(n_items)
    np.add.at(pop, _positions(bought.get_column("product_id"), index),
              bought.get_column("weight").to_numpy())
    popular = _shares(pop)
    persona_of = dict(customers.select("customer_key", "persona_name").iter_rows())
    personas = sorted({p for p in persona_of.values() if p})
    per_persona = {}
    by_persona = bought.with_columns(
        persona=pl.col("customer_key").replace_strict(persona_of, default=None))
    for name in personas:
        part = by_persona.filter(pl.col("persona") == name)
        counts = np.zeros(n_items)
        np.add.at(counts, _positions(part.get_column("product_id"), index),
                  part.get_column("weight").to_numpy())
        per_persona[name] = (counts + context.PRIOR_PURCHASES * popular) / (
            counts.sum() + context.PRIOR_PURCHASES)

    if use_context:
        by_country, by_region = context.lifts(
            bought.select("customer_key", "product_id", "on"), inputs.customers, items)
    else:
        by_country, by_region = {}, {}
    interval = np.full(n_items, np.nan)
    for product, days in history.intervals(inputs.lines, inputs.as_of).iter_rows():
        interval[index[product]] = days
    last = history.last_bought(inputs.lines, inputs.as_of).filter(
        pl.col("customer_key").is_in(customers.get_column("customer_key").implode()))

    frames = []
    chunk = max(1, CHUNK_CELLS // max(n_items, 1))
    for start in range(0, customers.height, chunk):
        part = customers.slice(start, chunk)
        frames.append(_rank_chunk(part, row, matrix, model, index, items, names, sellable,
                                  popular, per_persona, by_country, by_region, interval,
                                  last, k, explain))
    out = pl.concat(frames, how="vertical") if frames else empty
    return out.cast(empty.schema)


def _rank_chunk(part, row, matrix, model, index, items, names, sellable, popular, per_persona,
                by_country, by_region, interval, last, k, explain) -> pl.DataFrame:
    n, n_items = part.height, len(items)
    keys = part.get_column("customer_key").to_list()
    as_of = part.get_column("as_of").to_numpy().astype("datetime64[D]")
    months = part.get_column("as_of").dt.month().to_numpy()
    profiles = matrix[[row[c] for c in keys]]
    lift = context.lift_rows(part, months, by_country, by_region, n_items)

    # Days since each person last bought each product (NaN: never).
    since = np.full((n, n_items), np.nan)
    mine = last.filter(pl.col("customer_key").is_in(keys))
    if mine.height:
        local = {c: i for i, c in enumerate(keys)}
        r = _positions(mine.get_column("customer_key"), local)
        c = _positions(mine.get_column("product_id"), index)
        last_on = mine.get_column("last_on").to_numpy().astype("datetime64[D]")
        since[r, c] = (as_of[r] - last_on).astype(np.float64)
    owned = ~np.isnan(since)
    with np.errstate(invalid="ignore"):
        ratio = since / interval[None, :]
    due = owned & (ratio >= history.DUE_WINDOW[0]) & (ratio <= history.DUE_WINDOW[1])
    # Bought and not (yet) due again; a replenished product long overdue is shown as any other.
    blocked = owned & ~(ratio >= history.DUE_WINDOW[0])

    shown = sellable[None, :] & ~blocked
    personal = np.where(shown, model.scores(profiles), 0.0)
    persona_names = part.get_column("persona_name").to_list()
    has_persona = np.array([bool(p) and p in per_persona for p in persona_names])
    around = np.where(shown, np.array([per_persona[p] if has else popular for p, has
                                       in zip(persona_names, has_persona, strict=True)])
                      * lift, 0.0)
    # The person's own model and the favourites of their persona (or the shop) in their
    # place and month, as shares, mixed by how much the person has shown: the favourites
    # count as much as one fresh purchase of their own (`history` weights).
    known = np.asarray(profiles.sum(axis=1)).ravel()
    own = (known / (1.0 + known))[:, None]
    p_own = personal / np.maximum(personal.sum(axis=1, keepdims=True), 1e-300)
    p_around = around / np.maximum(around.sum(axis=1, keepdims=True), 1e-300)
    mixed = own * p_own + (1.0 - own) * p_around
    tier = np.where(due, RESTOCK, np.where(own * p_own >= (1.0 - own) * p_around, MODEL,
                    np.where(has_persona[:, None], PERSONA, POPULAR)))
    score = np.where(due, 1.0 + mixed, mixed)
    score[~shown & ~due] = -np.inf
    score[:, ~sellable] = -np.inf

    take = min(k, int(sellable.sum()))
    top = np.argpartition(-score, take - 1, axis=1)[:, :take]
    order = np.lexsort((top, -np.take_along_axis(score, top, axis=1)), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    top_score = np.take_along_axis(score, top, axis=1)
    valid = np.isfinite(top_score)
    why = model.because(profiles, top) if explain else np.full(top.shape, -1)
    top_lift = np.take_along_axis(lift, top, axis=1)

    seasonal = bool(by_country)
    person, slot = np.nonzero(valid)
    level = np.take_along_axis(tier, top, axis=1)[person, slot]
    item = top[person, slot]
    because = why[person, slot]
    # A product whose lines carry no name is named by its id.
    label = np.array([names.get(p) or p for p in items] + [""], dtype=object)
    frame = pl.DataFrame({
        "customer_key": np.array(keys, dtype=object)[person].tolist(),
        "rank": (np.cumsum(valid, axis=1)[person, slot]).astype(np.int32),
        "product_id": np.array(items, dtype=object)[item].tolist(),
        "score": np.round(top_score[person, slot], 6),
        "level": level,
        "interval": interval[item],
        "because": label[because].tolist(),  # -1: the empty name
        "has_because": because >= 0,
        "persona": np.array([p or "" for p in persona_names], dtype=object)[person].tolist(),
        "in_season": seasonal & (top_lift[person, slot] >= IN_SEASON),
    }, schema_overrides={"customer_key": pl.String, "product_id": pl.String,
                         "because": pl.String, "persona": pl.String})
    when = " this month" if seasonal else ""
    return frame.select(
        "customer_key", "rank", "product_id", "score",
        source=pl.col("level").replace_strict({k: v for k, v in SOURCES.items()},
                                              return_dtype=pl.String),
        reason=pl.when(pl.col("level") == RESTOCK)
        .then(pl.when(pl.col("interval").cast(pl.Int64) == 1)
              .then(pl.lit("time to restock (every day)"))
              .otherwise(pl.format("time to restock (every {} days)",
                                   pl.col("interval").cast(pl.Int64))))
        .when(pl.col("level") == MODEL)
        .then(pl.when(pl.col("has_because")).then(pl.format("bought with {}", "because"))
              .otherwise(pl.lit("bought by people with your taste"))
              + pl.when(pl.col("in_season"))
              .then(pl.lit("; sells well where you are this month")).otherwise(pl.lit("")))
        .when(pl.col("level") == PERSONA)
        .then(pl.format("popular with {}" + when, pl.col("persona").str.replace_all("_", " ")))
        .otherwise(pl.lit("popular with our customers" + when)))


def run(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Recommend for everyone in the customer view as of the logical date's end and replace
    `ml.recommendations`; a shop whose orders carry no product ids recommends nothing and
    says so."""
    with work_connection(settings) as con:
        lines = store.read_order_lines(con)
        events = store.read_product_events(con)
        customers = store.read_customers(con)
    as_of = date.fromordinal(logical_date.toordinal() + 1)  # the day's own orders count
    lines = lines.filter(pl.col("order_date") < as_of)
    events = events.filter(pl.col("event_date") < as_of)
    customers = customers.with_columns(as_of=pl.lit(as_of))
    result = recommend(Inputs(customers, lines, events, as_of))
    rows = result.with_columns(as_of_date=pl.lit(logical_date)).select(list(store.SCHEMA))
    with work_connection(settings) as con:
        store.write(con, rows)
    if rows.is_empty():
        note = ("no recommendations: no order line carries a product id sold at a price "
                "in the last year" if customers.height else "no customers to recommend to")
        log.info("personalize: %s", note)
        return {"customers": 0, "rows": 0, "note": note}
    sources = dict(rows.group_by("source").len().iter_rows())
    summary = {"customers": rows.get_column("customer_key").n_unique(), "rows": rows.height,
               "by_source": {s: sources.get(s, 0) for s in ("model", "persona", "popular")},
               "restock": rows.filter(pl.col("reason").str.starts_with("time to restock")).height}
    log.info("personalize: recommendations %s", summary)
    return summary


def store_connection(settings: Settings):
    from pipelines.warehouse import work_connection

    return work_connection(settings)


def top_products(con: duckdb.DuckDBPyConnection, n: int) -> pl.DataFrame:
    """Each person's first `n` recommended products (customer_key, rank, product_id,
    product_name), for the exports and the report."""
    return store.top_products(con, n)
