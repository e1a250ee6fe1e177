"""The recency rule: the longer since the last order, the likelier the customer has left.

Always reported beside the churn model, and what scores churn when history is too short to
learn and no earlier model may score.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.ml.explain import phrase
from pipelines.ml.trainer import Baseline

VERSION = "recency_rule"


def recency_probability(frame: pl.DataFrame) -> np.ndarray:
    """Days since the last order relative to a year, as a churn score in [0, 1]."""
    days = frame.get_column("days_since_last_order").cast(pl.Float64).fill_null(365.0)
    return (days / 365.0).clip(0.0, 1.0).to_numpy()


def recency_reasons(frame: pl.DataFrame) -> list[list[str]]:
    return [
        [
            phrase("days_since_last_order", d),
            phrase("orders_count", n),
            phrase("avg_days_between_orders", v),
        ]
        for d, n, v in zip(
            frame.get_column("days_since_last_order").to_list(),
            frame.get_column("orders_count").to_list(),
            frame.get_column("avg_days_between_orders").to_list(),
            strict=True,
        )
    ]


RECENCY = Baseline(VERSION, recency_probability, recency_reasons)
