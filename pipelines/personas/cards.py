"""What the model says about each persona, for its card: what sets it apart (traits with
effect sizes), its name, the local hour its customers read email most (best send hour) and
the hour they usually shop. Sizes, revenue, churn risk, channels and categories come from the
warehouse in the report models (dbt_project/models/reports)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipelines.personas.naming import (
    ADJECTIVES,
    CLAIM_SHARE,
    HOUR_PHRASES,
    MIN_EFFECT,
    NOUN_PREFIX,
    candidate_names,
    category_noun,
    claim_text,
    claims,
    describable,
    describe,
    hour_phrase,
    label,
    name_persona,
    noun_words,
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


# Figures with no natural line between high and low: a customer has the high trait in the top
# third of all customers, the low one in the bottom third.
# (A price point is the lead item's place between its category's cheapest and dearest prices,
# averaged over orders: a few extreme prices squeeze everyone toward the middle, so it has no
# fixed line either.)
RELATIVE = ("avg_order_value", "days_between_orders", "price_position")
# Figures with one: feature -> (high at or above, low at or below), on the customer's value.
ABSOLUTE: dict[str, tuple[float, float]] = {
    "units_per_line": (2.0, 1.0),
    "nps_score": (9.0, 6.0),  # promoters / detractors, as NPS counts them
}


def trait_holders(features: pl.DataFrame) -> pl.DataFrame:
    """Per customer (in the frame's order), one boolean column per trait a name may claim
    (adjectives, hour phrases and "<category> buyers" nouns): whether the customer has it.
    Shares (discount codes, holiday orders, phone visits, a channel's visits, a category's lead
    items) count when they are most of the customer's (0.5 or more; under for the low word);
    RELATIVE figures by the thirds of everyone; ABSOLUTE ones by their own lines; an hour
    phrase by the customer's usual shopping hour. An unknown figure is not having the trait."""
    values = trait_values(features)
    columns: dict[str, pl.Expr] = {}

    def add(phrase: str | None, test: pl.Expr) -> None:
        if phrase:
            held = test.fill_null(False)
            columns[phrase] = columns[phrase] | held if phrase in columns else held

    for feature, (high, low) in ADJECTIVES.items():
        if feature not in values.columns:
            continue
        x = pl.col(feature).fill_nan(None)
        if feature in RELATIVE:
            known = values.get_column(feature).fill_nan(None).drop_nulls()
            if known.len():
                add(high, x >= known.quantile(2 / 3, "linear"))
                add(low, x <= known.quantile(1 / 3, "linear"))
        elif feature in ABSOLUTE:
            top, bottom = ABSOLUTE[feature]
            add(high, x >= top)
            add(low, x <= bottom)
        elif feature.startswith("visit_share__"):
            continue  # channels sharing a word add up below
        else:
            add(high, x >= 0.5)
            add(low, x < 0.5)
    by_word: dict[str, list[str]] = {}
    for feature, (high, _) in ADJECTIVES.items():
        if feature.startswith("visit_share__") and high and feature in values.columns:
            by_word.setdefault(high, []).append(feature)
    for word, channels in by_word.items():
        add(word, pl.sum_horizontal([pl.col(c).fill_nan(None) for c in channels]) >= 0.5)
    for feature in values.columns:
        if feature.startswith(NOUN_PREFIX):
            add(category_noun(feature), pl.col(feature).fill_nan(None) >= 0.5)
    frame = values.with_columns(
        shop_hour=features.get_column("shop_hour").cast(pl.Float64).fill_nan(None)
    )
    for low_hour, high_hour, phrase in HOUR_PHRASES:
        hour = pl.col("shop_hour")
        add(phrase, ((hour >= low_hour) & (hour < high_hour))
            | ((hour + 24 >= low_hour) & (hour + 24 < high_hour)))
    if not columns:
        return pl.DataFrame()
    return frame.select(**columns)


def claim_shares(holders: pl.DataFrame, persona_ids: np.ndarray) -> dict[int, dict[str, float]]:
    """Per persona, the share of its customers who have each trait (`trait_holders`)."""
    if not holders.width:
        return {int(i): {} for i in np.unique(persona_ids)}
    means = (
        holders.with_columns(persona_id=pl.Series(persona_ids, dtype=pl.Int64))
        .group_by("persona_id")
        .agg(pl.all().cast(pl.Float64).mean())
    )
    return {
        int(row.pop("persona_id")): {k: float(v) for k, v in row.items()}
        for row in means.to_dicts()
    }


def category_nouns(features: pl.DataFrame) -> dict[str, str]:
    """Each "<category> buyers" noun and what it means for one customer."""
    return {category_noun(c): noun_words(c) for c in trait_values(features).columns
            if c.startswith(NOUN_PREFIX)}


def circular_mean(hours: np.ndarray) -> float | None:
    """The mean of clock hours on the 24-hour circle; None for no hours."""
    hours = hours[~np.isnan(hours)]
    if not len(hours):
        return None
    angle = hours * 2 * math.pi / 24
    return float(math.atan2(np.sin(angle).mean(), np.cos(angle).mean()) * 24 / (2 * math.pi) % 24)


def shop_hours(features: pl.DataFrame, persona_ids: np.ndarray) -> pl.DataFrame:
    """Per persona and local hour (0-23), how many of its customers usually shop then (their
    `shop_hour`, rounded); customers with no known hour are left out. The habit picture on the
    persona card draws it (reports.rpt_persona_habits)."""
    frame = pl.DataFrame({
        "persona_id": pl.Series(persona_ids, dtype=pl.Int64),
        "hour": features.get_column("shop_hour").cast(pl.Float64).fill_nan(None),
    }).drop_nulls("hour")
    return (
        frame.with_columns(local_hour=(pl.col("hour").round(0).cast(pl.Int32) % 24))
        .group_by("persona_id", "local_hour")
        .agg(customers=pl.len().cast(pl.Int64))
        .sort("persona_id", "local_hour")
    )


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
    shares = claim_shares(trait_holders(features), persona_ids)
    # A name kept from an earlier day must still be true: one whose claim no longer holds
    # for CLAIM_SHARE of the persona is named again.
    known = {i: n for i, n in known.items()
             if all(shares.get(i, {}).get(c, 0.0) >= CLAIM_SHARE for c in claims(n))}
    names = dict(known)
    merges: dict[int, int] = {}
    shop = features.get_column("shop_hour").to_numpy().astype(float)
    overall = circular_mean(shop)

    def words(persona_id: int) -> tuple[pl.DataFrame, str | None]:
        phrase = hour_phrase(circular_mean(shop[persona_ids == persona_id]), overall)
        own = trait_table.filter(pl.col("persona_id") == persona_id).select("feature", "smd")
        return own, phrase

    def key(persona_id: int) -> tuple[frozenset[str], str]:
        # Whether words could tell two personas apart is judged on effect sizes alone: two
        # halves of one kind of customer differ by chance on a trait near half, and that is no
        # difference to name.
        adjectives, noun = describable(*words(persona_id), shares=None)
        return frozenset(adjectives), noun

    said = {key(i): i for i in sorted(known)}
    for persona_id in sorted(set(int(i) for i in persona_ids) - set(known)):
        own, phrase = words(persona_id)
        held = shares.get(persona_id, {})
        name = name_persona(own, phrase, frozenset(names.values()), shares=held)
        same = said.get(key(persona_id))
        if same is not None or name is None:
            holder = candidate_names(own, phrase, shares=held)[0]
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
    one, and the usual hour against everyone's when it is far enough to name the persona),
    name_claims (each trait the name claims with the share of the persona that has it:
    "92% live in Europe; 64% have coffee beans as most of their lead items"; null when the name
    claims none) and weakest_claim_share (the smallest of those shares)."""
    rows = []
    shop = features.get_column("shop_hour").to_numpy().astype(float)
    overall = circular_mean(shop)
    shares = claim_shares(trait_holders(features), persona_ids)
    nouns = category_nouns(features)
    for persona_id, name in sorted(names.items()):
        claimed = [] if persona_id in (definitions or {}) else claims(name)
        held = [shares.get(persona_id, {}).get(c, 0.0) for c in claimed]
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
                "; ".join(claim_text(c, h, nouns) for c, h in zip(claimed, held, strict=True))
                or None,
                round(min(held), 4) if held else None,
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
            "name_claims": pl.String,
            "weakest_claim_share": pl.Float64,
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
        "name_claims",
        "weakest_claim_share",
    )
