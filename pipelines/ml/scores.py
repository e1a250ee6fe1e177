"""The one scores table, `ml.scores`: one row per customer and model.

Columns: customer_key, as_of_date, model (`churn`, `ltv`, `lead`, `uplift`), version (the model
version or the baseline that scored), score (a calibrated probability for churn and lead, an
amount for ltv, expected extra orders over 28 days if targeted for uplift, which may be
negative), decile (1-10, 10 = the highest tenth of scores) and reason_1..reason_3 in words.
Readers that want one row per customer pivot it with `pivot_sql` (`churn_score`,
`churn_decile`, `churn_reason_1`, ..., `ltv_score`, ...).

Light on purpose (Polars only): the export and the report import it.
"""

from __future__ import annotations

from datetime import date

import polars as pl

TABLE = "ml.scores"
MODELS: tuple[str, ...] = ("churn", "ltv", "lead", "uplift")
REASONS = 3

DDL = f"""
create table if not exists {TABLE} (
    customer_key varchar not null,
    as_of_date date not null,
    model varchar not null,
    version varchar not null,
    score double not null,
    decile integer not null,
    reason_1 varchar,
    reason_2 varchar,
    reason_3 varchar
)
"""

SCHEMA = {
    "customer_key": pl.String, "as_of_date": pl.Date, "model": pl.String,
    "version": pl.String, "score": pl.Float64, "decile": pl.Int32,
    **{f"reason_{i}": pl.String for i in range(1, REASONS + 1)},
}  # fmt: skip


def deciles(score: pl.Series, keys: pl.Series) -> pl.Series:
    """1..10 by ascending score: decile 10 holds the highest-scoring tenth. Ties are broken by
    key, so the same scores always give the same deciles."""
    frame = pl.DataFrame({"p": score, "k": keys}).with_row_index("i")
    ranked = frame.sort(["p", "k"], descending=[False, False]).with_row_index("r")
    n = max(frame.height, 1)
    ranked = ranked.with_columns(decile=(pl.col("r") * 10 // n + 1).cast(pl.Int32))
    return ranked.sort("i").get_column("decile")


def long_scores(
    model: str,
    version: str,
    as_of: date,
    keys: pl.Series,
    score: pl.Series,
    reasons: list[list[str]] | pl.DataFrame,
) -> pl.DataFrame:
    """Rows of `ml.scores` for one model: deciles computed here, reasons padded to three.
    `reasons` is one list per row, or columns reason_1.. (explain.reason_columns)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; the scores table holds {list(MODELS)}")
    if not (len(keys) == len(score) == len(reasons)):
        raise ValueError(
            f"{model}: {len(keys)} keys, {len(score)} scores and "
            f"{len(reasons)} reason lists must line up"
        )
    score = score.cast(pl.Float64)
    broken = int((~score.is_finite()).sum() + score.is_null().sum())
    if broken:
        # Never publish a score that is not a number: it ranks nobody and breaks every reader.
        raise ValueError(f"{model} scored by {version}: {broken} of {len(score)} scores are "
                         "not numbers (a degenerate fit); nothing was written")
    if isinstance(reasons, pl.DataFrame):
        columns = {
            f"reason_{i + 1}": reasons.get_column(f"reason_{i + 1}")
            if f"reason_{i + 1}" in reasons.columns
            else pl.Series([None] * len(keys), dtype=pl.String)
            for i in range(REASONS)
        }
    else:
        padded = [(list(r) + [None] * REASONS)[:REASONS] for r in reasons]
        columns = {f"reason_{i + 1}": [r[i] for r in padded] for i in range(REASONS)}
    return pl.DataFrame(
        {
            "customer_key": keys.cast(pl.String),
            "as_of_date": [as_of] * len(keys),
            "model": [model] * len(keys),
            "version": [version] * len(keys),
            "score": score,
            "decile": deciles(score, keys),
            **columns,
        },
        schema=SCHEMA,
    )


def pivot_sql(table: str = TABLE) -> str:
    """SQL giving one row per scored customer with `<model>_score`, `<model>_decile` and
    `<model>_reason_1..3` for every model, null where a model did not score the customer."""
    columns = []
    for model in MODELS:
        columns.append(f"max(score) filter (where model = '{model}') as {model}_score")
        columns.append(f"max(decile) filter (where model = '{model}') as {model}_decile")
        columns += [
            f"max(reason_{i}) filter (where model = '{model}') as {model}_reason_{i}"
            for i in range(1, REASONS + 1)
        ]
    return f"select customer_key, {', '.join(columns)} from {table} group by customer_key"
