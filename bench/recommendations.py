"""`python -m bench.recommendations [--scale s --seeds 1 2 3] [--real]`: the recommendations'
leave-last-out figures (pipelines/personalize/evaluate.py) on bench worlds whose daily steps
have run up to `personalize` (data/bench/<scale>-seed<n>/reco, built by
`python -m bench.recommendations --build`), and on the real shops (Online Retail II, Olist).

The real shops are read as the marts would hold them: purchased lines only (no credit notes,
no negative quantities or prices, no non-product codes), one person per customer id.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import polars as pl

from bench.realshops import real_data_root
from bench.recommend_als import ALS
from pipelines.personalize import evaluate, store

# Online Retail II's stock codes that are not products (SOURCE.md).
NOT_PRODUCTS = ("POST", "M", "DOT", "D", "ADJUST", "BANK CHARGES", "TEST001", "AMAZONFEE", "B",
                "C2", "CRUK", "S", "PADS")
# Country names of Online Retail II in the southern hemisphere, as ISO codes.
SOUTHERN_NAMES = {"Australia": "AU", "Brazil": "BR", "RSA": "ZA", "South Africa": "ZA"}
NO_EVENTS = pl.DataFrame(schema={"customer_key": pl.String, "product_id": pl.String,
                                 "event_date": pl.Date, "event_name": pl.String})


def online_retail() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, customers) of Online Retail II's customers with an id."""
    source = real_data_root() / "online_retail_ii" / "online_retail_II_2009_2010.parquet"
    codes = ", ".join(f"'{c}'" for c in NOT_PRODUCTS)
    lines = duckdb.sql(f"""
        select cast("Customer ID" as varchar) as customer_key, StockCode as product_id,
               trim(Description) as product_name, cast(null as varchar) as category,
               Invoice as order_id, cast(cast(InvoiceDate as timestamp) as date) as order_date,
               cast(Quantity as double) as quantity, cast(Price as double) as unit_price
        from read_parquet('{source}')
        where "Customer ID" is not null and Quantity > 0 and Price > 0
          and not Invoice like 'C%' and not Invoice like 'A%' and StockCode not in ({codes})
    """).pl()
    customers = duckdb.sql(f"""
        select cast("Customer ID" as varchar) as customer_key,
               arg_max(Country, InvoiceDate) as country_code
        from read_parquet('{source}') where "Customer ID" is not null group by all
    """).pl().with_columns(
        pl.col("country_code").replace(SOUTHERN_NAMES), region_code=pl.lit(None, pl.String),
        persona_name=pl.lit(None, pl.String))
    return lines, customers


def olist() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, customers) of the Olist sample's delivered orders; the region is the state."""
    folder = real_data_root() / "olist"
    lines = duckdb.sql(f"""
        select c.customer_unique_id as customer_key, i.product_id,
               coalesce(t.product_category_name_english, p.product_category_name)
                   || ' ' || left(i.product_id, 6) as product_name,
               coalesce(t.product_category_name_english, p.product_category_name) as category,
               i.order_id, cast(o.order_purchase_timestamp as date) as order_date,
               1.0 as quantity, cast(i.price as double) as unit_price
        from read_csv('{folder}/olist_order_items_dataset.csv') as i
        join read_csv('{folder}/olist_orders_dataset.csv') as o using (order_id)
        join read_csv('{folder}/olist_customers_dataset.csv') as c using (customer_id)
        left join read_csv('{folder}/olist_products_dataset.csv') as p using (product_id)
        left join read_csv('{folder}/product_category_name_translation.csv') as t
            using (product_category_name)
        where o.order_status not in ('canceled', 'unavailable')
    """).pl()
    customers = duckdb.sql(f"""
        select customer_unique_id as customer_key, 'BR' as country_code,
               arg_max(customer_state, customer_id) as region_code,
               cast(null as varchar) as persona_name
        from read_csv('{folder}/olist_customers_dataset.csv') group by all
    """).pl()
    return lines, customers


def world_inputs(work_db: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(lines, events, customers) from a bench world's work file, as the step reads them."""
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        return (store.read_order_lines(con), store.read_product_events(con),
                store.read_customers(con))
    finally:
        con.close()


def main() -> None:
    from pipelines.config import REPO_ROOT, Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--variants", nargs="*",
                        default=["model", "context_free", "popularity"])
    parser.add_argument("--als", action="store_true",
                        help="also implicit's ALS in the model's place (pip install implicit)")
    args = parser.parse_args()
    models = {"als": ALS} if args.als else None
    results = {}
    for seed in args.seeds:
        home = REPO_ROOT / "data" / "bench" / f"{args.scale}-seed{seed}" / "reco"
        lines, events, customers = world_inputs(Settings(home=home).work_db)
        results[f"{args.scale}-seed{seed}"] = evaluate.evaluate(lines, events, customers,
                                                                tuple(args.variants), models)
    if args.real:
        for name, load in (("online_retail_ii", online_retail), ("olist", olist)):
            lines, customers = load()
            results[name] = evaluate.evaluate(lines, NO_EVENTS, customers, tuple(args.variants),
                                              models)
    print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
