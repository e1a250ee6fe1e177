"""The seasonal index on real shops: Online Retail II (a British gift wholesaler, 40
countries, one year) and Olist (Brazilian states, southern hemisphere). What it finds is in
the assertions; the figures are in the report of the branch that built it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.ads.audiences import seasonal_suggestions
from pipelines.ads.seasonal import seasonal_index

pytestmark = [pytest.mark.real]

PRODUCTS = 300  # the most ordered products of Online Retail II stand in for categories


@pytest.fixture(scope="module")
def retail(real_file: Callable[..., Path]) -> pl.DataFrame:
    lines = pl.read_parquet(real_file("online_retail_ii", "online_retail_II_2009_2010.parquet"))
    lines = lines.filter(~pl.col("Invoice").str.starts_with("C") & (pl.col("Quantity") > 0))
    # Some lines carry the text "nan" for a description: the product's name is another line's.
    named = pl.col("Description").filter(pl.col("Description") != "nan")
    top = (lines.group_by("StockCode").agg(n=pl.col("Invoice").n_unique(),
                                           product=named.drop_nulls().first())
           .sort("n", "StockCode", descending=[True, False]).head(PRODUCTS))
    pairs = (lines.join(top, on="StockCode").unique(["Invoice", "StockCode"])
             .with_columns(month=pl.col("InvoiceDate").str.to_datetime().dt.month()
                           .cast(pl.Int32)))
    counts = pairs.group_by(region="Country", category=pl.coalesce("product", "StockCode"),
                            month="month").agg(
        orders=pl.len())
    return seasonal_index(counts)


def test_winter_goods_are_found_without_a_climate_table(retail: pl.DataFrame) -> None:
    winter = retail.filter(pl.col("category").str.contains("HOT WATER BOTTLE|HAND WARMER"),
                           region="United Kingdom")
    by_season = winter.with_columns(cold=pl.col("month").is_in([10, 11, 12, 1])).group_by(
        "cold").agg(pl.col("seasonal_index").median())
    cold = by_season.filter(cold=True)["seasonal_index"][0]
    warm = by_season.filter(cold=False)["seasonal_index"][0]
    assert cold > 1.5 > 0.5 > warm


def test_a_country_with_few_orders_is_not_sent_the_british_winter(retail: pl.DataFrame) -> None:
    # Australia's index for hand warmers in November is the British one (it has almost no
    # orders of its own), so without the own-evidence rule it would be told to advertise hand
    # warmers at the start of its summer.
    australia = retail.filter(region="Australia", month=11).filter(
        pl.col("category").str.contains("HAND WARMER"))
    assert australia["seasonal_index"].max() > 2
    suggested = seasonal_suggestions(retail, date(2010, 10, 25), 28, weeks=54.0, min_index=1.2,
                                     min_probability=0.9, min_own_weight=0.5, limit=10_000)
    assert not suggested.filter(pl.col("audience").str.contains("in Australia")).height
    british = suggested.filter(pl.col("audience").str.contains("in United Kingdom"))
    assert british.filter(pl.col("audience").str.contains("HAND WARMER|HOT WATER")).height > 0


def test_olist_states_share_one_season_at_four_thousand_orders(
        real_file: Callable[..., Path]) -> None:
    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(real_file("olist", f"olist_{name}_dataset.csv"))

    names = pl.read_csv(real_file("olist", "product_category_name_translation.csv"))
    pairs = (read("order_items").select("order_id", "product_id")
             .join(read("products").select("product_id", "product_category_name"),
                   on="product_id", how="left")
             .join(names, on="product_category_name", how="left")
             .join(read("orders").filter(pl.col("order_status") != "canceled")
                   .select("order_id", "customer_id", "order_purchase_timestamp"), on="order_id")
             .join(read("customers").select("customer_id", "customer_state"), on="customer_id")
             .with_columns(
                 category=pl.coalesce("product_category_name_english", "product_category_name",
                                      pl.lit("uncategorised")),
                 month=pl.col("order_purchase_timestamp").str.to_datetime().dt.month()
                 .cast(pl.Int32))
             .unique(["order_id", "category"]))
    index = seasonal_index(pairs.group_by(region="customer_state", category="category",
                                          month="month").agg(orders=pl.len()))
    own = index.filter((pl.col("index_low") > pl.col("pooled_index"))
                       | (pl.col("index_high") < pl.col("pooled_index")))
    # 4,000 orders over 26 states and 70 categories: almost every state's index is the
    # country's season; only São Paulo, the largest, shows a season of its own anywhere.
    assert index.height == 26 * 70 * 12
    assert 0 < own.height < 10
    assert set(own["region"]) == {"SP"}
