"""Top reasons behind a score, from XGBoost's per-feature contributions, in plain words."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl


def _money(v: float) -> str:
    return f"{v:,.0f}"


PHRASES: dict[str, Callable[[float], str]] = {
    "days_since_last_order": lambda v: f"no order in {v:.0f} days",
    "tenure_days": lambda v: f"customer for {v:.0f} days",
    "orders_count": lambda v: f"{v:.0f} order{'s' if v != 1 else ''} in total",
    "orders_30d": lambda v: f"{v:.0f} orders in the last 30 days",
    "orders_90d": lambda v: f"{v:.0f} orders in the last 90 days",
    "orders_365d": lambda v: f"{v:.0f} orders in the last year",
    "revenue": lambda v: f"lifetime spend {_money(v)}",
    "avg_order_value": lambda v: f"average order {_money(v)}",
    "revenue_90d": lambda v: f"spent {_money(v)} in the last 90 days",
    "revenue_365d": lambda v: f"spent {_money(v)} in the last year",
    "avg_days_between_orders": lambda v: f"usually orders every {v:.0f} days",
    "is_email_subscribed": lambda v: "subscribed to email" if v else "not subscribed to email",
    "repeat_order_value": lambda v: f"repeat orders average {_money(v)}",
    "p_alive": lambda v: f"{v:.0%} likely still a customer, by their buying rhythm",
    "expected_orders_90d": lambda v: f"about {v:.1f} orders expected in the next 90 days",
    "expected_orders_365d": lambda v: f"about {v:.1f} orders expected in the next year",
    "expected_order_value": lambda v: f"expected order value {_money(v)}",
    "expected_value_365d": lambda v: f"buying pattern suggests {_money(v)} in the next year",
    "discounted_order_share": lambda v: f"{v:.0%} of orders with a discount",
    "categories_bought": lambda v: f"bought from {v:.0f} categor{'y' if v == 1 else 'ies'}",
    "email_opens_90d": lambda v: f"opened {v:.0f} emails in the last 90 days",
    "email_clicks_90d": lambda v: f"clicked {v:.0f} emails in the last 90 days",
    "has_unsubscribed": lambda v: "unsubscribed from email" if v else "never unsubscribed",
    "sessions_30d": lambda v: f"{v:.0f} visits to the site in the last 30 days",
    "sessions_90d": lambda v: f"{v:.0f} visits to the site in the last 90 days",
    "ad_sessions_90d": lambda v: f"{v:.0f} visits from ads in the last 90 days",
    "days_since_last_session": lambda v: f"last visited the site {v:.0f} days ago",
    "nps_score": lambda v: f"gave {v:.0f} out of 10 in a survey",
    "lead_age_days": lambda v: f"a lead for {v:.0f} days",
    "click_level": lambda v: (
        "email clicks: " + ("none yet", "a first click", "engaged")[min(int(v), 2)]
    ),
    "email_opens_30d": lambda v: f"opened {v:.0f} emails in the last 30 days",
    "email_opens_total": lambda v: f"opened {v:.0f} emails in total",
    "email_clicks_30d": lambda v: f"clicked {v:.0f} emails in the last 30 days",
    "email_clicks_total": lambda v: f"clicked {v:.0f} emails in total",
    "days_since_last_open": lambda v: f"last opened an email {v:.0f} days ago",
    "days_since_last_click": lambda v: f"last clicked an email {v:.0f} days ago",
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
    as phrases, one per family: columns reason_1..reason_k, null where the features have
    fewer than `k` families.

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
    ranked = np.lexsort((leader, -strength), axis=1)[:, :k]
    picked = np.take_along_axis(leader, ranked, axis=1)
    # Phrases are made once per distinct value of a feature, not once per customer.
    matrix = [values.get_column(f).cast(pl.Float64).to_numpy() + 0.0 for f in features]
    out = {}
    for i in range(k):
        column = np.full(n, None, dtype=object)
        if i < picked.shape[1]:
            for j in np.unique(picked[:, i]):
                rows = picked[:, i] == j
                distinct, where = np.unique(matrix[j][rows], return_inverse=True)
                words = np.array([phrase(features[j], float(v)) for v in distinct], dtype=object)
                column[rows] = words[where]
        out[f"reason_{i + 1}"] = pl.Series(column, dtype=pl.String)
    return pl.DataFrame(out)
