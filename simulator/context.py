"""The place-and-season effect on what people buy: a city's local season (from its latitude
and the month) moves some of its order lines to the season's products.

Warm local months bring iced and cold-brew gear, glasses, tumblers and light teas; cold ones
warm drinks, cocoa, mugs and hampers (`reference.SEASONAL_PRODUCTS`). The temperature is a
rough climate rule: warmer nearer the equator, with a swing that grows with latitude and
peaks in mid-July north of the equator, mid-January south of it. The truth goes to
`truth/context_products.parquet`; the pipeline only sees the orders.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.population import rng_for

STREAM_CONTEXT = 21
# Share of a line's product choices that follow the season in a warm or a cold local month.
SWITCH_P = 0.25
WARM_C, COLD_C = 20.0, 8.0
CONTEXT_FILE = "context_products.parquet"


def temperature(latitude: np.ndarray, month: int) -> np.ndarray:
    """A rough mean temperature (deg C) of the month at `latitude` (degrees, south < 0)."""
    lat = np.abs(latitude)
    phase = np.cos(2 * np.pi * (month - 7) / 12)  # 1 in July, -1 in January
    return 28.0 - 0.45 * lat + 0.3 * lat * phase * np.sign(latitude)


def season(latitude: np.ndarray, month: int) -> np.ndarray:
    """1 warm, -1 cold, 0 mild, per latitude, for the month."""
    t = temperature(latitude, month)
    return np.where(t >= WARM_C, 1, np.where(t <= COLD_C, -1, 0))


def _indices(names: tuple[str, ...]) -> np.ndarray:
    index = {n: i for i, n in enumerate(ref.product_names())}
    return np.array([index[n] for n in names], dtype=np.int64)


WARM = _indices(ref.SEASONAL_PRODUCTS["warm"])
COLD = _indices(ref.SEASONAL_PRODUCTS["cold"])
N_PRODUCTS = len(ref.product_names())


def shift(seed: int, day: int, t0: int, latitude: np.ndarray, product: np.ndarray,
          order: np.ndarray) -> np.ndarray:
    """`product` (one per line of order `order`, with the buyer's `latitude`) with some lines
    moved to the local season's products; from its own stream, so the rest of the world draws
    the same. A product appears once per order (a shop's export has one line per product, with
    its quantity), so a move onto a product the order already holds is not made."""
    month = dt.datetime.fromtimestamp(t0, dt.UTC).month
    local = season(latitude, month)
    rng = rng_for(seed, STREAM_CONTEXT, day)
    draw = rng.random(len(product))
    warm_pick = WARM[rng.integers(0, len(WARM), len(product))]
    cold_pick = COLD[rng.integers(0, len(COLD), len(product))]
    moved = draw < SWITCH_P
    shifted = np.where(moved & (local == 1), warm_pick,
                       np.where(moved & (local == -1), cold_pick, product))
    moved = shifted != product
    # Undo moved lines that share their order's product with another line until none do; the
    # original products of an order are distinct, so undoing only moved lines ends.
    while True:
        key = order.astype(np.int64) * N_PRODUCTS + shifted
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        clash = moved & (counts[inverse] > 1)
        if not clash.any():
            return shifted
        shifted = np.where(clash, product, shifted)
        moved &= ~clash


def truth() -> pl.DataFrame:
    """Per city, month and seasonal product: the local season and the chance a line is moved
    to one of the season's products (spread evenly over them)."""
    rows = []
    skus = [sku for sku, _, _ in ref.catalogue()]
    names = ref.product_names()
    for city in ref.CITIES:
        lat = np.array([float(city.latitude)])
        for month in range(1, 13):
            local = int(season(lat, month)[0])
            if not local:
                continue
            picks = WARM if local == 1 else COLD
            for i in picks:
                rows.append({"country_code": city.country, "city": city.name,
                             "latitude": float(city.latitude), "month": month,
                             "temperature_c": round(float(temperature(lat, month)[0]), 1),
                             "season": "warm" if local == 1 else "cold",
                             "product_id": skus[i], "product_name": names[i],
                             "line_share": SWITCH_P / len(picks)})
    return pl.DataFrame(rows)


def write_truth(directory: Path) -> dict[str, int]:
    frame = truth()
    frame.write_parquet(directory / CONTEXT_FILE)
    return {"truth_context_products": frame.height}
