"""The standardised customer profile: what personas are compared on and described by.

Each customer as one numeric vector a marketer can read: figures standardised to z-scores
(missing figures sit at the mean, zero), shares as they are, standardised, and each category as
one-hot columns scaled by 1/sqrt(2), so that two customers who differ in one category are as far
apart as two who differ by one standard deviation in one figure (one-hot columns of two
different categories differ in two places). Used to start the persona model (k-means), to score
a clustering (silhouette) and to say what sets a persona apart (standardised mean differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.personas.features import CATEGORY_PREFIX, CHANNEL_PREFIX, count_columns

# Figures (log where a figure is skewed), each with how a marketer reads it.
FIGURES: dict[str, str] = {
    "log_days_between_orders": "days between orders",
    "log_avg_order_value": "average order value",
    "price_position": "price point",
    "log_units_per_line": "units per product",
    "discount_share": "share of orders with a discount code",
    "holiday_share": "share of orders in November-December",
    "nps_score": "NPS answer",
    "mobile_share": "share of visits on a phone",
}
HOURS: tuple[str, ...] = ("read_hour", "shop_hour")
CATEGORIES: tuple[str, ...] = ("world_region", "main_device", "acquisition_channel")


@dataclass(frozen=True)
class Profile:
    """The matrix (one row per customer, in the frame's order) and its column names."""

    matrix: np.ndarray
    columns: list[str]


def share_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Per customer, lead items per category and visits per channel as shares (null where the
    customer has none), named `lead_share__<category>` and `visit_share__<channel>`."""
    out = []
    for prefix, total, name in (
        (CATEGORY_PREFIX, "lead_items", "lead_share__"),
        (CHANNEL_PREFIX, "sessions", "visit_share__"),
    ):
        for column in count_columns(frame, prefix):
            out.append(
                pl.when(pl.col(total) > 0)
                .then(pl.col(column) / pl.col(total))
                .alias(name + column.removeprefix(prefix))
            )
    return frame.select(out)


def build_profile(frame: pl.DataFrame) -> Profile:
    """The standardised profile matrix of a feature frame (see module docstring)."""
    parts: list[np.ndarray] = []
    names: list[str] = []
    numeric = frame.select([pl.col(c).cast(pl.Float64) for c in FIGURES if c in frame.columns])
    numeric = pl.concat([numeric, share_frame(frame)], how="horizontal")
    for column in numeric.columns:
        x = numeric.get_column(column).fill_nan(None).to_numpy().astype(float)
        parts.append(_standardise(x)[:, None])
        names.append(column)
    for hour in HOURS:
        if hour not in frame.columns:
            continue
        angle = frame.get_column(hour).cast(pl.Float64).to_numpy().astype(float) * 2 * math.pi / 24
        for fn, suffix in ((np.sin, "sin"), (np.cos, "cos")):
            parts.append(_standardise(fn(angle))[:, None])
            names.append(f"{hour}_{suffix}")
    for column in CATEGORIES:
        if column not in frame.columns:
            continue
        values = frame.get_column(column).cast(pl.String).fill_null("unknown")
        for level in sorted(values.unique().to_list()):
            onehot = (values == level).cast(pl.Float64).to_numpy()
            parts.append(((onehot - onehot.mean()) / math.sqrt(2))[:, None])
            names.append(f"{column}={level}")
    if not parts:
        return Profile(np.zeros((frame.height, 0)), [])
    return Profile(np.hstack(parts), names)


def _standardise(x: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(x)
    if seen.sum() < 2:
        return np.zeros_like(x)
    mean, sd = x[seen].mean(), x[seen].std()
    z = (x - mean) / sd if sd > 0 else x - mean
    return np.where(seen, z, 0.0)


def standardised_differences(
    values: pl.DataFrame, labels: np.ndarray, min_count: int = 5
) -> pl.DataFrame:
    """For each label and each numeric column of `values`: the label's mean, the rest's mean and
    the standardised mean difference (Cohen's d with the pooled standard deviation), over the
    customers for whom the figure is known. Rows with fewer than `min_count` known values on
    either side are left out. Columns: label, feature, persona_mean, rest_mean, smd."""
    rows = []
    labels = np.asarray(labels)
    for column in values.columns:
        x = values.get_column(column).cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
        seen = ~np.isnan(x)
        for label in np.unique(labels):
            inside = seen & (labels == label)
            outside = seen & (labels != label)
            if inside.sum() < min_count or outside.sum() < min_count:
                continue
            a, b = x[inside], x[outside]
            pooled = math.sqrt(
                ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                / (len(a) + len(b) - 2)
            )
            smd = (a.mean() - b.mean()) / pooled if pooled > 0 else 0.0
            rows.append((int(label), column, float(a.mean()), float(b.mean()), float(smd)))
    return pl.DataFrame(
        rows,
        schema={
            "label": pl.Int64,
            "feature": pl.String,
            "persona_mean": pl.Float64,
            "rest_mean": pl.Float64,
            "smd": pl.Float64,
        },
        orient="row",
    )
