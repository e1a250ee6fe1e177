"""Real shops' order exports as a user would feed them to the generic `orders` source: a header
rename of each public data set in `shared/data/real/` (README "Generic orders"), nothing
filtered out but what a user would not have on the day of the run.

Used by the real-data tests (`tests/real/test_orders_shops.py`, at a size CI can afford) and
by `make bench-real` (the whole sets, scored against what really happened after a cutoff).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.config import REPO_ROOT


def real_data_root() -> Path:
    """`MARKETING_REAL_DATA`, else `shared/data/real` beside the repository."""
    configured = os.environ.get("MARKETING_REAL_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "real"


@dataclass(frozen=True)
class Shop:
    """A real data set as an orders-only shop: its newest day and its currency."""

    name: str
    last_day: date
    currency: str


ONLINE_RETAIL = Shop("online_retail_ii", date(2010, 12, 9), "GBP")
OLIST = Shop("olist", date(2018, 8, 29), "BRL")
SHOPS = {s.name: s for s in (ONLINE_RETAIL, OLIST)}


def _keep(customer: str, invoice: str, every: int) -> str:
    """A SQL condition keeping one customer in `every` (and one guest invoice in `every`) by a
    hash, so a sample keeps whole histories."""
    if every <= 1:
        return "true"
    return (f"(case when {customer} is null then hash({invoice}) else hash({customer}) end) "
            f"% {every} = 0")


def online_retail_orders(dest: Path, until: date | None = None, every: int = 1) -> Path:
    """UCI Online Retail II (sheet 2009-2010) as a generic orders file: every line, guests
    (no Customer ID) and credit notes (`C` invoices) included, renamed column by column.
    `until`: only lines up to that day (what the shop had exported by then); `every`: one
    customer in `every` with their whole history, and one guest invoice in `every`."""
    source = real_data_root() / "online_retail_ii" / "online_retail_II_2009_2010.parquet"
    day = f"and cast(InvoiceDate as timestamp) < date '{until}' + 1" if until else ""
    keep = _keep('"Customer ID"', "Invoice", every)
    dest.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"""
        copy (
            select Invoice as order_id, InvoiceDate as order_date,
                   cast("Customer ID" as varchar) as customer_id, StockCode as product_id,
                   Description as product_name, Quantity as quantity, Price as unit_price,
                   Country as country, 'GBP' as currency
            from read_parquet('{source}')
            where {keep} {day}
        ) to '{dest}' (header, delimiter ',')
    """)
    return dest


def olist_orders(dest: Path, until: date | None = None, every: int = 1) -> Path:
    """The Olist sample as a generic orders file: one line per item, what the customer paid
    for it (price + freight), the person (`customer_unique_id`; Olist's `customer_id` is one
    per order), the category in English, BRL. Cancelled and unavailable orders carry
    `status` so they are not counted as purchases."""
    folder = real_data_root() / "olist"
    day = f"and o.order_purchase_timestamp < date '{until}' + 1" if until else ""
    keep = _keep("c.customer_unique_id", "i.order_id", every)
    dest.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"""
        copy (
            select i.order_id, o.order_purchase_timestamp as order_date,
                   c.customer_unique_id as customer_id, i.product_id,
                   coalesce(t.product_category_name_english, p.product_category_name)
                       as category,
                   1 as quantity, round(i.price + i.freight_value, 2) as amount,
                   'BRL' as currency, 'BR' as country, o.order_status as status
            from read_csv('{folder}/olist_order_items_dataset.csv') as i
            join read_csv('{folder}/olist_orders_dataset.csv') as o using (order_id)
            join read_csv('{folder}/olist_customers_dataset.csv') as c using (customer_id)
            left join read_csv('{folder}/olist_products_dataset.csv') as p using (product_id)
            left join read_csv('{folder}/product_category_name_translation.csv') as t
                using (product_category_name)
            where {keep} {day}
            order by o.order_purchase_timestamp, i.order_id, i.order_item_id
        ) to '{dest}' (header)
    """)
    return dest


CONVERTERS = {"online_retail_ii": online_retail_orders, "olist": olist_orders}


def land(shop: Shop, home: Path, until: date | None = None, every: int = 1) -> Path:
    """Write the shop's orders as of `until` (default: its newest day) into `home`'s landing
    folder, in an export folder dated that day."""
    day = until or shop.last_day
    dest = home / "landing" / "orders" / day.isoformat() / f"{shop.name}.csv"
    return CONVERTERS[shop.name](dest, until=until, every=every)
