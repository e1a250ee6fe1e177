"""CSV cells that a spreadsheet would run as a formula are made inert.

Free text that starts like a formula gets an apostrophe in front, as OWASP advises. Identifiers
a platform matches on must reach it exactly, so a column declared as holding emails or E.164
phones keeps a value of that shape as it is: `+<digits>` and an address made only of letters,
digits and `._%+-` hold no parenthesis, quote, pipe or space, so a spreadsheet can at worst show
them as an error, never call a function or another program with them. An identifier of any
other shape is guarded like text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[=+\\-@\\t\\r]"
# Identifier kinds whose values pass unchanged when they match in full.
INERT_IDENTIFIERS = {
    "email": r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$",
    "phone_e164": r"^\+[1-9][0-9]{1,14}$",
}


def neutralise(value: str | None, identifier: str | None = None) -> str | None:
    """`value` with an apostrophe in front when it starts like a formula, unless it is an
    `identifier` (a kind of `INERT_IDENTIFIERS`) of the shape that kind allows."""
    if not value or not value.startswith(FORMULA_START):
        return value
    if identifier is not None and re.fullmatch(INERT_IDENTIFIERS[identifier], value):
        return value
    return "'" + value


def neutralise_frame(
    frame: pl.DataFrame, identifiers: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Apply `neutralise` to every text column; `identifiers` maps the columns that hold an
    identifier to its kind."""
    identifiers = identifiers or {}
    unknown = set(identifiers.values()) - set(INERT_IDENTIFIERS)
    if unknown:
        raise ValueError(f"unknown identifier kinds {sorted(unknown)}; known: "
                         f"{sorted(INERT_IDENTIFIERS)}")

    def guarded(column: str) -> pl.Expr:
        looks_like_formula = pl.col(column).str.contains(FORMULA_PATTERN)
        if column in identifiers:
            inert = pl.col(column).str.contains(INERT_IDENTIFIERS[identifiers[column]])
            looks_like_formula = looks_like_formula & ~inert
        return (
            pl.when(looks_like_formula)
            .then(pl.lit("'") + pl.col(column))
            .otherwise(pl.col(column))
            .alias(column)
        )

    return frame.with_columns(
        guarded(c) for c, dtype in frame.schema.items() if dtype == pl.String
    )
