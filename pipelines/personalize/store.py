"""Reading the inputs of the recommendations and writing `ml.recommendations`: the one place
SQL touches the table.

The table holds one logical date's recommendations, replaced per run (a person's list is only
meaningful for the day it was made); rows are written in key order so a rerun that changes
nothing writes the same rows."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.warehouse import replace_rows

TABLE = "ml.recommendations"
SCHEMA = {
    "customer_key": pl.String,
    "as_of_date": pl.Date,
    "rank": pl.Int32,
    "product_id": pl.String,
    "score": pl.Float64,
    "source": pl.String,
    "reason": pl.String,
}
DDL = f"""
create table if not exists {TABLE} (
    customer_key varchar not null,
    as_of_date date not null,
    rank integer not null,
    product_id varchar not null,
    score double not null,
    source varchar not null,
    reason varchar not null
)
"""
# GA4 ecommerce events that show interest in a product before any order.
PRODUCT_EVENTS = ("view_item", "add_to_cart")


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def read_order_lines(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Purchased lines of orders not cancelled (returns excluded), with the unit price paid:
    customer_key, product_id, product_name, category, order_id, order_date, quantity, unit_price."""
    return con.sql(
        "select customer_key, sku as product_id, product_name, category, order_id, order_date, "
        "cast(quantity as double) as quantity, "
        "cast(line_amount as double) / nullif(quantity, 0) as unit_price "
        "from marts.fct_order_lines "
        "where not is_cancelled and not is_return and sku is not null "
        "and customer_key is not null"
    ).pl()


def read_product_events(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """GA4 product views and add-to-carts of known people: customer_key, product_id,
    event_date, event_name (empty without GA4)."""
    empty = pl.DataFrame(schema={"customer_key": pl.String, "product_id": pl.String,
                                 "event_date": pl.Date, "event_name": pl.String})
    if not (_exists(con, "staging", "stg_ga4__events")
            and _exists(con, "intermediate", "int_identity__identifiers")):
        return empty
    names = ", ".join(f"'{n}'" for n in PRODUCT_EVENTS)
    frame = con.sql(
        "with devices as (select identifier as user_pseudo_id, customer_key "
        "  from intermediate.int_identity__identifiers "
        "  where identifier_type = 'ga4_user_pseudo_id' and is_person) "
        "select d.customer_key, e.item.item_id as product_id, e.event_date, e.event_name "
        "from (select user_pseudo_id, event_date, event_name, unnest(items) as item "
        f"      from staging.stg_ga4__events where event_name in ({names})) as e "
        "join devices as d using (user_pseudo_id) where e.item.item_id is not null"
    ).pl()
    return frame.cast({k: v for k, v in empty.schema.items()}) if frame.height else empty


def read_customers(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Everyone in the customer view with where they live and their persona (null without
    one): customer_key, country_code, region_code, persona_name."""
    persona = ("left join (select customer_key, persona_name from ml.personas) "
               "using (customer_key)" if _exists(con, "ml", "personas") else "")
    name = "persona_name" if persona else "cast(null as varchar) as persona_name"
    return con.sql(
        f"select customer_key, country_code, region_code, {name} "
        f"from marts.dim_customers {persona} order by customer_key"
    ).pl()


def write(con: duckdb.DuckDBPyConnection, recommendations: pl.DataFrame) -> None:
    """Replace the table's rows with `recommendations` in one transaction, in key order."""
    ordered = recommendations.select(list(SCHEMA)).cast(SCHEMA).sort("customer_key", "rank")
    replace_rows(con, TABLE, DDL, ordered.to_arrow())


def top_products(con: duckdb.DuckDBPyConnection, n: int) -> pl.DataFrame:
    """Each person's first `n` recommendations with the product's name: customer_key, rank,
    product_id, product_name (empty before the first personalize run)."""
    empty = pl.DataFrame(schema={"customer_key": pl.String, "rank": pl.Int32,
                                 "product_id": pl.String, "product_name": pl.String})
    if not _exists(con, "ml", "recommendations"):
        return empty
    frame = con.sql(
        "with names as (select sku as product_id, arg_max(product_name, ordered_at) as "
        "  product_name from marts.fct_order_lines where sku is not null group by all) "
        f"select r.customer_key, r.rank, r.product_id, coalesce(n.product_name, r.product_id) "
        f"as product_name from {TABLE} as r left join names as n using (product_id) "
        f"where r.rank <= {int(n)} order by r.customer_key, r.rank").pl()
    return frame.cast(empty.schema) if frame.height else empty
