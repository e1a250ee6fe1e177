"""How the simulated people shop over time, including the hidden year after the export.

Each buyer places a first order at their acquisition time, then buys as a Poisson process at
their base rate (with a Q4 bump for seasonal personas) until they leave for good. Leaving is an
exponential event with the person's hidden daily hazard, which is multiplied from the moment
they unsubscribe from email. Everything is drawn per person with NumPy and exploded to orders
and lines; there is no Python loop over days, people or orders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulate import reference as ref
from pipelines.simulate.population import (
    BUYER,
    DAY,
    STREAM_PLAYOUT,
    UNSUB_HAZARD_MULT,
    Window,
    rng_for,
)

logger = logging.getLogger(__name__)

LINES_PER_ORDER_P = (0.62, 0.28, 0.10)  # 1, 2 or 3 lines
QUANTITY_P = (0.72, 0.18, 0.07, 0.03)  # 1..4 units
DISCOUNT_PCTS = np.array([10, 15, 20, 25])
FAVOURITE_CATEGORY_P = 0.65
SEASON_PEAK_DAY = 340.0  # day of year: early December, gift season
SEASON_WIDTH_DAYS = 15.0
YEAR_DAYS = 365.2425
ACTIVE_WINDOW_DAYS = 365
CHURN_HORIZON_DAYS = 90
VALUE_HORIZON_DAYS = 365


@dataclass(frozen=True)
class Playout:
    """The simulated purchase history, past and hidden future.

    `orders`: order_id, person_id, ts (seconds), one row per order in time order.
    `lines`: order_id, line_no, person_id, ts, product_idx (0-based into the catalogue),
    quantity, amount_cents, one row per order line in (order_id, line_no) order.
    `left_ts`: per person (index person_id - 1) the time they leave for good, seconds as
    float; +inf for people who never bought.
    """

    orders: pl.DataFrame
    lines: pl.DataFrame
    left_ts: np.ndarray


def season_factor(ts: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """Relative purchase intensity at times `ts` (seconds) for people with Q4 `amplitude`;
    returns 1 outside the season, up to 1 + amplitude at its peak."""
    doy = (ts / DAY) % YEAR_DAYS  # the epoch starts on 1 January, close enough for a bump
    bump = np.exp(-0.5 * ((doy - SEASON_PEAK_DAY) / SEASON_WIDTH_DAYS) ** 2)
    return 1.0 + amplitude * bump


def leave_times(
    rng: np.random.Generator, start: np.ndarray, hazard: np.ndarray, unsub: np.ndarray, never: float
) -> np.ndarray:
    """Time each person leaves, from a piecewise-constant daily hazard: `hazard` from `start`,
    `hazard * UNSUB_HAZARD_MULT` after `unsub` (use `never` for people who stay subscribed).
    Returns seconds as float, always >= start."""
    e = rng.exponential(1.0, len(start))
    switch = np.maximum(unsub, start)
    before = hazard * (switch - start) / DAY  # cumulative hazard until the switch
    after = hazard * UNSUB_HAZARD_MULT
    return np.where(e < before, start + e / hazard * DAY, switch + (e - before) / after * DAY)


def play_out(seed: int, people: pl.DataFrame, window: Window) -> Playout:
    """Simulate every buyer's orders from acquisition through the end of the hidden future.

    Returns a `Playout` with orders and lines for past and future; order ids start at 1001
    and ascend with order time.
    """
    rng = rng_for(seed, STREAM_PLAYOUT)
    n_people = people.height
    buyers = people.filter(pl.col("role") == BUYER)
    nb = buyers.height
    pid = buyers["person_id"].to_numpy()
    t0 = buyers["acquired_ts"].to_numpy().astype(np.float64)
    rate = buyers["purchase_rate"].to_numpy()
    amplitude = buyers["seasonality"].to_numpy()
    horizon = float(window.horizon_ts)
    never = horizon + 100 * YEAR_DAYS * DAY
    unsub = buyers["unsub_ts"].cast(pl.Float64).fill_null(never).to_numpy()

    left = leave_times(rng, t0, buyers["base_hazard"].to_numpy(), unsub, never)
    stop = np.minimum(left, horizon)
    span = stop - t0

    # Repeat purchases: a Poisson process at the peak intensity, thinned to the season shape.
    peak = 1.0 + amplitude
    k = rng.poisson(rate * peak * span / DAY)
    who = np.repeat(np.arange(nb), k)
    ts = t0[who] + rng.random(len(who)) * span[who]
    keep = rng.random(len(who)) * peak[who] < season_factor(ts, amplitude[who])
    who = np.concatenate([np.arange(nb), who[keep]])
    ts = np.concatenate([t0, ts[keep]]).astype(np.int64)

    # Stable sort on one combined key (time, then person): deterministic on every CPU and
    # much faster than lexsort. Person ids stay below 2**21 at every scale.
    order = np.argsort(ts * (1 << 21) + pid[who], kind="stable")
    who, ts = who[order], ts[order]
    n_orders = len(who)
    order_id = np.arange(1001, 1001 + n_orders, dtype=np.int64)

    # Order-level draws, then explode to lines.
    discount_prob = buyers["discount_prob"].to_numpy()[who]
    pct = np.where(
        rng.random(n_orders) < discount_prob,
        DISCOUNT_PCTS[rng.integers(0, len(DISCOUNT_PCTS), n_orders)],
        0,
    )
    n_lines = rng.choice(np.arange(1, 4), n_orders, p=LINES_PER_ORDER_P)
    fav = buyers["fav_category"].to_numpy()[who]
    category = np.where(
        rng.random(n_orders) < FAVOURITE_CATEGORY_P,
        fav,
        rng.integers(0, len(ref.CATEGORIES), n_orders),
    )
    per_cat = ref.PRODUCTS_PER_CATEGORY
    tier = buyers["price_tier"].to_numpy()[who]
    position = np.clip(
        np.rint(tier * (per_cat - 1) + rng.normal(0, 1.6, n_orders)), 0, per_cat - 1
    ).astype(np.int64)
    n_products = len(ref.CATEGORIES) * per_cat
    # Other lines are cross-sells: distinct products anywhere in the catalogue.
    off1 = rng.integers(1, n_products, n_orders)
    off2 = rng.integers(1, n_products - 1, n_orders)
    off2 = np.where(off2 >= off1, off2 + 1, off2)
    first_product = category * per_cat + position

    line_order = np.repeat(np.arange(n_orders), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_no = np.arange(len(line_order)) - starts[line_order]
    offsets = np.stack([np.zeros(n_orders, dtype=np.int64), off1, off2], axis=1)
    product = (first_product[line_order] + offsets[line_order, line_no]) % n_products
    quantity = rng.choice(np.arange(1, 5), len(line_order), p=QUANTITY_P)
    price = np.array([p for _, _, p in ref.catalogue()], dtype=np.int64)
    gross = price[product] * quantity * (100 - pct[line_order])
    amount = (gross + 50) // 100  # round half up to whole cents

    orders = pl.DataFrame({"order_id": order_id, "person_id": pid[who], "ts": ts})
    lines = pl.DataFrame(
        {
            "order_id": order_id[line_order],
            "line_no": line_no.astype(np.int64),
            "person_id": pid[who][line_order],
            "ts": ts[line_order],
            "product_idx": product.astype(np.int64),
            "quantity": quantity.astype(np.int64),
            "amount_cents": amount.astype(np.int64),
        }
    )
    left_ts = np.full(n_people, np.inf)
    left_ts[pid - 1] = left
    logger.info(
        "playout: %d buyers, %d orders, %d lines (past and future)", nb, n_orders, lines.height
    )
    return Playout(orders=orders, lines=lines, left_ts=left_ts)


def person_summary(n_people: int, playout: Playout, window: Window) -> pl.DataFrame:
    """Per-person order facts around the export instant.

    Returns one row per person (person_id 1..n) with past_orders, past_spent_cents,
    last_order_ts (null without past orders), is_active_at_end (an order in the 365 days up
    to end_date), orders_next_90d and value_next_365d_cents (the hidden future).
    """
    end = window.end_ts
    o_idx = playout.orders["person_id"].to_numpy() - 1
    o_ts = playout.orders["ts"].to_numpy()
    l_idx = playout.lines["person_id"].to_numpy() - 1
    l_ts = playout.lines["ts"].to_numpy()
    cents = playout.lines["amount_cents"].to_numpy()

    past = o_ts < end
    past_orders = np.bincount(o_idx[past], minlength=n_people)
    recent = past & (o_ts >= end - ACTIVE_WINDOW_DAYS * DAY)
    active = np.bincount(o_idx[recent], minlength=n_people) > 0
    soon = (o_ts >= end) & (o_ts < end + CHURN_HORIZON_DAYS * DAY)
    orders_next_90d = np.bincount(o_idx[soon], minlength=n_people)
    last = np.full(n_people, -1, dtype=np.int64)
    np.maximum.at(last, o_idx[past], o_ts[past])

    # Integer cents summed exactly: bincount weights are float64, exact below 2**53.
    l_past = l_ts < end
    spent = np.bincount(l_idx[l_past], weights=cents[l_past], minlength=n_people)
    l_future = (l_ts >= end) & (l_ts < end + VALUE_HORIZON_DAYS * DAY)
    value = np.bincount(l_idx[l_future], weights=cents[l_future], minlength=n_people)

    return pl.DataFrame(
        {
            "person_id": np.arange(1, n_people + 1, dtype=np.int64),
            "past_orders": past_orders.astype(np.int64),
            "past_spent_cents": np.rint(spent).astype(np.int64),
            "last_order_ts": pl.Series(last).scatter(np.flatnonzero(last < 0), None),
            "is_active_at_end": active,
            "orders_next_90d": orders_next_90d.astype(np.int64),
            "value_next_365d_cents": np.rint(value).astype(np.int64),
        }
    )
