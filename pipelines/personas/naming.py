"""Persona names and "what sets it apart", from each persona's most distinctive traits.

A trait is a figure where the persona's customers differ from everyone else's, measured as a
standardised mean difference (SMD: the difference of means in pooled standard deviations; 0.5
is a medium effect). The name puts the one or two strongest describable traits in front of a
noun taken from the product the persona leads with, if that is distinctive, else "shoppers":
"Discount-driven mobile shoppers", "Premium European coffee beans buyers". A name is never
numbered: a persona that no describable trait tells from another is that persona (the caller
merges them).

A large effect is not enough to name a persona after a trait: a name claims a trait only when at
least half of the persona has it (CLAIM_SHARE), each customer judged by the rule in
`cards.trait_holders` ("lives in Europe", "most lead items are coffee beans"), and the card says
each claimed trait's share. A persona 36% European is not "European" however unlike the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

# A name claims a trait only when at least this share of the persona has it.
CLAIM_SHARE = 0.5
# A trait needs at least this |SMD| to name a persona or to be listed as setting it apart.
MIN_EFFECT = 0.4
MAX_ADJECTIVES = 2

# feature -> (phrase when the persona is higher, phrase when lower); None: not named that way.
ADJECTIVES: dict[str, tuple[str | None, str | None]] = {
    "discount_share": ("discount-driven", "full-price"),
    "price_position": ("premium", "budget"),
    "avg_order_value": ("big-basket", "small-basket"),
    "units_per_line": ("bulk-buying", "single-item"),
    "days_between_orders": ("occasional", "frequent"),
    "holiday_share": ("holiday", None),
    "mobile_share": ("mobile", "desktop"),
    "is_europe": ("European", None),
    "nps_score": ("enthusiastic", "critical"),
    "visit_share__email": ("email-loyal", None),
    "visit_share__paid_social": ("social-media", None),
    "visit_share__organic_social": ("social-media", None),
    "visit_share__organic_search": ("search-led", None),
    "visit_share__paid_search": ("search-led", None),
    "visit_share__referral": ("referred", None),
    "visit_share__direct": ("direct-visit", None),
}
# The leading product category makes the noun.
NOUN_PREFIX = "lead_share__"
DEFAULT_NOUN = "shoppers"
# A persona with no trait strong enough to name it is close to the average customer.
PLAIN = "everyday"
HOUR_PHRASES: tuple[tuple[float, float, str], ...] = (
    (4.0, 9.0, "early-bird"),
    (17.0, 21.0, "evening"),
    (21.0, 28.0, "late-night"),
)
# An hour is a trait when the persona's usual hour is this far from everyone's (hours).
MIN_HOUR_SHIFT = 2.0

LABELS: dict[str, str] = {
    "days_between_orders": "days between orders",
    "avg_order_value": "average order value",
    "price_position": "price point (0-1 in the category)",
    "units_per_line": "units per product",
    "discount_share": "orders with a discount code",
    "holiday_share": "orders in November-December",
    "mobile_share": "visits on a phone",
    "is_europe": "live in Europe",
    "nps_score": "NPS answer",
    "orders_per_year": "orders a year",
    "days_since_last_order": "days since the last order",
    "email_opens_365d": "email opens in the last year",
}
SHARES = ("discount_share", "holiday_share", "mobile_share", "is_europe")

# What having each named trait means for one customer, as the card says its share ("92% live
# in Europe"); the rules are `cards.trait_holders`. Nouns say it with `noun_words`.
CLAIM_WORDS: dict[str, str] = {
    "discount-driven": "used a discount code on most orders",
    "full-price": "paid full price on most orders",
    "premium": "are in the third of customers paying the highest prices in their categories",
    "budget": "are in the third of customers paying the lowest prices in their categories",
    "big-basket": "are in the third of customers with the biggest average order",
    "small-basket": "are in the third of customers with the smallest average order",
    "bulk-buying": "buy two or more units of a product on average",
    "single-item": "buy one unit of each product",
    "occasional": "are in the third of customers with the longest gaps between orders",
    "frequent": "are in the third of customers with the shortest gaps between orders",
    "holiday": "placed most orders in November-December",
    "mobile": "made most visits on a phone",
    "desktop": "made most visits on a computer or tablet",
    "European": "live in Europe",
    "enthusiastic": "answered 9 or 10 in the NPS survey",
    "critical": "answered 0 to 6 in the NPS survey",
    "email-loyal": "came from email on most visits",
    "social-media": "came from social media on most visits",
    "search-led": "came from a search engine on most visits",
    "referred": "came from another site's link on most visits",
    "direct-visit": "came straight to the site on most visits",
    "early-bird": "usually shop between 04:00 and 09:00 local time",
    "evening": "usually shop between 17:00 and 21:00 local time",
    "late-night": "usually shop between 21:00 and 04:00 local time",
}


def label(feature: str) -> str:
    """How a marketer reads a feature's name."""
    if feature in LABELS:
        return LABELS[feature]
    if feature.startswith(NOUN_PREFIX):
        return f"lead items that are {feature.removeprefix(NOUN_PREFIX).replace('_', ' ')}"
    if feature.startswith("visit_share__"):
        return f"visits from {feature.removeprefix('visit_share__').replace('_', ' ')}"
    return feature.replace("_", " ")


