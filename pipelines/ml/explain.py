"""Top reasons behind a score, from XGBoost's per-feature contributions, in plain words."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl


def _money(v: float) -> str:
    return f"{v:,.0f}"


def count(v: float, singular: str, plural: str | None = None, none: str = "no") -> str:
    """A whole count with its noun in the right number: "no visits", "1 visit", "2 visits"
    (`none` says zero; the value is rounded as shown, so 0.6 is "1 visit")."""
    n = round(v)
    noun = singular if n == 1 else (plural or singular + "s")
    return f"{none} {noun}" if n == 0 else f"{n:,} {noun}"


def days_ago(v: float, what: str, today: str) -> str:
    """"last visited the site 3 days ago", "... 1 day ago"; `today` when it was today."""
    return today if round(v) == 0 else f"{what} {count(v, 'day')} ago"


def _expected(v: float, when: str) -> str:
    """An expected number of orders: "about 0.6 orders", "almost no orders" under 0.05."""
    return (f"almost no orders expected {when}" if v < 0.05
            else f"about {v:.1f} orders expected {when}")


def _every(v: float) -> str:
    n = round(v)
    if n < 1:
        return "usually orders more than once a day"
    return "usually orders every day" if n == 1 else f"usually orders every {n:,} days"


PHRASES: dict[str, Callable[[float], str]] = {
    "days_since_last_order": lambda v: (
        "ordered today" if round(v) == 0 else f"no order in {count(v, 'day')}"),
    "tenure_days": lambda v: (
        "a customer since today" if round(v) == 0 else f"customer for {count(v, 'day')}"),
    "orders_count": lambda v: f"{count(v, 'order')} in total",
    "orders_30d": lambda v: f"{count(v, 'order')} in the last 30 days",
    "orders_90d": lambda v: f"{count(v, 'order')} in the last 90 days",
    "orders_365d": lambda v: f"{count(v, 'order')} in the last year",
    "revenue": lambda v: f"lifetime spend {_money(v)}",
    "avg_order_value": lambda v: f"average order {_money(v)}",
    "revenue_90d": lambda v: f"spent {_money(v)} in the last 90 days",
    "revenue_365d": lambda v: f"spent {_money(v)} in the last year",
    "avg_days_between_orders": _every,
    "is_email_subscribed": lambda v: "subscribed to email" if v else "not subscribed to email",
    "repeat_order_value": lambda v: f"repeat orders average {_money(v)}",
    "p_alive": lambda v: f"{v:.0%} likely still a customer, by their buying rhythm",
    "expected_orders_90d": lambda v: _expected(v, "in the next 90 days"),
    "expected_orders_365d": lambda v: _expected(v, "in the next year"),
    "expected_order_value": lambda v: f"expected order value {_money(v)}",
    "expected_value_365d": lambda v: f"buying pattern suggests {_money(v)} in the next year",
    "discounted_order_share": lambda v: f"{v:.0%} of orders with a discount",
    "categories_bought": lambda v: f"bought from {count(v, 'category', 'categories')}",
    "email_opens_90d": lambda v: f"opened {count(v, 'email')} in the last 90 days",
    "email_clicks_90d": lambda v: f"clicked {count(v, 'email')} in the last 90 days",
    "has_unsubscribed": lambda v: "unsubscribed from email" if v else "never unsubscribed",
    "sessions_30d": lambda v: f"{count(v, 'visit')} to the site in the last 30 days",
    "sessions_90d": lambda v: f"{count(v, 'visit')} to the site in the last 90 days",
    "ad_sessions_90d": lambda v: f"{count(v, 'visit')} from ads in the last 90 days",
    "days_since_last_session": lambda v: days_ago(
        v, "last visited the site", "visited the site today"),
    "nps_score": lambda v: f"gave {v:.0f} out of 10 in a survey",
    "lead_age_days": lambda v: (
        "a lead since today" if round(v) == 0 else f"a lead for {count(v, 'day')}"),
    "click_level": lambda v: (
        "email clicks: " + ("none yet", "a first click", "engaged")[min(int(v), 2)]
    ),
    "email_opens_30d": lambda v: f"opened {count(v, 'email')} in the last 30 days",
    "email_opens_total": lambda v: f"opened {count(v, 'email')} in total",
    "email_clicks_30d": lambda v: f"clicked {count(v, 'email')} in the last 30 days",
    "email_clicks_total": lambda v: f"clicked {count(v, 'email')} in total",
    "days_since_last_open": lambda v: days_ago(
        v, "last opened an email", "opened an email today"),
    "days_since_last_click": lambda v: days_ago(
        v, "last clicked an email", "clicked an email today"),
}


def _source_phrase(feature: str) -> Callable[[float], str]:
    name = feature.removeprefix("source_").replace("_", " ")
    return lambda v: f"came from {name}" if v else f"did not come from {name}"


SOURCE_FEATURES = (
    "organic_search",
    "paid_search",
    "paid_social",
    "social_media",
    "email_marketing",
    "referrals",
    "direct_traffic",
    "other_campaigns",
    "offline",
)
PHRASES.update({f"source_{s}": _source_phrase(f"source_{s}") for s in SOURCE_FEATURES})


# Features that tell the same story; a customer gets at most one reason from each family, so
# "no order in 120 days" is not followed by "0 orders in the last 90 days".
FAMILIES: dict[str, str] = {
    "days_since_last_order": "recent",
    "orders_30d": "recent",
    "orders_90d": "recent",
    "revenue_90d": "recent",
    "orders_365d": "year",
    "revenue_365d": "year",
    "orders_count": "value",
    "revenue": "value",
    "avg_order_value": "value",
    "tenure_days": "tenure",
    "avg_days_between_orders": "rhythm",
    "is_email_subscribed": "email",
    "repeat_order_value": "value",
    "expected_order_value": "value",
    "p_alive": "rhythm",
    "expected_orders_90d": "outlook",
    "expected_orders_365d": "outlook",
    "expected_value_365d": "outlook",
    "discounted_order_share": "discount",
    "categories_bought": "value",
    "email_clicks_90d": "email_click",
    "has_unsubscribed": "email",
    "sessions_30d": "web",
    "sessions_90d": "web",
    "ad_sessions_90d": "web",
    "days_since_last_session": "web",
    "nps_score": "survey",
    "lead_age_days": "tenure",
    "click_level": "email_click",
    "email_opens_30d": "email_open",
    "email_opens_90d": "email_open",
    "email_opens_total": "email_open",
    "days_since_last_open": "email_open",
    "email_clicks_30d": "email_click",
    "email_clicks_total": "email_click",
    "days_since_last_click": "email_click",
    **{f"source_{s}": "source" for s in SOURCE_FEATURES},
}


# Families ranked beyond k, for rows whose top families repeat one story.
SPARE = 3
# Features that say how long ago the customer was last seen: with the same number of days
# (the last visit was the last order's) they tell one story, "no order in 202 days" and
# "last visited the site 202 days ago", and a row says it once.
LAST_SEEN = ("days_since_last_order", "days_since_last_session")
# Features that, unknown, say the customer has one order, as an order count of 1 does.
ONE_ORDER_WHEN_UNKNOWN = ("avg_days_between_orders", "repeat_order_value")


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def story(feature: str, value: float | None) -> str:
    """What a reason says, for telling two reasons of one row apart: a row never says one
    story twice (`LAST_SEEN` the same days ago; one order, as a count or as a rhythm or repeat
    value that cannot be known yet); otherwise its phrase."""
    if feature in LAST_SEEN and not _missing(value):
        return f"last seen {round(value)} days ago"
    if (feature in ONE_ORDER_WHEN_UNKNOWN and _missing(value)) or (
        feature == "orders_count" and not _missing(value) and round(value) == 1
    ):
        return "one order"
    return phrase(feature, value)


def distinct(reasons: list[tuple[str, float | None]]) -> list[str]:
    """The phrases of (feature, value) `reasons`, in order, less any that repeats an earlier
    one's story."""
    seen: set[str] = set()
    out = []
    for feature, value in reasons:
        told = story(feature, value)
        if told not in seen:
            seen.add(told)
            out.append(phrase(feature, value))
    return out


