"""Identifiers normalised exactly as the ad platforms specify, then hashed: one place for all.

Every exporter and the erasure list use these expressions, so a person's email or phone hashes
the same way wherever it appears. The rules, from Meta's customer list and Conversions API
normalisation and Google's Customer Match formatting guidelines:

- email: trimmed, lowercased (Gmail dots are kept: neither platform asks to remove them).
- phone: E.164. Google hashes it with the `+` (`+15551234567`), Meta as digits only
  (`15551234567`). A national number (`(555) 123-4567`, `07700 900123`) takes the calling code of
  the record's country, else of the configured default country.
- first and last name: lowercase, letters only (punctuation, digits and spaces removed; accented
  letters kept, in Unicode NFC so that one name always hashes the same).
- city: lowercase, letters only. State: a US state as its two-letter code, lowercase; elsewhere
  lowercase letters only.
- zip: Meta lowercase without spaces, a US zip its first five digits; Google sends it plain (a US
  zip as five digits, others trimmed and uppercased).
- country: ISO 3166 alpha-2, lowercase and hashed for Meta, uppercase and plain for Google.

A value that normalises to nothing (blank, or no valid phone) becomes null, never the hash of
an empty string. Emails, phones and country codes follow `pipelines.normalize`, the code that
dbt's staging models call too, so identity resolution and the exports read them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import polars as pl

from pipelines.normalize import arrays

# The Mailchimp suite checks the same shape (expectations/exports/mailchimp.json).
VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# The Google suite checks the same shape of a plain postcode.
POSTCODE = r"^[0-9A-Z][0-9A-Z -]{1,11}$"

US_STATES: dict[str, str] = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "districtofcolumbia": "dc",
    "florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id", "illinois": "il",
    "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
    "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi", "minnesota": "mn",
    "mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv",
    "newhampshire": "nh", "newjersey": "nj", "newmexico": "nm", "newyork": "ny",
    "northcarolina": "nc", "northdakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or",
    "pennsylvania": "pa", "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd",
    "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va",
    "washington": "wa", "westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy",
    "puertorico": "pr",
}  # fmt: skip

_NULL = pl.lit(None, dtype=pl.String)


def _text(expr: pl.Expr) -> pl.Expr:
    """Trimmed Unicode NFC text; a leading apostrophe (a spreadsheet's "keep as text") dropped."""
    return (
        expr.cast(pl.String)
        .str.normalize("NFC")
        .str.strip_chars()
        .str.strip_chars_start("'")
        .str.strip_chars()
    )


def _nonblank(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr).otherwise(_NULL)


def country_code(country: pl.Expr) -> pl.Expr:
    """ISO 3166 alpha-2 in upper case, or null when the value is not two letters."""
    return country.cast(pl.String).map_batches(
        arrays.country_code, return_dtype=pl.String, is_elementwise=True
    )


def email(value: pl.Expr) -> pl.Expr:
    """Trimmed and lowercased; null when blank (`pipelines.normalize.rules.email`)."""
    return value.cast(pl.String).map_batches(
        arrays.email, return_dtype=pl.String, is_elementwise=True
    )


def phone_e164(phone: pl.Expr, country: pl.Expr, default_country: str) -> pl.Expr:
    """`+<country code><number>`, or null when the value cannot be read as a phone number
    (`pipelines.normalize.rules.phone_e164`): a number without a country code takes
    `country`'s calling code, else `default_country`'s."""
    inputs = pl.struct(
        phone.cast(pl.String).alias("phone"), country.cast(pl.String).alias("country")
    )
    return inputs.map_batches(
        lambda batch: arrays.phone_e164(
            batch.struct.field("phone"), batch.struct.field("country"), default_country
        ),
        return_dtype=pl.String,
        is_elementwise=True,
    )


def phone_meta(e164: pl.Expr) -> pl.Expr:
    """Meta's phone form: the E.164 digits without `+`."""
    return e164.str.strip_prefix("+")


def name(value: pl.Expr) -> pl.Expr:
    """First or last name: lowercase letters only (Meta's rule; also Google's for hashing)."""
    return _nonblank(_text(value).str.to_lowercase().str.replace_all(r"[^\p{L}]", ""))


def city(value: pl.Expr) -> pl.Expr:
    """Lowercase letters only: no spaces, punctuation or digits (`St. Louis` -> `stlouis`)."""
    return name(value)


def state(region: pl.Expr, country: pl.Expr) -> pl.Expr:
    """A US state as its two-letter code in lowercase (a full name is looked up); elsewhere the
    region in lowercase letters only. An ISO 3166-2 prefix (`US-CA`) is dropped."""
    letters = (
        _text(region)
        .str.to_lowercase()
        .str.replace(r"^[a-z]{2}-", "")
        .str.replace_all(r"[^\p{L}]", "")
    )
    us = country_code(country) == "US"
    return _nonblank(
        pl.when(us & (letters.str.len_chars() == 2))
        .then(letters)
        .when(us)
        .then(letters.replace_strict(US_STATES, default=None, return_dtype=pl.String))
        .otherwise(letters)
    )


def _us_zip(value: pl.Expr) -> pl.Expr:
    return value.str.replace_all(r"\s", "").str.extract(r"^(\d{5})(?:-?\d{4})?$", 1)


def zip_meta(value: pl.Expr, country: pl.Expr) -> pl.Expr:
    """Lowercase without spaces; a US zip as its first five digits (null when not a US zip)."""
    text = _text(value)
    return _nonblank(
        pl.when(country_code(country) == "US")
        .then(_us_zip(text))
        .otherwise(text.str.to_lowercase().str.replace_all(r"\s", ""))
    )


def zip_google(value: pl.Expr, country: pl.Expr) -> pl.Expr:
    """Google takes the zip plain: a US zip as five digits, others trimmed and uppercased; null
    when it does not look like a postcode (letters, digits, a space or dash, 2-12 long)."""
    text = _text(value)
    other = text.str.to_uppercase().str.replace_all(r"\s+", " ")
    return _nonblank(
        pl.when(country_code(country) == "US")
        .then(_us_zip(text))
        .when(other.str.contains(POSTCODE))
        .then(other)
    )


def country_meta(country: pl.Expr) -> pl.Expr:
    """ISO 3166 alpha-2, lowercase (then hashed)."""
    return country_code(country).str.to_lowercase()


def country_google(country: pl.Expr) -> pl.Expr:
    """ISO 3166 alpha-2, uppercase, sent plain."""
    return country_code(country)


def sha256_columns(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """`frame` with each of `columns` replaced by the lowercase hex SHA-256 of its UTF-8 text.

    Nulls stay null. DuckDB computes the digests (vectorised, on every core); Polars has none.
    """
    columns = list(columns)
    if not columns:
        return frame
    text = frame.select(pl.col(columns).cast(pl.String)).with_row_index("__row")
    con = duckdb.connect()
    try:
        con.register("to_hash", text.to_arrow())
        select = ", ".join(f'sha256("{c}") as "{c}"' for c in columns)
        hashed = con.sql(f"select {select} from to_hash order by __row").pl()
    finally:
        con.close()
    return frame.with_columns(hashed.get_column(c).cast(pl.String).alias(c) for c in columns)


def sha256_hex(values: Iterable[str | None]) -> list[str | None]:
    """The SHA-256 of each value as `sha256_columns` computes it (for small lists)."""
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.String})
    return sha256_columns(frame, ["v"]).get_column("v").to_list()
