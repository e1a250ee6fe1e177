"""The recency rule: the longer since the last order, the likelier the customer has left.

Always reported beside the model, and what scores churn when history is too short to learn.
"""

from __future__ import annotations

import polars as pl

from pipelines.ml.churn import deciles
from pipelines.ml.explain import phrase

VERSION = "recency_rule"


def recency_scores(current: pl.DataFrame) -> pl.DataFrame:
    """Scores in the churn table's shape, from days since last order relative to 365 days."""
    days = current.get_column("days_since_last_order").cast(pl.Float64)
    probability = (days / 365.0).clip(0.0, 1.0).alias("churn_probability")
    return pl.DataFrame(
        {
            "customer_key": current.get_column("customer_key"),
            "as_of_date": current.get_column("as_of_date"),
            "model_version": [VERSION] * current.height,
            "churn_probability": probability,
            "churn_decile": deciles(probability, current.get_column("customer_key")),
            "reason_1": [phrase("days_since_last_order", d) for d in days.to_list()],
            "reason_2": [phrase("orders_count", n) for n in current.get_column("orders_count")],
            "reason_3": [
                phrase("avg_days_between_orders", v)
                for v in current.get_column("avg_days_between_orders").to_list()
            ],
        }
    )
