"""Erasure requests: taken in once, kept only as hashes, applied to every export from then on.

A person who asks to be forgotten is listed by email and/or phone in
`<home>/suppression/erasure.csv` (columns `email`, `phone`, optional `country` for a phone in
national form). Each export run first takes the file in: every identifier is normalised as the
exporters normalise it (`normalize.email`, `normalize.phone_e164`), hashed with SHA-256 and
added to the suppression store `<home>/suppression/erased_sha256.csv`; then the request file is
emptied down to its header. The plain values are never stored, logged or echoed in an error.
The store only grows: a person in it is held back from every file of every later run.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.activation import normalize
from pipelines.config import Settings

log = logging.getLogger(__name__)

REQUEST_COLUMNS = ("email", "phone", "country")
STORE_SCHEMA = {"identifier_type": pl.String, "sha256": pl.String, "received_on": pl.String}


class ErasureFileError(ValueError):
    """The erasure request file cannot be taken in; nothing was changed."""


def read_store(settings: Settings) -> pl.DataFrame:
    """The hashed identifiers of everyone erased so far (`identifier_type` email or phone)."""
    path = settings.suppression_store
    if not path.exists():
        return pl.DataFrame(schema=STORE_SCHEMA)
    return pl.read_csv(path, schema=STORE_SCHEMA)


def hash_requests(requests: pl.DataFrame, default_country: str, where: str) -> pl.DataFrame:
    """The store rows for a frame of requests (text columns among `REQUEST_COLUMNS`).

    Raises ErasureFileError naming the row when a row has no usable identifier or one that
    cannot be read, without showing the value. Rows are numbered by their `_line` column when
    the frame has one (the line in the file), else from 2 (the line after the header).
    """
    columns = [c for c in REQUEST_COLUMNS if c in requests.columns]
    lines = (
        requests.get_column("_line").cast(pl.UInt32)
        if "_line" in requests.columns
        else pl.int_range(2, requests.height + 2, dtype=pl.UInt32, eager=True)
    )
    frame = (
        requests.select(pl.col(columns).cast(pl.String))
        .with_columns(
            pl.lit(None, dtype=pl.String).alias(c) for c in REQUEST_COLUMNS if c not in columns
        )
        .with_columns(lines.alias("_line"))
    )
    given = frame.with_columns(
        email_given=pl.col("email").str.strip_chars().fill_null("") != "",
        phone_given=pl.col("phone").str.strip_chars().fill_null("") != "",
        email_norm=normalize.email(pl.col("email")),
        phone_norm=normalize.phone_e164(pl.col("phone"), pl.col("country"), default_country),
    )
    problems = given.select(
        "_line",
        problem=pl.when(~pl.col("email_given") & ~pl.col("phone_given"))
        .then(pl.lit("neither an email nor a phone"))
        .when(
            pl.col("email_given")
            & ~pl.col("email_norm").str.contains(normalize.VALID_EMAIL).fill_null(False)
        )
        .then(pl.lit("the email is not an email address"))
        .when(pl.col("phone_given") & pl.col("phone_norm").is_null())
        .then(
            pl.lit(
                "the phone cannot be read as a phone number (write it as +<country code>"
                "<number>, or fill the country column)"
            )
        ),
    ).filter(pl.col("problem").is_not_null())
    if problems.height:
        lines = "; ".join(f"line {n}: {p}" for n, p in problems.head(10).iter_rows())
        raise ErasureFileError(
            f"{where}: {problems.height} request(s) cannot be taken in "
            f"({lines}). Fix them and rerun; nothing was taken in."
        )
    emails = given.select(
        pl.lit("email").alias("identifier_type"), pl.col("email_norm").alias("value")
    )
    phones = given.select(
        pl.lit("phone").alias("identifier_type"), pl.col("phone_norm").alias("value")
    )
    long = pl.concat([emails, phones]).drop_nulls("value")
    hashed = normalize.sha256_columns(long, ["value"])
    return hashed.select("identifier_type", pl.col("value").alias("sha256")).unique(
        maintain_order=True
    )


def intake_erasures(settings: Settings, logical_date: date) -> int:
    """Take in the erasure request file, if any: hash its identifiers into the store, then empty
    it. Returns how many new hashed identifiers the store gained.

    The store is written (atomically, synced) before the request file is emptied, so a crash in
    between only means the same requests are taken in again, which changes nothing.
    """
    path = settings.erasure_file
    if not path.exists():
        return 0
    requests = _read_requests(path)
    if requests.height == 0:
        return 0
    hashed = hash_requests(requests, settings.default_country, str(path))
    store = read_store(settings)
    new = hashed.join(store, on=["identifier_type", "sha256"], how="anti").with_columns(
        received_on=pl.lit(logical_date.isoformat())
    )
    if new.height:
        merged = pl.concat([store, new.select(list(STORE_SCHEMA))])
        _write_atomically(settings.suppression_store, merged.write_csv())
    _write_atomically(path, ",".join(c for c in REQUEST_COLUMNS) + "\n")
    log.info(
        "erasure requests: %d taken in from %s, %d new hashed identifiers in the store; "
        "the request file is emptied",
        requests.height,
        path.name,
        new.height,
    )
    return new.height


def current_store(settings: Settings, logical_date: date) -> pl.DataFrame:
    """The store with the day's erasure requests taken in first. Every step that honours
    erasure reads it through here, so a request dropped before the run applies to the whole of
    that day's run, whichever step reads it first (taking in is idempotent)."""
    intake_erasures(settings, logical_date)
    return read_store(settings)


