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


def _sentiment_label(compounds: pa.Array) -> pa.Array:
    import polars as pl

    from pipelines.text.sentiment import label

    frame = pl.DataFrame({"compound": pl.Series(compounds, dtype=pl.Float64)})
    return frame.select(label(pl.col("compound")).alias("label"))["label"].to_arrow()


_TEXT, _NUMBER = sqltypes.VARCHAR, sqltypes.DOUBLE
# The macros in dbt_project/macros/normalize.sql call these names:
# (function, parameter types, returns).
FUNCTIONS = {
    "normalized_email": (_email, [_TEXT], _TEXT),
    "normalized_phone_e164": (_phone_e164, [_TEXT] * 3, _TEXT),
    # VADER's compound score of a comment, message or survey answer (pipelines.text), and
    # its label at VADER's thresholds, so SQL never writes the thresholds again.
    "sentiment_compound": (_sentiment, [_TEXT], _NUMBER),
    "sentiment_label_of": (_sentiment_label, [_NUMBER], _TEXT),
}


def register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Register every rule on `con`; one already there is left as it is."""
    have = {row[0] for row in con.sql(
        "select function_name from duckdb_functions() where function_type = 'scalar'"
    ).fetchall()}
    for name, (function, parameters, returns) in FUNCTIONS.items():
        if name in have:
            continue
        con.create_function(
            name,
            function,
            parameters,
            returns,
            type=PythonUDFType.ARROW,
            # Nulls reach the rule: a phone whose record has no country takes the default.
            null_handling=FunctionNullHandling.SPECIAL,
        )
    return con
