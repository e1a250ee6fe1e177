"""What the content step reads from the work file: the personas (name, traits, size), each
persona's top categories and products, the customers' names (so no line ever carries one) and
the campaign history the ranking learns from. Reading only; the one table the step writes is in
`store`."""

from __future__ import annotations

import duckdb
import polars as pl

RECENT_DAYS = 90  # a persona's top categories and products: what it bought in this window
TOP_PRODUCTS = 3


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def personas(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per persona: persona, customers, traits (what sets it apart, in words); the
    whole list as one persona `all` when no personas were found."""
    if not _exists(con, "ml.persona_profiles") or not _exists(con, "ml.personas"):
        return pl.DataFrame({"persona": ["all"], "customers": [0], "traits": [""]},
                            schema={"persona": pl.String, "customers": pl.Int64,
                                    "traits": pl.String})
    return con.sql(
        "select p.persona_name as persona, count(m.customer_key) as customers, "
        "coalesce(any_value(p.what_sets_it_apart), '') as traits "
        "from ml.persona_profiles as p left join ml.personas as m using (persona_id) "
        "group by p.persona_name order by p.persona_name").pl().cast(
        {"customers": pl.Int64})


def persona_purchases(con: duckdb.DuckDBPyConnection, as_of: str) -> pl.DataFrame:
    """Per persona (`all` for everyone too), category and product: units bought in the
    RECENT_DAYS before `as_of`; the sales of the persona's own people."""
    joined = _exists(con, "ml.personas")
    persona = "m.persona_name" if joined else "cast(null as varchar)"
    join = "left join ml.personas as m using (customer_key)" if joined else ""
    sql = (
        f"with lines as (select {persona} as persona, l.category, l.product_name, "
        "l.quantity from marts.fct_order_lines as l "
        f"{join} where l.order_date > cast(? as date) - {RECENT_DAYS} "
        "and l.order_date <= cast(? as date) and l.product_name is not null) "
        "select persona, category, product_name, sum(quantity) as units from lines "
        "where persona is not null group by all union all "
        "select 'all', category, product_name, sum(quantity) from lines group by all")
    return con.sql(sql, params=[as_of, as_of]).pl()


def recommended(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Per persona, the products most often in its people's top recommendations
    (`ml.recommendations` through `recommend.top_products`), or None before that table
    exists."""
    if not _exists(con, "ml.recommendations") or not _exists(con, "ml.personas"):
        return None
    from pipelines.personalize.recommend import top_products

    top = top_products(con, TOP_PRODUCTS)
    members = con.sql("select customer_key, persona_name as persona from ml.personas").pl()
    return (top.join(members, on="customer_key")
            .group_by("persona", "product_name").agg(n=pl.len(), best=pl.col("rank").min()))


def customer_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Customers' full names, lowercase, for the personal-data check."""
    if not _exists(con, "marts.dim_customers"):
        return frozenset()
    rows = con.sql(
        "select distinct lower(trim(first_name || ' ' || last_name)) from marts.dim_customers "
        "where first_name is not null and last_name is not null "
        "and length(first_name) > 1 and length(last_name) > 1").fetchall()
    return frozenset(r[0] for r in rows if r[0])


def email_history(con: duckdb.DuckDBPyConnection, as_of: str) -> pl.DataFrame:
    """One row per Mailchimp send before `as_of`: text (its subject line), trials (emails
    sent), successes (people who opened) and sent_at."""
    if not _exists(con, "staging.stg_mailchimp__campaigns") or not _exists(
            con, "marts.fct_email_events"):
        return pl.DataFrame(schema={"text": pl.String, "trials": pl.Int64,
                                    "successes": pl.Int64, "sent_at": pl.Datetime("us")})
    return con.sql(
        "with opens as (select campaign_id, count(distinct email) as opened "
        "from marts.fct_email_events where action = 'open' group by campaign_id) "
        "select c.subject_line as text, c.emails_sent as trials, "
        "least(coalesce(o.opened, 0), c.emails_sent) as successes, "
        "cast(c.sent_at as timestamp) as sent_at "
        "from staging.stg_mailchimp__campaigns as c left join opens as o using (campaign_id) "
        "where c.emails_sent > 0 and c.subject_line is not null "
        "and c.sent_at < cast(? as date) + 1 order by c.sent_at, c.campaign_id",
        params=[as_of]).pl().cast({"trials": pl.Int64, "successes": pl.Int64})


def ad_history(con: duckdb.DuckDBPyConnection, field: str, as_of: str) -> pl.DataFrame:
    """One row per Meta ad with text in `field` (headline or primary_text): text, trials
    (impressions) and successes (link clicks) up to `as_of`."""
    if field not in ("headline", "primary_text"):
        raise ValueError(f"no ad history for {field!r}")
    if not _exists(con, "marts.dim_ad_creatives") or not _exists(
            con, "staging.stg_meta_ads__insights"):
        return pl.DataFrame(schema={"text": pl.String, "trials": pl.Int64,
                                    "successes": pl.Int64})
    return con.sql(
        "with delivery as (select ad_id, sum(impressions) as impressions, "
        "sum(link_clicks) as clicks from staging.stg_meta_ads__insights "
        "where date_day <= cast(? as date) group by ad_id) "
        f"select d.{field} as text, v.impressions as trials, "
        "least(coalesce(v.clicks, 0), v.impressions) as successes "
        "from marts.dim_ad_creatives as d join delivery as v using (ad_id) "
        f"where v.impressions > 0 and d.{field} is not null order by d.ad_id",
        params=[as_of]).pl().cast({"trials": pl.Int64, "successes": pl.Int64})
