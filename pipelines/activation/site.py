"""The website personalisation feed: per persona what the site shows (`site/personas.*`), and a
lookup from the site's identifiers to the persona and top products (`site/lookup.*`).

The lookup keys a person by GA4's `user_pseudo_id` (the site's cookie id, as the GA4 export
names it) and by the SHA-256 of the normalised email (what a logged-in or newsletter visitor
can be matched on without the address), one row per key. Only people the site rules of
`consent.py` allow are in it; no raw email is written. CSV cells go through `csvsafe`; the JSON
files hold the same rows, as `{"columns": [...], "rows": [{...}, ...]}`, unguarded (no
spreadsheet opens JSON).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import polars as pl

from pipelines.activation.consent import apply_consent
from pipelines.activation.csvsafe import neutralise_frame

FOLDER = "site"
PERSONAS_PLATFORM = "site_personas"
LOOKUP_PLATFORM = "site_lookup"
PERSONA_COLUMNS = ("persona_id", "persona", "slug", "headline", "hero_category",
                   "featured_products", "featured_product_ids", "offer_code",
                   "offer_description", "offer_terms", "best_hour_local", "best_weekday")
LOOKUP_COLUMNS = ("key_type", "key", "persona", "product_1", "product_2", "product_3")
KEY_TYPES = ("ga4_user_pseudo_id", "email_sha256")


def slug(name: str) -> str:
    """A persona's name as a file name: lowercase ASCII words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "persona"


def persona_slugs(personas: pl.DataFrame) -> pl.DataFrame:
    """`personas` (persona_id, persona) with a `slug` unique among them: a name whose slug
    another persona's name also makes gets its id appended, so no file overwrites another."""
    slugs = personas.with_columns(
        slug=pl.col("persona").map_elements(slug, return_dtype=pl.String))
    clash = pl.col("slug").is_duplicated()
    return slugs.with_columns(
        slug=pl.when(clash).then(pl.col("slug") + "-" + pl.col("persona_id").cast(pl.String))
        .otherwise(pl.col("slug")))


def persona_rows(personalisation: pl.DataFrame) -> pl.DataFrame:
    """The personas feed from reports.rpt_personalisation, in persona id order."""
    return persona_slugs(personalisation).sort("persona_id").select(PERSONA_COLUMNS)


def lookup_rows(customers: pl.DataFrame, devices: pl.DataFrame,
                top: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The lookup rows and the people held back by reason.

    `customers` is the exports' prepared frame (customer_key, persona_name, email_sha256,
    is_erased and the consent columns), `devices` maps customer_key to user_pseudo_id, and
    `top` is each customer's recommendations (customer_key, rank, product_id). Only people
    with a persona are looked up; of two people with one key, the first by customer_key keeps
    it, so a key never points at two personas.
    """
    with_persona = customers.filter(pl.col("persona_name").is_not_null())
    allowed, held_back = apply_consent(with_persona, "site")
    products = (top.filter(pl.col("rank") <= 3).sort("customer_key", "rank")
                .group_by("customer_key", maintain_order=True)
                .agg(pl.col("product_id").cast(pl.String))
                .select("customer_key",
                        *[pl.col("product_id").list.get(i, null_on_oob=True)
                          .alias(f"product_{i + 1}") for i in range(3)]))
    people = allowed.select("customer_key", pl.col("persona_name").alias("persona"),
                            "email_sha256")
    by_email = people.filter(pl.col("email_sha256").is_not_null()).select(
        "customer_key", pl.lit("email_sha256").alias("key_type"),
        pl.col("email_sha256").alias("key"), "persona")
    by_device = people.join(
        devices.select("customer_key", pl.col("user_pseudo_id").cast(pl.String)).unique(),
        on="customer_key").filter(pl.col("user_pseudo_id").is_not_null()).select(
        "customer_key", pl.lit("ga4_user_pseudo_id").alias("key_type"),
        pl.col("user_pseudo_id").alias("key"), "persona")
    rows = (pl.concat([by_device, by_email])
            .sort("key_type", "key", "customer_key")
            .unique(subset=["key_type", "key"], keep="first", maintain_order=True)
            .join(products, on="customer_key", how="left"))
    return rows.select(LOOKUP_COLUMNS), held_back


def write_site_files(building: Path, personas: pl.DataFrame, lookup: pl.DataFrame,
                     held_back: dict[str, int]) -> list[dict]:
    """Write `site/personas.{json,csv}` and `site/lookup.{csv,json}` under `building`; return
    their manifest entries (the lookup's with the people held back by reason)."""
    written = []
    for stem, platform, frame, suppressed in (
            ("personas", PERSONAS_PLATFORM, personas, {}),
            ("lookup", LOOKUP_PLATFORM, lookup, held_back)):
        for suffix in ("csv", "json"):
            relative = Path(FOLDER) / f"{stem}.{suffix}"
            target = building / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if suffix == "csv":
                neutralise_frame(frame).write_csv(target)
            else:
                document = {"columns": frame.columns, "rows": frame.to_dicts()}
                target.write_text(json.dumps(document, indent=1, ensure_ascii=False,
                                             default=str) + "\n", encoding="utf-8")
            written.append(manifest_entry(target, relative, platform, stem, frame.height,
                                          suppressed))
    return written


def manifest_entry(target: Path, relative: Path, platform: str, audience: str, rows: int,
                   suppressed: dict[str, int] | None = None) -> dict:
    """A manifest entry in the shape of the audience files' (`export.ExportFile`)."""
    return {"path": relative.as_posix(), "platform": platform, "audience": audience,
            "kind": "full", "part": 1, "parts": 1, "rows": rows,
            "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
            "suppressed": suppressed or {}}
