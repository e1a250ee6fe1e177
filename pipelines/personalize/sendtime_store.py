"""Reading what send times are learnt from, and writing `ml.send_times`: the one place SQL
touches them.

The table holds the send times of the latest run's logical date (every contact with an email in
the customer view); each run replaces its rows in one transaction, in key order, so a rerun
that changes nothing writes the same rows."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipelines.warehouse import replace_rows

TABLE = "ml.send_times"
DDL = f"""
create table if not exists {TABLE} (
    customer_key varchar not null,
    as_of_date date not null,
    timezone varchar not null,
    best_hour_local integer not null,
    best_weekday integer not null,
    send_hour_utc integer not null,
    evidence varchar not null,
    opens double not null,
    clicks integer not null,
    weight_own double not null,
    send_group varchar not null
)
"""


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def read_contacts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every customer with an email: customer_key, mailchimp_timezone (the audience export's
    TIMEZONE), country_code, region_code, persona_name (null without a persona)."""
    persona = ("p.persona_name" if _exists(con, "ml", "personas")
               else "cast(null as varchar) as persona_name")
    join = "left join ml.personas as p using (customer_key) " if "p." in persona else ""
    return con.sql(
        f"select c.customer_key, m.timezone as mailchimp_timezone, c.country_code, "
        f"c.region_code, {persona} "
        "from marts.dim_customers as c "
        "left join staging.stg_mailchimp__members as m on m.email = c.email "
        f"{join}"
        "where c.email is not null order by c.customer_key"
    ).pl()


def read_events(con: duckdb.DuckDBPyConnection, before: date) -> pl.DataFrame:
    """Opens and clicks of known customers before the start of `before` (UTC): customer_key,
    campaign_id, sent_at, action, action_at."""
    return con.sql(
        "select customer_key, campaign_id, sent_at, action, action_at "
        "from marts.fct_email_events where customer_key is not null "
        f"and action in ('open', 'click') and action_at < timestamptz '{before.isoformat()} "
        "00:00:00+00' order by customer_key, campaign_id, action_at"
    ).pl()


def read(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The send times of the last run, or None before the first."""
    schema, name = TABLE.split(".")
    if not _exists(con, schema, name):
        return None
    return con.sql(f"select * from {TABLE}").pl()


def write(con: duckdb.DuckDBPyConnection, send_times: pl.DataFrame) -> None:
    """Replace the table's rows with `send_times`, in customer order, in one transaction."""
    ordered = send_times.sort("customer_key")
    replace_rows(con, TABLE, DDL, ordered.to_arrow())
