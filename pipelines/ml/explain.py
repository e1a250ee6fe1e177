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
}


def phrase(feature: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        if feature == "avg_days_between_orders":
            return "only one order so far"
        return f"no {feature.replace('_', ' ')} on record"
    return PHRASES.get(feature, lambda v: f"{feature.replace('_', ' ')} = {v:g}")(value)


def top_reasons(
    contributions: np.ndarray, values: pl.DataFrame, features: tuple[str, ...], k: int = 3
) -> list[list[str]]:
    """For each row, the `k` features that push the score up most, as phrases.

    `contributions` is XGBoost's `pred_contribs` output (rows x features+1, bias last).
    Rows with fewer than `k` pushing features are padded with the next strongest ones.
    """
    contrib = contributions[:, : len(features)]
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    columns = [values.get_column(f).to_list() for f in features]
    reasons = []
    for row, picks in enumerate(order):
        reasons.append([phrase(features[j], columns[j][row]) for j in picks])
    return reasons