def describe(feature: str, persona_mean: float, rest_mean: float) -> str:
    """One trait in words: "orders with a discount code 58% vs 16%"."""
    is_share = feature in SHARES or feature.startswith((NOUN_PREFIX, "visit_share__"))
    if is_share:
        return f"{label(feature)} {persona_mean:.0%} vs {rest_mean:.0%}"
    digits = 2 if abs(persona_mean) < 10 and abs(rest_mean) < 10 else 0
    return f"{label(feature)} {persona_mean:.{digits}f} vs {rest_mean:.{digits}f}"


def noun_words(feature: str) -> str:
    """What being one of a noun's buyers means for one customer."""
    category = feature.removeprefix(NOUN_PREFIX).replace("_", " ")
    return f"have {category} as most of their lead items"


def category_noun(feature: str) -> str:
    """"gift_sets" -> "gift set buyers": the category's words, the last one singular."""
    words = feature.removeprefix(NOUN_PREFIX).split("_")
    last = words[-1]
    if last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        words[-1] = last[:-1]
    return " ".join(words) + " buyers"


def hour_phrase(persona_hour: float | None, overall_hour: float | None) -> str | None:
    """ "early-bird", "evening" or "late-night" when the persona's usual local hour is
    MIN_HOUR_SHIFT or more from everyone's and falls in that part of the day."""
    if persona_hour is None or overall_hour is None:
        return None
    if any(map(math.isnan, (persona_hour, overall_hour))):
        return None
    shift = abs((persona_hour - overall_hour + 12.0) % 24.0 - 12.0)
    if shift < MIN_HOUR_SHIFT:
        return None
    for low, high, phrase in HOUR_PHRASES:
        for hour in (persona_hour, persona_hour + 24.0):
            if low <= hour < high:
                return phrase
    return None


def describable(
    traits: pl.DataFrame, hour: str | None = None, *, shares: Mapping[str, float] | None
) -> tuple[list[str], str]:
    """What words can say of one persona from its traits (feature, smd): its adjectives,
    strongest first (`hour`, its hour phrase, second), and its noun, each only when at least
    CLAIM_SHARE of the persona has it (`shares`: phrase -> share of the persona, missing is
    none; None judges by effect sizes alone, to tell whether two personas differ at all). Two
    personas with the same adjectives and noun cannot be told apart by a name."""

    def held(phrase: str) -> bool:
        return shares is None or shares.get(phrase, 0.0) >= CLAIM_SHARE

    ranked = traits.filter(pl.col("smd").abs() >= MIN_EFFECT).sort(
        [pl.col("smd").abs(), pl.col("feature")], descending=[True, False]
    )
    adjectives: list[str] = []
    noun = None
    for feature, smd in ranked.select("feature", "smd").iter_rows():
        if feature.startswith(NOUN_PREFIX):
            if noun is None and smd > 0 and held(category_noun(feature)):
                noun = category_noun(feature)
            continue
        high, low = ADJECTIVES.get(feature, (None, None))
        phrase = high if smd > 0 else low
        if phrase and phrase not in adjectives and held(phrase):
            adjectives.append(phrase)
    if hour and held(hour):
        adjectives.insert(min(1, len(adjectives)), hour)
    noun = noun or DEFAULT_NOUN
    if not adjectives and noun == DEFAULT_NOUN:
        adjectives = [PLAIN]
    return adjectives, noun


def candidate_names(
    traits: pl.DataFrame, hour: str | None = None, *, shares: Mapping[str, float]
) -> list[str]:
    """The names one persona's traits allow, shortest first: its one or two strongest
    describable traits before its noun, then with each further trait added."""
    adjectives, noun = describable(traits, hour, shares=shares)
    first = min(MAX_ADJECTIVES, len(adjectives))
    return [_compose(adjectives[:count], noun) for count in range(first, len(adjectives) + 1)]


def name_persona(
    traits: pl.DataFrame,
    hour: str | None = None,
    taken: frozenset[str] = frozenset(),
    *,
    shares: Mapping[str, float],
) -> str | None:
    """The first of `candidate_names` that no other persona has (`taken`); None when every
    one is taken: no describable trait tells this persona from one already named."""
    return next(
        (n for n in candidate_names(traits, hour, shares=shares) if n not in taken), None
    )


def claims(name: str) -> list[str]:
    """The traits a name claims, in its order: its adjectives (those of ADJECTIVES and
    HOUR_PHRASES) and its noun ("coffee bean buyers"; none for "shoppers"). Used to check that
    a name kept from an earlier day still holds."""
    vocabulary = {p for pair in ADJECTIVES.values() for p in pair if p}
    vocabulary |= {p for _, _, p in HOUR_PHRASES} | {PLAIN}
    words = name.split(" ")
    found: list[str] = []
    for i, word in enumerate(words):
        match = next((p for p in vocabulary if p.lower() == word.lower()), None)
        if match is None:
            noun = " ".join(words[i:])
            noun = noun[0].lower() + noun[1:]
            if noun != DEFAULT_NOUN:
                found.append(noun)
            return found
        if match != PLAIN:  # "everyday" claims nothing: close to the average customer
            found.append(match)
    return found


def claim_text(phrase: str, share: float, nouns: Mapping[str, str]) -> str:
    """One claimed trait and its share, as the card says it: "92% live in Europe"."""
    words = CLAIM_WORDS.get(phrase) or nouns.get(phrase) or phrase
    return f"{share:.0%} {words}"


def _compose(adjectives: list[str], noun: str) -> str:
    text = " ".join([*adjectives, noun])
    return text[0].upper() + text[1:]
