"""The category x region x month index: a region's own season is found where its orders show
it, region size and busy months cancel out, and small regions are pulled to the common season."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.ads.seasonal import seasonal_index


def _orders(rng: np.random.Generator, region: str, size: float, peak: list[int],
            lift: float = 2.5) -> list[dict]:
    """Monthly orders of three categories in `region`: `warm` is lifted `lift`-fold in the
    `peak` months; the region is busier in December for every category alike."""
    rows = []
    for month in range(1, 13):
        busy = 2.0 if month == 12 else 1.0
        for category, base in (("warm", 20.0), ("mugs", 30.0), ("tea", 50.0)):
            season = lift if category == "warm" and month in peak else 1.0
            rows.append({"region": region, "category": category, "month": month,
                         "orders": int(rng.poisson(size * busy * base * season))})
    return rows


def _index(table: pl.DataFrame, region: str, category: str, month: int) -> dict:
    return table.filter(region=region, category=category, month=month).row(0, named=True)


def test_each_region_s_own_season_is_found() -> None:
    rng = np.random.default_rng(7)
    rows = (_orders(rng, "north", 5.0, [12, 1, 2]) + _orders(rng, "north2", 3.0, [12, 1, 2])
            + _orders(rng, "south", 2.0, [6, 7, 8]))
    table = seasonal_index(pl.DataFrame(rows))
    assert table.height == 3 * 3 * 12
    south_july, north_july = _index(table, "south", "warm", 7), _index(table, "north", "warm", 7)
    # The true index is 1.5 in the south's July (warm's share 50/130 against 330/1290 over
    # the year) and 0.78 in the north's; the other regions' July pulls the south's down a bit.
    assert south_july["seasonal_index"] > 1.25 and south_july["prob_above_one"] > 0.95
    assert south_july["pooled_index"] < 1
    assert north_july["seasonal_index"] < 0.9 and north_july["prob_above_one"] < 0.05
    assert _index(table, "north", "warm", 1)["index_low"] > 1.2
    # December is busy for everything in every region: no category's season.
    assert _index(table, "north", "tea", 12)["seasonal_index"] == pytest.approx(1.0, abs=0.25)


def test_a_flat_shop_has_no_season() -> None:
    rng = np.random.default_rng(8)
    rows = _orders(rng, "a", 4.0, [], lift=1.0) + _orders(rng, "b", 4.0, [], lift=1.0)
    table = seasonal_index(pl.DataFrame(rows))
    assert (table["seasonal_index"] - 1).abs().max() < 0.2
    # Chance variation is shrunk away: the fitted prior outweighs any one month's orders.
    assert (table["seasonal_index"] - 1).abs().max() < (table["raw_index"] - 1).abs().max()


def test_a_small_region_follows_the_common_season() -> None:
    rng = np.random.default_rng(9)
    rows = _orders(rng, "big", 10.0, [12, 1, 2]) + _orders(rng, "big2", 10.0, [12, 1, 2])
    # One order of `warm` in July and nothing else that month: raw index far above 1.
    rows += [{"region": "tiny", "category": c, "month": m, "orders": 1}
             for m in range(1, 13) for c in ("mugs", "tea")]
    rows += [{"region": "tiny", "category": "warm", "month": 7, "orders": 1}]
    table = seasonal_index(pl.DataFrame(rows))
    tiny = _index(table, "tiny", "warm", 7)
    assert tiny["raw_index"] > 5
    assert tiny["seasonal_index"] < 1.5
    assert tiny["index_low"] < 1 < tiny["index_high"] or tiny["index_high"] < 1


@pytest.mark.parametrize(("column", "value", "message"), [
    ("month", 13, "month must be between 1 and 12"),
    ("orders", -1, "orders must not be negative"),
])
def test_bad_counts_are_refused(column: str, value: int, message: str) -> None:
    counts = pl.DataFrame({"region": ["a"], "category": ["x"], "month": [1], "orders": [3]})
    with pytest.raises(ValueError, match=message):
        seasonal_index(counts.with_columns(pl.lit(value).alias(column)))


def test_a_fully_pooled_cell_is_as_uncertain_as_the_pooled_index() -> None:
    rng = np.random.default_rng(10)
    rows = [r for name in ("a", "b", "c") for r in _orders(rng, name, 1.0, [12])]
    table = seasonal_index(pl.DataFrame(rows))
    december = _index(table, "a", "warm", 12)
    # Three regions' December holds about 3 x 20 x 2.5 orders of `warm`: an index measured on
    # ~150 orders is known to within about +-10%, not to the third decimal.
    assert december["index_high"] - december["index_low"] > 0.1


def test_a_rare_category_s_one_order_makes_no_season() -> None:
    rng = np.random.default_rng(11)
    rows = _orders(rng, "a", 5.0, []) + _orders(rng, "b", 5.0, [])
    rows += [{"region": "a", "category": "rare", "month": 10, "orders": 1}]
    table = seasonal_index(pl.DataFrame(rows))
    rare = _index(table, "b", "rare", 10)
    assert rare["pooled_index"] < 2 and rare["prob_above_one"] < 0.9
