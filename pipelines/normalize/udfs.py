"""The normalisation rules, and the sentiment of customers' texts, as DuckDB functions.

dbt's connection gets them from `dbt_plugin` (named in `dbt_project/profiles.yml`); any other
connection that reads the work file's staging or intermediate views (views that call them)
registers them with `register`.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from duckdb import sqltypes
from duckdb.func import FunctionNullHandling, PythonUDFType

from pipelines.normalize import arrays


def _email(values: pa.Array) -> pa.Array:
    return arrays.email(values).to_arrow()


def _phone_e164(phones: pa.Array, countries: pa.Array, default_country: pa.Array) -> pa.Array:
    return arrays.phone_e164(phones, countries, default_country).to_arrow()


def _sentiment(texts: pa.Array) -> pa.Array:
    # Imported here: VADER reads its lexicon on first use, which only the text models need.
    import polars as pl

    from pipelines.text.sentiment import sentiment

    return sentiment(pl.Series(texts))["compound"].to_arrow()


# The macros in dbt_project/macros/normalize.sql call these names: (function, arity, returns).
FUNCTIONS = {
    "normalized_email": (_email, 1, sqltypes.VARCHAR),
    "normalized_phone_e164": (_phone_e164, 3, sqltypes.VARCHAR),
    # VADER's compound score of a comment, message or survey answer (pipelines.text).
    "sentiment_compound": (_sentiment, 1, sqltypes.DOUBLE),
}


def register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Register every rule on `con`; one already there is left as it is."""
    have = {row[0] for row in con.sql(
        "select function_name from duckdb_functions() where function_type = 'scalar'"
    ).fetchall()}
    for name, (function, arity, returns) in FUNCTIONS.items():
        if name in have:
            continue
        con.create_function(
            name,
            function,
            [sqltypes.VARCHAR] * arity,
            returns,
            type=PythonUDFType.ARROW,
            # Nulls reach the rule: a phone whose record has no country takes the default.
            null_handling=FunctionNullHandling.SPECIAL,
        )
    return con
