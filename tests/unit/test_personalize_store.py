"""ml.recommendations in DuckDB: replaced per run in key order, read back with names."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipelines.personalize import store
from pipelines.personalize.recommend import top_products

DAY = date(2026, 10, 31)


def rows(keys: list[str]) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_key": [k for k in keys for _ in range(2)],
        "as_of_date": [DAY] * 2 * len(keys), "rank": [2, 1] * len(keys),
        "product_id": ["P2", "P1"] * len(keys), "score": [0.2, 0.5] * len(keys),
        "source": ["model", "popular"] * len(keys),
        "reason": ["bought with Name P1", "popular with our customers"] * len(keys)})


def test_a_rerun_replaces_the_rows_and_top_products_names_them():
    con = duckdb.connect()
    assert top_products(con, 3).is_empty()  # before the first run
    con.execute("create schema marts")
    con.execute("create table marts.fct_order_lines as select 'P1' as sku, "
                "'Kenya AA 250g' as product_name, timestamp '2026-10-01' as ordered_at")
    store.write(con, rows(["b", "a"]))
    store.write(con, rows(["c", "a"]))
    written = con.sql("select customer_key, rank from ml.recommendations").fetchall()
    assert written == [("a", 1), ("a", 2), ("c", 1), ("c", 2)]
    top = top_products(con, 1)
    assert top.rows() == [("a", 1, "P1", "Kenya AA 250g"), ("c", 1, "P1", "Kenya AA 250g")]
    # A product without a name in the order lines keeps its id.
    assert top_products(con, 2).filter(pl.col("rank") == 2)["product_name"].to_list() == [
        "P2", "P2"]


def test_the_step_headline_says_what_it_recommended():
    from pipelines.console import headline

    assert headline("personalize", {"recommend": {
        "customers": 2, "rows": 20, "by_source": {}, "restock": 3}}) == (
        "20 recommendations for 2 people (3 due to restock)")
    note = "no recommendations: no order line carries a product id sold at a price in the last year"
    assert headline("personalize", {"recommend": {"customers": 0, "rows": 0, "note": note}}) == note
