"""The rules applied to whole columns, each distinct value once.

A column repeats its values (a customer's email on every activity row, an order's phone on
each of its lines), and a rule is Python code per value: computing it once per distinct value
makes a column cost what its distinct values cost. `rules` also remembers values across calls
(DuckDB hands a UDF its rows in chunks of 2,048, so the same phone comes back in later chunks).
Columns come and go as Arrow arrays, which DuckDB UDFs and Polars both hand over without a copy.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from pipelines.normalize import rules

ArrayLike = pa.Array | pa.ChunkedArray | pl.Series


def _each_distinct(rule: Callable[..., str | None], *columns: ArrayLike) -> pl.Series:
    """`rule` of each row of `columns`, computed once per distinct row."""
    names = [f"a{i}" for i in range(len(columns))]
    frame = pl.DataFrame(
        [pl.Series(n, c, dtype=pl.String) for n, c in zip(names, columns, strict=True)]
    )
    distinct = frame.unique()
    results = [rule(*row) for row in distinct.iter_rows()]
    distinct = distinct.with_columns(out=pl.Series(results, dtype=pl.String))
    return frame.join(
        distinct, on=names, how="left", nulls_equal=True, maintain_order="left"
    ).get_column("out")


def email(values: ArrayLike) -> pl.Series:
    """`rules.email` of each value."""
    return _each_distinct(rules.email, values)


def country_code(values: ArrayLike) -> pl.Series:
    """`rules.country_code` of each value."""
    return _each_distinct(rules.country_code, values)


def phone_e164(phones: ArrayLike, countries: ArrayLike, default_country: ArrayLike | str
               ) -> pl.Series:
    """`rules.phone_e164` of each phone with the country beside it; `default_country` is one
    code for all rows or a column (SQL passes its constant as a column)."""
    if isinstance(default_country, str):
        default_country = pl.Series([default_country] * len(phones), dtype=pl.String)
    return _each_distinct(rules.phone_e164, phones, countries, default_country)
