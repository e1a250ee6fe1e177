"""Identifiers and source-specific details derived once the play-out is known.

Shopify customer ids grow with account creation, HubSpot record ids with contact creation,
Shopify order ids with order creation; Mailchimp profiles need the join time. The hashed
identifiers the Conversions API sends are computed here once per person (DuckDB's `sha256`,
vectorised), never per event.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import polars as pl

from simulator import contacts
from simulator import reference as ref
from simulator.engine import World
from simulator.population import (
    STREAM_CRM,
    _maybe,
    format_phones,
    mailchimp_details,
    rng_for,
    shop_details,
)

logger = logging.getLogger(__name__)

STREAM_IDS = 10


def _ids_in_order(
    rng: np.random.Generator, created: pl.Series, base: int, step: int
) -> pl.Series:
    """Ids that grow with `created` (null stays null) in irregular steps; returns String."""
    ts = created.to_numpy(allow_copy=True)
    has = created.is_not_null().to_numpy()
    order = np.flatnonzero(has)[np.argsort(ts[has], kind="stable")]
    ids = base + np.cumsum(rng.integers(1, step, len(order)))
    out = np.zeros(len(created), dtype=np.int64)
    out[order] = ids
    return pl.Series(out).cast(pl.String).scatter(np.flatnonzero(~has), None)


def enrich(world: World) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The people, orders and deals with every derived identifier and detail.

    Returns (people, orders, deals). People gain shop_customer_id, hubspot_record_id,
    optin_ts, each system's address and numbers (`contacts.source_contacts`), the Mailchimp
    profile (email_raw, leid, euid, ...), the Shopify account details (zip_raw, phone,
    address_phone, ...), hs_phone, hs_mobile, hs_first_name, hs_last_name, accepts_flip and
    the hashed h_em (of the shop's address), h_ph, h_fn, h_ln, h_ct, h_st, h_zp, h_country,
    h_external_id. Orders gain shopify_id (13 digits) and other_email (typed with the
    person's second address); deals gain deal_record_id.
    """
    rng = rng_for(world.seed, STREAM_IDS)
    people = world.people
    n = people.height
    people = people.with_columns(
        shop_customer_id=_ids_in_order(
            rng, people["account_ts"], 7_000_000_000_000 + int(rng.integers(0, 10**11)), 5000
        ),
        hubspot_record_id=_ids_in_order(
            rng, people["hs_create_ts"], 51_000_000_000 + int(rng.integers(0, 10**8)), 500
        ),
    )
    joins = (
        world.mc_events.group_by("person_id")
        .agg(pl.col("ts").min().alias("optin_ts"))
        .sort("person_id")
    )
    people = people.join(joins, on="person_id", how="left", maintain_order="left")

    # Which address and numbers each system holds, now that it is known who is in which.
    people = people.join(contacts.source_contacts(world.seed, people), on="person_id",
                         how="left", maintain_order="left")  # fmt: skip
    mc = mailchimp_details(world.seed, people)
    shop = shop_details(world.seed, people)
    people = people.join(mc, on="person_id", how="left", maintain_order="left").join(
        shop, on="person_id", how="left", maintain_order="left"
    )
    crm_rng = rng_for(world.seed, STREAM_CRM, 1)
    hs_style = np.where(crm_rng.random(n) < 0.5, 5, np.where(crm_rng.random(n) < 0.5, 3, 4))
    hs_phone = format_phones(people["hs_phone_national"], people["hs_phone_e164"],
                             people["country_code"], hs_style)  # fmt: skip
    hs_mobile = format_phones(people["hs_mobile_national"], people["hs_mobile_e164"],
                              people["country_code"], hs_style)  # fmt: skip
    people = people.with_columns(
        hs_phone=_maybe(crm_rng, hs_phone, 0.7),
        hs_mobile=hs_mobile,
        hs_first_name=_maybe(crm_rng, people["first_name"], 0.95),
        hs_last_name=_maybe(crm_rng, people["last_name"], 0.9),
        accepts_flip=pl.Series(crm_rng.random(n) < 0.05),
    )
    people = people.with_columns(capi_hashes(people))

    # Orders a two-address person typed with their other address at checkout.
    order_rng = rng_for(world.seed, contacts.STREAM_CONTACTS, contacts.PART_ORDERS)
    two = people.select("person_id", pl.col("second_email").is_not_null().alias("two"))
    has_two = world.orders.select("person_id").join(two, on="person_id", how="left",
                                                    maintain_order="left")["two"]  # fmt: skip
    orders = world.orders.with_columns(
        other_email=has_two.fill_null(False)
        & pl.Series(order_rng.random(world.orders.height) < contacts.OTHER_ORDER_EMAIL_SHARE),
        shopify_id=pl.Series(
            5_100_000_000_000
            + int(rng.integers(0, 10**10))
            + np.cumsum(rng.integers(1, 2000, world.orders.height))
        ).cast(pl.String)
    )
    deals = world.deals.with_columns(
        deal_record_id=_ids_in_order(
            rng, world.deals["create_ts"], 18_000_000_000 + int(rng.integers(0, 10**8)), 700
        )
    )
    logger.info("derived identifiers for %d people, %d orders", n, orders.height)
    return people, orders, deals


def capi_hashes(people: pl.DataFrame) -> list[pl.Series]:
    """Meta's normalised, SHA-256 hashed user data per person (lowercase hex), of what the
    shop holds: its account's address, the names as typed there (trimmed, lower case)."""
    city_names = [c.name for c in ref.CITIES]
    norm = people.select(
        em=pl.col("shop_email").str.strip_chars().str.to_lowercase(),
        ph=pl.col("phone_e164"),
        fn=pl.col("first_name").str.strip_chars().str.to_lowercase(),
        ln=pl.col("last_name").str.to_lowercase().str.replace_all(r"[^\p{L}]", ""),
        ct=pl.lit(pl.Series(city_names)).gather(pl.col("city_idx")).str.to_lowercase()
        .str.replace_all(r"[^\p{L}]", ""),
        st=pl.lit(pl.Series([c.region.lower() for c in ref.CITIES])).gather(pl.col("city_idx")),
        zp=pl.col("zip").str.to_lowercase().str.replace_all(" ", ""),
        country=pl.col("country_code").str.to_lowercase(),
        external_id=pl.col("shop_customer_id"),
    )  # fmt: skip
    con = duckdb.connect()
    try:
        con.register("norm", norm.to_arrow())
        cols = ", ".join(f"sha256({c}) AS h_{c}" for c in norm.columns)
        hashed = pl.from_arrow(con.sql(f"SELECT {cols} FROM norm").to_arrow_table())
    finally:
        con.close()
    assert isinstance(hashed, pl.DataFrame)
    return list(hashed.get_columns())
