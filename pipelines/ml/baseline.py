"""The churn model's rivals. The recency rule: the longer since the last order, the likelier
the customer has left; it also scores churn when history is too short to measure anything and
no earlier model may score. BG/NBD's p_alive: the chance the customer is still around, from
their own rhythm of purchases (its complement ranks churn risk).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.ml.explain import distinct, phrase
from pipelines.ml.rivals import Baseline

VERSION = "recency_rule"


def recency_probability(frame: pl.DataFrame) -> np.ndarray:
    """Days since the last order relative to a year, as a churn score in [0, 1]."""
    days = frame.get_column("days_since_last_order").cast(pl.Float64).fill_null(365.0)
    return (days / 365.0).clip(0.0, 1.0).to_numpy()


def recency_reasons(frame: pl.DataFrame) -> list[list[str]]:
    return [
        distinct([("days_since_last_order", d), ("orders_count", n),
                  ("avg_days_between_orders", v)])
        for d, n, v in zip(
            frame.get_column("days_since_last_order").to_list(),
            frame.get_column("orders_count").to_list(),
            frame.get_column("avg_days_between_orders").to_list(),
            strict=True,
        )
    ]


RECENCY = Baseline(VERSION, recency_probability, recency_reasons, "days since the last order")


def gone_probability(frame: pl.DataFrame) -> np.ndarray:
    """1 - BG/NBD's p_alive (missing where BG/NBD could not be fit)."""
    return (1.0 - frame.get_column("p_alive").cast(pl.Float64)).fill_null(np.nan).to_numpy()


def gone_reasons(frame: pl.DataFrame) -> list[list[str]]:
    return [
        distinct([("p_alive", p), ("days_since_last_order", d), ("orders_count", n)])
        for p, d, n in zip(
            frame.get_column("p_alive").to_list(),
            frame.get_column("days_since_last_order").to_list(),
            frame.get_column("orders_count").to_list(),
            strict=True,
        )
    ]


P_ALIVE = Baseline(
    "bgnbd_p_alive", gone_probability, gone_reasons, "BG/NBD's chance the customer is still around"
)


def few_orders(frame: pl.DataFrame) -> np.ndarray:
    """Fewer orders so far, more risk: the order count, negated."""
    return -frame.get_column("orders_count").cast(pl.Float64).to_numpy()


FEW_ORDERS = Baseline(
    "order_count",
    few_orders,
    lambda frame: [
        [phrase("orders_count", n), phrase("days_since_last_order", d)]
        for n, d in zip(
            frame.get_column("orders_count").to_list(),
            frame.get_column("days_since_last_order").to_list(),
            strict=True,
        )
    ],
    "the order count so far (fewer orders, more risk)",
)
CHURN_RIVALS: tuple[Baseline, ...] = (RECENCY, P_ALIVE, FEW_ORDERS)
