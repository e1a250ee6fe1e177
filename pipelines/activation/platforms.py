"""The rows of each platform's upload file, from members that consent already let through.

Every builder takes the prepared customers (`export.prepare_customers`: `email_norm`,
`phone_norm` in E.164) and returns text columns in the platform's order, with blanks as nulls and
spreadsheet formulas neutralised. Ad platforms get only SHA-256 hashes of identifiers (Google's
`Country` and `Zip` are sent plain, as Google asks).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.activation import normalize
from pipelines.activation.audiences import CrmFields
from pipelines.activation.csvsafe import neutralise_frame


@dataclass(frozen=True)
class Format:
    """A platform's file: its columns, the key its deltas are computed on (None: the whole row,
    for ad platforms, whose rows carry no stable id), and whether files come in parts."""

    platform: str
    columns: tuple[str, ...]
    key: tuple[str, ...] | None
    in_parts: bool = False
    # Plain identifier columns and their kind (`csvsafe.INERT_IDENTIFIERS`): the platform
    # matches on them, so a valid one is never altered by the formula guard.
    identifiers: tuple[tuple[str, str], ...] = ()


FORMATS: dict[str, Format] = {
    "mailchimp": Format(
        "mailchimp",
        ("Email Address", "First Name", "Last Name", "Tags", "SENDHOUR", "TZ", "RECO1", "RECO2",
         "RECO3"),
        key=("Email Address",),
        identifiers=(("Email Address", "email"),),
    ),
    "meta": Format(
        "meta",
        ("email", "phone", "fn", "ln", "ct", "st", "zp", "country", "external_id"),
        key=None,
        in_parts=True,
    ),
    "google": Format(
        "google", ("Email", "Phone", "First Name", "Last Name", "Country", "Zip"), key=None
    ),
    "crm": Format("crm", ("Record ID", "Audience", "Score", "Top Reasons"), key=("Record ID",)),
}
HASHED: dict[str, tuple[str, ...]] = {
    "meta": FORMATS["meta"].columns,
    "google": ("Email", "Phone", "First Name", "Last Name"),
}
# Persona names become Mailchimp tags when the customer frame carries them.
PERSONA_COLUMN = "persona_name"
# Mailchimp merge fields and the customer columns (`export.with_personalisation`) they come from.
MAILCHIMP_MERGE_FIELDS: dict[str, str] = {
    "SENDHOUR": "send_hour_utc", "TZ": "send_timezone", "RECO1": "reco_1", "RECO2": "reco_2",
    "RECO3": "reco_3",
}
MAILCHIMP_MERGE_SOURCES = (*MAILCHIMP_MERGE_FIELDS.values(), "send_group")


def mailchimp_rows(members: pl.DataFrame, audience: str) -> pl.DataFrame:
    """Mailchimp import: the email, names as the person gave them, tags for the audience and,
    when known, the persona and the send-time group (Mailchimp splits the tag cell on commas),
    and the merge fields the personalize step fills: SENDHOUR (the UTC hour to send at), TZ
    (the person's time zone) and RECO1..RECO3 (the top recommended products' names). Columns
    the customers lack are left blank, so the file's layout never changes."""
    members = members.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in MAILCHIMP_MERGE_SOURCES
        if c not in members.columns)
    tags = [pl.lit(audience)]
    if PERSONA_COLUMN in members.columns:
        tags.append(pl.col(PERSONA_COLUMN).cast(pl.String).str.replace_all(",", " "))
    tags.append(pl.col("send_group").cast(pl.String))
    return _finish(
        members.select(
            pl.col("email_norm").alias("Email Address"),
            pl.col("first_name").alias("First Name"),
            pl.col("last_name").alias("Last Name"),
            pl.concat_str(tags, separator=",", ignore_nulls=True).alias("Tags"),
            *[pl.col(source).cast(pl.String).alias(field)
              for field, source in MAILCHIMP_MERGE_FIELDS.items()],
        ),
        FORMATS["mailchimp"],
    )


def meta_rows(members: pl.DataFrame) -> pl.DataFrame:
    """Meta Custom Audience: every column the SHA-256 of its normalised value."""
    country = pl.col("country_code")
    normalised = members.select(
        email=pl.col("email_norm"),
        phone=normalize.phone_meta(pl.col("phone_norm")),
        fn=normalize.name(pl.col("first_name")),
        ln=normalize.name(pl.col("last_name")),
        ct=normalize.city(pl.col("city")),
        st=normalize.state(pl.col("region_code"), country),
        zp=normalize.zip_meta(pl.col("zip"), country),
        country=normalize.country_meta(country),
        # The id the site's Pixel and Conversions API send as external_id: the shop's.
        external_id=pl.col("shop_customer_id").cast(pl.String),
    )
    return _finish(normalize.sha256_columns(normalised, HASHED["meta"]), FORMATS["meta"])


def google_rows(members: pl.DataFrame) -> pl.DataFrame:
    """Google Customer Match: email, phone (E.164 with `+`) and names hashed; country and zip
    plain."""
    country = pl.col("country_code")
    normalised = members.select(
        pl.col("email_norm").alias("Email"),
        pl.col("phone_norm").alias("Phone"),
        normalize.name(pl.col("first_name")).alias("First Name"),
        normalize.name(pl.col("last_name")).alias("Last Name"),
        normalize.country_google(country).alias("Country"),
        normalize.zip_google(pl.col("zip"), country).alias("Zip"),
    )
    return _finish(normalize.sha256_columns(normalised, HASHED["google"]), FORMATS["google"])


def crm_rows(members: pl.DataFrame, audience: str, fields: CrmFields) -> pl.DataFrame:
    """CRM update for sales: the HubSpot record, the audience, the score and its top reasons."""
    reasons = (
        pl.concat_str(
            [pl.col(r).cast(pl.String) for r in fields.reasons], separator="; ", ignore_nulls=True
        )
        if fields.reasons
        else pl.lit(None, dtype=pl.String)
    )
    return _finish(
        members.select(
            pl.col("hubspot_record_id").cast(pl.String).str.strip_chars().alias("Record ID"),
            pl.lit(audience).alias("Audience"),
            pl.col(fields.score).cast(pl.Float64).round(4).cast(pl.String).alias("Score"),
            reasons.alias("Top Reasons"),
        ),
        FORMATS["crm"],
    )


def rows_for(
    platform: str, members: pl.DataFrame, audience: str, crm: CrmFields | None = None
) -> pl.DataFrame:
    """The file rows for `platform`, in `FORMATS[platform].columns` order."""
    if platform == "mailchimp":
        return mailchimp_rows(members, audience)
    if platform == "meta":
        return meta_rows(members)
    if platform == "google":
        return google_rows(members)
    if platform == "crm":
        if crm is None:
            raise ValueError(f"audience {audience!r}: the crm file needs crm score settings")
        return crm_rows(members, audience, crm)
    raise ValueError(f"unknown platform {platform!r}")


def _finish(rows: pl.DataFrame, fmt: Format) -> pl.DataFrame:
    """All text, blank cells null (a CSV cannot tell them apart), formulas made inert (valid
    identifiers of the format pass as they are)."""
    text = rows.select(pl.all().cast(pl.String).str.strip_chars())
    text = text.with_columns(
        pl.when(pl.col(c).str.len_chars() > 0).then(pl.col(c)).alias(c) for c in text.columns
    )
    return neutralise_frame(text, dict(fmt.identifiers))
