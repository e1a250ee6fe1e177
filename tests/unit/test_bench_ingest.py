"""`bench.ingest` reports each source's range over rounds, ratios taken round by round."""

from __future__ import annotations

from bench.ingest import markdown


def _round(ours_first: bool, ga4: float, bare_ga4: float, shop: float, bare_shop: float) -> dict:
    return {
        "ours_first": ours_first,
        "ours": {
            "ga4": {"seconds": ga4, "rows": 3_000, "bytes": 4_000_000},
            "orders": {"seconds": 0.2, "rows": 0, "bytes": 0},
            "shop": {"seconds": shop, "rows": 500, "bytes": 1_500_000},
        },
        "bare": {"ga4": {"seconds": bare_ga4}, "shop": {"seconds": bare_shop}},
    }


def test_table_ranges_each_source_and_leaves_out_sources_with_no_rows():
    result = {
        "scale": "m", "commit": "abc1234",
        "second_core": {"alone_seconds": 1.0, "pair_seconds": 1.5},
        "rounds": [_round(True, 10.0, 8.0, 2.0, 1.0), _round(False, 12.0, 9.5, 2.0, 1.0)],
    }
    table = markdown(result)
    # rows, MB, ours s, rows/s, MB/s, bare s, bare/ours
    ga4 = "| ga4 | 3,000 | 4.0 | 10.00-12.00 | 250-300 | 0.3-0.4 | 8.00-9.50 | 0.79-0.80 |"
    assert ga4 in table
    # Equal values print once, not as a range.
    assert "| shop | 500 | 1.5 | 2.00 | 250 | 0.8 | 1.00 | 0.50 |" in table
    # Sources with rows only, ratios round by round: 9/12 and 10.5/14 are both 0.75, where the
    # ranges of the sums crossed would give 9/14 to 10.5/12.
    every = "| **all** | 3,500 | 5.5 | 12.00-14.00 | 250-292 | 0.4-0.5 | 9.00-10.50 | 0.75 |"
    assert every in table
    assert "orders" not in table
    assert "1.00 s alone, 1.50 s each" in table
