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
}


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
}


def phrase(feature: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        if feature in ("avg_days_between_orders", "repeat_order_value"):
            return "only one order so far"
        return f"no {feature.replace('_', ' ')} on record"
    return PHRASES.get(feature, lambda v: f"{feature.replace('_', ' ')} = {v:g}")(value)


def top_reasons(
    contributions: np.ndarray, values: pl.DataFrame, features: tuple[str, ...], k: int = 3,
    direction: str = "up",
) -> list[list[str]]:
    """For each row, the `k` features that push the score up most (`direction="up"`: why a
    customer is at risk) or move it most either way (`"both"`: why a value is high or low),
    as phrases, one per family.

    `contributions` is XGBoost's `pred_contribs` output (rows x features+1, bias last).
    Rows with fewer than `k` pushing families are padded with the next strongest ones.
    """
    if direction not in ("up", "both"):
        raise ValueError(f"direction must be 'up' or 'both', got {direction!r}")
    contrib = contributions[:, : len(features)]
    if direction == "both":
        contrib = np.abs(contrib)
    order = np.argsort(-contrib, axis=1, kind="stable")
    columns = [values.get_column(f).to_list() for f in features]
    families = [FAMILIES.get(f, f) for f in features]
    reasons = []
    for row, ranked in enumerate(order):
        seen: set[str] = set()
        picked: list[str] = []
        for j in ranked:
            if families[j] in seen:
                continue
            seen.add(families[j])
            picked.append(phrase(features[j], columns[j][row]))
            if len(picked) == k:
                break
        reasons.append(picked)
    return reasons