def taken_in_on(store: pl.DataFrame, logical_date: date) -> int:
    """How many of the store's hashed identifiers were taken in on `logical_date`."""
    return store.filter(pl.col("received_on") == logical_date.isoformat()).height


def erased_customer_keys(con: duckdb.DuckDBPyConnection, store: pl.DataFrame) -> list[str]:
    """The customer keys of everyone erased: any of their identifiers (a plain email or phone,
    or an email hashed as the store hashes it) matches the store. Read from identity
    resolution, so a person erased by a second email is found too."""
    if store.is_empty():
        return []
    con.register("erased_store", store.to_arrow())
    try:
        rows = con.sql("""
            select distinct i.customer_key
            from intermediate.int_identity__identifiers as i
            join erased_store as s
              on (i.identifier_type = 'email' and s.identifier_type = 'email'
                  and sha256(i.identifier) = s.sha256)
              or (i.identifier_type = 'email_sha256' and s.identifier_type = 'email'
                  and i.identifier = s.sha256)
              or (i.identifier_type = 'phone' and s.identifier_type = 'phone'
                  and sha256(i.identifier) = s.sha256)
            where i.customer_key is not null
            order by 1
        """).fetchall()
    finally:
        con.unregister("erased_store")
    return [key for (key,) in rows]


def erasure_row_filters(con: duckdb.DuckDBPyConnection, tables: list[str], keys: list[str]
                        ) -> dict[str, str]:
    """For each of `tables` with a `customer_key` column, the condition its published rows
    meet: not an erased person's (rows of no person, such as guest orders, stay)."""
    if not keys:
        return {}
    listed = ", ".join("'" + key.replace("'", "''") + "'" for key in keys)
    with_key = {
        f"{schema}.{table}" for schema, table in con.sql(
            "select table_schema, table_name from information_schema.columns "
            "where column_name = 'customer_key'").fetchall()
    }
    return {t: f"coalesce(customer_key not in ({listed}), true)" for t in tables
            if t in with_key}


def mark_erased(customers: pl.DataFrame, store: pl.DataFrame) -> pl.DataFrame:
    """`customers` (with `email_sha256` and `phone_sha256`) plus `is_erased`: true where the
    person's email or phone hash is in the store."""
    emails = store.filter(pl.col("identifier_type") == "email").get_column("sha256")
    phones = store.filter(pl.col("identifier_type") == "phone").get_column("sha256")
    return customers.with_columns(
        is_erased=pl.col("email_sha256").is_in(emails.implode()).fill_null(False)
        | pl.col("phone_sha256").is_in(phones.implode()).fill_null(False)
    )


def _read_requests(path: Path) -> pl.DataFrame:
    """The request rows (text columns among `REQUEST_COLUMNS`, and `_line`, the row's first
    line in the file). Blank lines, and rows of only blank cells as spreadsheets save empty rows,
    are skipped; a row that cannot be read stops it with its line number, never its value."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ErasureFileError(f"{where}: cannot read it as UTF-8 text ({exc})") from exc
    rows = _csv_rows(text, where)
    if not rows:
        return pl.DataFrame()
    (_, header), body = rows[0], rows[1:]
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in REQUEST_COLUMNS]
    if unknown or not {"email", "phone"} & set(columns) or len(set(columns)) < len(columns):
        # The header is not echoed: a file without one would show a person's email here.
        raise ErasureFileError(
            f"{where}: the first line must be a header naming the columns email and/or phone "
            f"(and optionally country), each once; {len(unknown)} of its {len(columns)} column "
            "names are none of these. Nothing was taken in."
        )
    for line, cells in body:
        if len(cells) > len(columns):
            raise ErasureFileError(
                f"{where}: line {line} has {len(cells)} values but the header names "
                f"{len(columns)} columns (quote a value that holds a comma). Fix it and rerun; "
                "nothing was taken in."
            )
    return pl.DataFrame(
        {
            "_line": [line for line, _ in body],
            **{
                c: [cells[i] if i < len(cells) else None for _, cells in body]
                for i, c in enumerate(columns)
            },
        },
        schema={"_line": pl.UInt32, **dict.fromkeys(columns, pl.String)},
    )


def _csv_rows(text: str, where: str) -> list[tuple[int, list[str]]]:
    """`(first line, cells)` of each CSV record of `text` that has a non-blank cell."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise ErasureFileError(
                f"{where}: line {line} cannot be read as CSV ({exc}). Fix it and rerun; "
                "nothing was taken in."
            ) from None
        if any(cell.strip() for cell in cells):
            rows.append((line, cells))


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
