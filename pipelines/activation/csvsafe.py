"""CSV cells that a spreadsheet would run as a formula are made inert."""

from __future__ import annotations

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str | None) -> str | None:
    """Prefix a cell that starts like a formula with an apostrophe, as OWASP advises."""
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Apply `neutralise` to every text column."""
    pattern = "^[=+\\-@\\t\\r]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )
