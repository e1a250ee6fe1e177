"""What each persona talks about: the keywords of its customers' comments, messages and survey
answers (`pipelines.text.group_keywords`, class-based TF-IDF: words a persona's texts use more
than the others' do) and how those texts feel (the marts' VADER sentiment, as shares of
positive, neutral and negative texts). The persona cards show both ("what they talk about").
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.text import group_keywords
from pipelines.text.sentiment import label

TOPICS_TABLE = "ml.persona_topics"
# Keywords a card shows per persona, and the texts a word needs before it is a topic.
TOP_KEYWORDS = 8
MIN_DOCUMENTS = 3

# Customers' own words, with the sentiment the marts computed for them.
TEXT_TABLES = ("marts.fct_social_engagements", "marts.fct_survey_responses")
TEXTS_SQL = f"""
    select customer_key, engagement_text as text, sentiment
    from {TEXT_TABLES[0]}
    where customer_key is not null and engagement_type in ('comment', 'message')
        and engagement_text is not null
    union all
    select customer_key, comment, comment_sentiment
    from {TEXT_TABLES[1]}
    where customer_key is not null and comment is not null
"""


def read_texts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """customer_key, text, sentiment: every comment, message and survey answer a known customer
    wrote."""
    return con.sql(TEXTS_SQL).pl()


def persona_topics(texts: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """One row per persona and topic: `kind` keyword (item the word, `share` of the persona's
    texts that use it, `score` its class-based TF-IDF) or sentiment (item positive, neutral or
    negative, `share` of its texts). `texts`: read_texts; `labels`: customer_key, persona_id."""
    mine = texts.join(labels.select("customer_key", "persona_id"), on="customer_key")
    schema = {"persona_id": pl.Int64, "kind": pl.String, "item": pl.String, "rank": pl.Int64,
              "score": pl.Float64, "documents": pl.Int64, "share": pl.Float64}  # fmt: skip
    if mine.is_empty():
        return pl.DataFrame(schema=schema)
    sizes = mine.group_by("persona_id").agg(texts=pl.len())
    words = (
        group_keywords(mine, "text", "persona_id", top=TOP_KEYWORDS, min_documents=MIN_DOCUMENTS)
        .join(sizes, on="persona_id")
        .with_columns(
            kind=pl.lit("keyword"),
            rank=pl.int_range(1, pl.len() + 1).over("persona_id"),
            share=pl.col("documents") / pl.col("texts"),
        )
        .rename({"keyword": "item"})
    )
    feelings = (
        mine.filter(pl.col("sentiment").is_not_null())
        .group_by("persona_id", item=label(pl.col("sentiment"))).agg(documents=pl.len())
        .join(sizes, on="persona_id")
        .with_columns(
            kind=pl.lit("sentiment"),
            rank=pl.col("item").replace_strict({"positive": 1, "neutral": 2, "negative": 3}),
            score=pl.lit(None, dtype=pl.Float64),
            share=pl.col("documents") / pl.col("documents").sum().over("persona_id"),
        )
    )
    columns = list(schema)
    return (
        pl.concat([words.select(columns), feelings.select(columns)], how="vertical_relaxed")
        .cast(schema)
        .sort("persona_id", "kind", "rank")
    )
