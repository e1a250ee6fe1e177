"""What the model says about each persona, for its card: what sets it apart (traits with
effect sizes), its name, the local hour its customers read email most (best send hour) and
the hour they usually shop. Sizes, revenue, churn risk, channels and categories come from the
warehouse in the report models (dbt_project/models/reports)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipelines.personas.naming import (
    MIN_EFFECT,
    candidate_names,
    describable,
    describe,
    hour_phrase,
    label,
    name_persona,
)
from pipelines.personas.profile import share_frame

# The figures traits are measured on, as they are shown (not logged).
TRAIT_FIGURES: tuple[str, ...] = (
    "days_between_orders", "avg_order_value", "price_position", "units_per_line",
    "discount_share", "holiday_share", "mobile_share", "is_europe", "nps_score",
    "orders_per_year", "days_since_last_order", "email_opens_365d",
)  # fmt: skip
# "What sets it apart" lists at most this many traits.
TOP_TRAITS = 3
# A persona none of whose traits reaches MIN_EFFECT is close to the typical customer: its card
# says so and lists its strongest traits all the same, this many.
WEAK_TRAITS = 2
NEAR_TYPICAL = "close to the typical customer"

TRAITS_SCHEMA = {
    "persona_id": pl.Int64, "rank": pl.Int64, "feature": pl.String, "label": pl.String,
    "persona_mean": pl.Float64, "rest_mean": pl.Float64, "smd": pl.Float64,
    "description": pl.String,
}  # fmt: skip


def trait_values(features: pl.DataFrame) -> pl.DataFrame:
    """Per customer (in the frame's order), the figures traits are measured on."""
    figures = features.select(
        [pl.col(c).cast(pl.Float64) for c in TRAIT_FIGURES if c in features.columns]
    )
    return pl.concat([figures, share_frame(features)], how="horizontal")


def traits(features: pl.DataFrame, persona_ids: np.ndarray) -> pl.DataFrame:
    """Every persona's traits, strongest first: persona_id, rank, feature, label,
    persona_mean, rest_mean, smd (rounded to 3 places, so reruns give identical tables)
    and a description in words."""
    from pipelines.personas.profile import standardised_differences

    diffs = standardised_differences(trait_values(features), persona_ids)
    if diffs.is_empty():
        return pl.DataFrame(schema=TRAITS_SCHEMA)
    ranked = (
        diffs.rename({"label": "persona_id"})
        .with_columns(pl.col("persona_mean", "rest_mean", "smd").round(3))
        .sort(["persona_id", pl.col("smd").abs(), "feature"], descending=[False, True, False])
    )
    ranked = ranked.with_columns(rank=pl.int_range(1, pl.len() + 1).over("persona_id"))
    return ranked.with_columns(
        label=pl.col("feature").map_elements(label, return_dtype=pl.String),
        description=pl.struct("feature", "persona_mean", "rest_mean").map_elements(
            lambda r: describe(r["feature"], r["persona_mean"], r["rest_mean"]),
            return_dtype=pl.String,
        ),
    ).select(list(TRAITS_SCHEMA))


def circular_mean(hours: np.ndarray) -> float | None:
    """The mean of clock hours on the 24-hour circle; None for no hours."""
    hours = hours[~np.isnan(hours)]
    if not len(hours):
        return None
    angle = hours * 2 * math.pi / 24
    return float(math.atan2(np.sin(angle).mean(), np.cos(angle).mean()) * 24 / (2 * math.pi) % 24)


def best_send_hours(reads: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Per persona, the local hour (0-23) with the most email opens and clicks by its
    customers (the earlier hour on a tie) and how many reads that rests on."""
    counted = (
        reads.join(labels.select("customer_key", "persona_id"), on="customer_key")
        .with_columns(hour=pl.col("local_hour").floor().cast(pl.Int32) % 24)
        .group_by("persona_id", "hour")
        .len()
    )
    return (
        counted.sort(["persona_id", "len", "hour"], descending=[False, True, False])
        .group_by("persona_id", maintain_order=True)
        .agg(best_send_hour=pl.col("hour").first(), email_reads=pl.col("len").sum())
    )


def name_personas(
    features: pl.DataFrame,
    persona_ids: np.ndarray,
    trait_table: pl.DataFrame,
    known: dict[int, str],
) -> tuple[dict[int, str], dict[int, int]]:
    """Names for every persona id: a known persona keeps its name; a new one is named from its
    traits and its usual shopping hour, avoiding names in use (new ones in id order, so the
    largest new persona first). A new persona that words cannot tell from one already named
    (the same adjectives and noun, or every name it allows taken) is returned in the second
    mapping (persona id -> the persona to merge it into) instead of being named."""
    names = dict(known)
    merges: dict[int, int] = {}
    shop = features.get_column("shop_hour").to_numpy().astype(float)
    overall = circular_mean(shop)

    def words(persona_id: int) -> tuple[pl.DataFrame, str | None]:
        phrase = hour_phrase(circular_mean(shop[persona_ids == persona_id]), overall)
        own = trait_table.filter(pl.col("persona_id") == persona_id).select("feature", "smd")
        return own, phrase

    def key(persona_id: int) -> tuple[frozenset[str], str]:
        adjectives, noun = describable(*words(persona_id))
        return frozenset(adjectives), noun

    said = {key(i): i for i in sorted(known)}
    for persona_id in sorted(set(int(i) for i in persona_ids) - set(known)):
        own, phrase = words(persona_id)
        name = name_persona(own, phrase, frozenset(names.values()))
        same = said.get(key(persona_id))
        if same is not None or name is None:
            holder = candidate_names(own, phrase)[0]
            merges[persona_id] = (
                same if same is not None else next(i for i, n in names.items() if n == holder)
            )
            continue
        names[persona_id] = name
        said.setdefault(key(persona_id), persona_id)
    present = set(int(i) for i in persona_ids) - set(merges)
    return {i: names[i] for i in sorted(present)}, merges


def what_sets_apart(trait_table: pl.DataFrame, persona_id: int, lead: str | None = None) -> str:
    """Its TOP_TRAITS strongest traits of at least MIN_EFFECT in words, "; "-separated; when
    none is that strong, NEAR_TYPICAL and its WEAK_TRAITS strongest. `lead` (a definition, for
    personas defined by a rule) goes first."""
    own = trait_table.filter(pl.col("persona_id") == persona_id).sort("rank")
    strong = own.filter(pl.col("smd").abs() >= MIN_EFFECT).head(TOP_TRAITS)
    if strong.height:
        parts = strong.get_column("description").to_list()
    elif lead:
        parts = []
    else:
        parts = [NEAR_TYPICAL, *own.head(WEAK_TRAITS).get_column("description").to_list()]
    return "; ".join([lead, *parts] if lead else parts)


def profiles(
    features: pl.DataFrame,
    persona_ids: np.ndarray,
    names: dict[int, str],
    trait_table: pl.DataFrame,
    send_hours: pl.DataFrame,
    definitions: dict[int, str] | None = None,
) -> pl.DataFrame:
    """One row per persona: persona_id, persona_name, customers, best_send_hour,
    usual_shop_hour (rounded local hour of its customers' orders and visits) and
    what_sets_it_apart (`what_sets_apart`, after its definition where `definitions` has
    one, and the usual hour against everyone's when it is far enough to name the persona)."""
    rows = []
    shop = features.get_column("shop_hour").to_numpy().astype(float)
    overall = circular_mean(shop)
    for persona_id, name in sorted(names.items()):
        inside = persona_ids == persona_id
        mean_hour = circular_mean(shop[inside])
        apart = what_sets_apart(trait_table, persona_id, (definitions or {}).get(persona_id))
        if hour_phrase(mean_hour, overall) and mean_hour is not None and overall is not None:
            apart += (f"; usual local shopping hour {round(mean_hour) % 24:02d}:00 vs "
                      f"{round(overall) % 24:02d}:00")
        rows.append(
            (
                persona_id,
                name,
                int(inside.sum()),
                None if mean_hour is None else round(round(mean_hour, 6)) % 24,
                apart,
            )
        )
    table = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "persona_id": pl.Int64,
            "persona_name": pl.String,
            "customers": pl.Int64,
            "usual_shop_hour": pl.Int32,
            "what_sets_it_apart": pl.String,
        },
    )
    return table.join(
        send_hours.select("persona_id", "best_send_hour"), on="persona_id", how="left"
    ).select(
        "persona_id",
        "persona_name",
        "customers",
        "best_send_hour",
        "usual_shop_hour",
        "what_sets_it_apart",
    )
