"""The simulator's place-and-season effect on product choice (simulator/context.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import context

JULY_NOON = 1_783_944_000  # 2026-07-13 12:00 UTC


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(1, 3), min_size=1, max_size=200))
def test_an_order_never_holds_a_product_twice_after_the_move(seed: int, lines: list[int]):
    order = np.repeat(np.arange(len(lines)), lines)
    # Distinct products per order, as the engine draws them; lines of a warm place in July.
    start = np.repeat(np.cumsum(lines) - lines, lines)
    product = (order * 7 + (np.arange(len(order)) - start) * 11) % context.N_PRODUCTS
    latitude = np.full(len(order), 25.0)
    moved = context.shift(seed, 0, JULY_NOON, latitude, product, order)
    key = order * context.N_PRODUCTS + moved
    assert len(np.unique(key)) == len(key)
    changed = moved != product
    assert np.isin(moved[changed], context.WARM).all()


def test_a_warm_july_moves_about_a_quarter_of_lines_and_a_mild_place_none():
    n = 20_000
    order = np.arange(n)
    product = np.zeros(n, dtype=np.int64) + context.COLD[0]
    warm = context.shift(1, 0, JULY_NOON, np.full(n, 25.0), product, order)
    assert 0.22 < np.mean(warm != product) < 0.28
    assert context.season(np.array([40.0]), 5)[0] == 0  # May at 40 degrees north: mild
    mild = context.shift(1, 0, 1_778_587_200, np.full(n, 40.0), product, order)  # 2026-05-12
    assert (mild == product).all()
