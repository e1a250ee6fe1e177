"""A small shop whose customers come in known kinds, as the marts would show it: the frames
`pipelines.personas.features.Inputs` holds, generated from a seed.

Kinds differ the way personas do: hour of day, discount habit, price point, favourite category,
basket size, device and region. Used to test that personas are found, stable and named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from pipelines.personas.features import Inputs

CATEGORIES = ("Coffee Beans", "Gift Sets", "Snacks")
PRICES = {"Coffee Beans": (10.0, 30.0), "Gift Sets": (30.0, 110.0), "Snacks": (5.0, 20.0)}


@dataclass(frozen=True)
class Kind:
    hour: float
    discount: float
    tier: float
    category: int
    units: int
    mobile: float
    europe: float
    rate: float  # orders a day


KINDS = (
    Kind(hour=7, discount=0.05, tier=0.8, category=0, units=1, mobile=0.2, europe=0.9, rate=1 / 20),
    Kind(
        hour=13, discount=0.7, tier=0.2, category=2, units=1, mobile=0.8, europe=0.05, rate=1 / 25
    ),
    Kind(hour=20, discount=0.1, tier=0.6, category=1, units=4, mobile=0.5, europe=0.1, rate=1 / 20),
)


def make_world(
    customers_per_kind: int = 60,
    seed: int = 0,
    end: date = date(2026, 6, 30),
    days: int = 365,
    kinds: tuple[Kind, ...] = KINDS,
) -> tuple[Inputs, dict[str, int]]:
    """The marts' frames for a shop with `customers_per_kind` customers of each kind, events
    over `days` days up to `end`, and each customer's true kind (customer_key -> index)."""
    rng = np.random.default_rng(seed)
    start = datetime.combine(end - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    people, orders, lines, sessions, email = [], [], [], [], []
    truth: dict[str, int] = {}
    order_no = 0
    for kind_index, kind in enumerate(kinds):
        for i in range(customers_per_kind):
            key = f"c{kind_index}_{i:04d}"
            truth[key] = kind_index
            europe = rng.random() < kind.europe
            country, region, offset = ("DE", None, 1) if europe else ("US", "NY", -5)
            hour = kind.hour + rng.normal(0, 0.7)
            people.append(
                {
                    "customer_key": key,
                    "country_code": country,
                    "region_code": region,
                    "acquisition_channel": ["organic_search", "paid_social", "direct"][kind_index],
                    "nps_score": int(np.clip(rng.normal(9 - 2 * kind_index, 1), 0, 10)),
                    "mailchimp_status": "subscribed",
                    "main_device": "mobile" if rng.random() < kind.mobile else "desktop",
                }
            )
            n_orders = max(1, rng.poisson(kind.rate * days))
            for day in np.sort(rng.integers(0, days, n_orders)):
                order_no += 1
                at = start + timedelta(
                    days=int(day), hours=float((hour - offset + rng.normal(0, 1.0)) % 24)
                )
                discounted = rng.random() < kind.discount
                low, high = PRICES[CATEGORIES[kind.category]]
                price = round(
                    low + (high - low) * float(np.clip(kind.tier + rng.normal(0, 0.1), 0, 1)), 2
                )
                qty = int(kind.units + rng.integers(0, 2))
                order_id = f"#{order_no}"
                orders.append(
                    {
                        "order_id": order_id,
                        "customer_key": key,
                        "ordered_at": at,
                        "amount": price * qty,
                        "refunded_amount": 0.0,
                        "discount_amount": round(price * qty * 0.1, 2) if discounted else 0.0,
                        "discount_code": "SAVE10" if discounted else None,
                        "is_cancelled": False,
                        "is_purchase": True,
                    }
                )
                lines.append(
                    {
                        "order_id": order_id,
                        "line_number": 1,
                        "customer_key": key,
                        "ordered_at": at,
                        "category": CATEGORIES[kind.category],
                        "quantity": qty,
                        "line_amount": price * qty,
                        "is_cancelled": False,
                        "is_return": False,
                    }
                )
                sessions.append(
                    {
                        "customer_key": key,
                        "session_started_at": at - timedelta(minutes=5),
                        "channel": people[-1]["acquisition_channel"],
                        "device_category": people[-1]["main_device"],
                    }
                )
                sent = at - timedelta(hours=3)
                email.append(
                    {"customer_key": key, "action": "open", "action_at": at, "sent_at": sent}
                )
    inputs = Inputs(
        customers=pl.DataFrame(people),
        orders=pl.DataFrame(orders).with_columns(pl.col("ordered_at").dt.cast_time_unit("us")),
        lines=pl.DataFrame(lines).with_columns(
            pl.col("ordered_at").dt.cast_time_unit("us"),
            pl.col("line_number").cast(pl.Int32),
            pl.col("quantity").cast(pl.Int32),
        ),
        sessions=pl.DataFrame(sessions).with_columns(
            pl.col("session_started_at").dt.cast_time_unit("us")
        ),
        email_events=pl.DataFrame(email).with_columns(
            pl.col("action_at").dt.cast_time_unit("us"), pl.col("sent_at").dt.cast_time_unit("us")
        ),
    )
    return inputs, truth