def phrase(feature: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        if feature in ("avg_days_between_orders", "repeat_order_value"):
            return "only one order so far"
        if feature == "days_since_last_open":
            return "never opened an email"
        if feature == "days_since_last_session":
            return "no visit to the site on record"
        if feature == "nps_score":
            return "no survey answer"
        if feature == "days_since_last_click":
            return "never clicked an email"
        return f"no {feature.replace('_', ' ')} on record"
    return PHRASES.get(feature, lambda v: f"{feature.replace('_', ' ')} = {v:g}")(value)


def top_reasons(
    contributions: np.ndarray,
    values: pl.DataFrame,
    features: tuple[str, ...],
    k: int = 3,
    direction: str = "up",
) -> list[list[str]]:
    """`reason_columns` as one list of phrases per row."""
    columns = reason_columns(contributions, values, features, k, direction)
    return [[r for r in row if r is not None] for row in columns.iter_rows()]


def reason_columns(
    contributions: np.ndarray,
    values: pl.DataFrame,
    features: tuple[str, ...],
    k: int = 3,
    direction: str = "up",
) -> pl.DataFrame:
    """For each row, the `k` features that push the score up most (`direction="up"`: why a
    customer is at risk) or move it most either way (`"both"`: why a value is high or low),
    as phrases, one per family and never one story twice (`story`: a customer whose last
    visit was their last order is not told "no order in 202 days; last visited the site 202
    days ago", one with one order not "1 order in total; only one order so far"): columns
    reason_1..reason_k, null where the features have fewer than `k` families.

    `contributions` is XGBoost's `pred_contribs` output, exact or approximate (rows x
    features+1, bias last). Rows with fewer than `k` pushing families are padded with the
    next strongest ones. Ties go to the feature listed first.
    """
    if direction not in ("up", "both"):
        raise ValueError(f"direction must be 'up' or 'both', got {direction!r}")
    if values.height == 0:  # XGBoost returns a flat empty array for no rows
        return pl.DataFrame(schema={f"reason_{i + 1}": pl.String for i in range(k)})
    contrib = contributions[:, : len(features)]
    if direction == "both":
        contrib = np.abs(contrib)
    n = contrib.shape[0]
    families: dict[str, list[int]] = {}
    for j, feature in enumerate(features):
        families.setdefault(FAMILIES.get(feature, feature), []).append(j)
    # A family speaks through its strongest feature, and families rank by that strength:
    # the same picks as walking every row's features in order and skipping seen families.
    strength = np.empty((n, len(families)))
    leader = np.empty((n, len(families)), dtype=np.int64)
    for g, members in enumerate(families.values()):
        part = contrib[:, members]
        first_max = part.argmax(axis=1)
        leader[:, g] = np.asarray(members)[first_max]
        strength[:, g] = part[np.arange(n), first_max]
    # A few families beyond k stand by: a row whose top families say the same thing in two
    # ways (see `story`) takes the next one instead of repeating itself.
    ranked = np.lexsort((leader, -strength), axis=1)[:, : k + SPARE]
    picked = np.take_along_axis(leader, ranked, axis=1)
    # Phrases are made once per distinct value of a feature, not once per customer.
    matrix = [values.get_column(f).cast(pl.Float64).to_numpy() + 0.0 for f in features]
    said, stories = [], []
    for i in range(picked.shape[1]):
        column = np.full(n, None, dtype=object)
        told = np.full(n, None, dtype=object)
        for j in np.unique(picked[:, i]):
            rows = picked[:, i] == j
            values, where = np.unique(matrix[j][rows], return_inverse=True)
            words = np.array([phrase(features[j], float(v)) for v in values], dtype=object)
            kinds = np.array([story(features[j], float(v)) for v in values], dtype=object)
            column[rows] = words[where]
            told[rows] = kinds[where]
        said.append(column)
        stories.append(told)
    chosen = [[None] * k for _ in range(n)]
    for r in range(n):
        seen: set[str] = set()
        slot = 0
        for column, told in zip(said, stories, strict=True):
            if column[r] is None or told[r] in seen:
                continue
            seen.add(told[r])
            chosen[r][slot] = column[r]
            slot += 1
            if slot == k:
                break
    out = {f"reason_{i + 1}": pl.Series([row[i] for row in chosen], dtype=pl.String)
           for i in range(k)}
    return pl.DataFrame(out)
