"""Sentiment of short informal texts with VADER (vaderSentiment, MIT).

VADER (Hutto and Gilbert, 2014) is a lexicon of about 7,500 rated words, emoticons, slang
("sux", "lol") and emojis, plus rules for negation ("not good"), intensifiers ("very"), "but",
capitals and exclamation marks. It was built and validated on tweets, which is what comments and
messages look like, and it is explainable (a text's score comes from the words in it), needs no
training data, and reads its lexicon from its own wheel: nothing is downloaded at runtime. What
it misses: sarcasm, new slang ("this is fire 🔥" scores negative) and any language but English.

The score is `compound`, VADER's normalised sum of the valences, in [-1, 1]; the label uses the
thresholds its authors recommend (>= 0.05 positive, <= -0.05 negative, neutral between).
"""

from __future__ import annotations

from functools import cache

import polars as pl
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE, NEGATIVE = 0.05, -0.05


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """One analyzer per process: it reads its two lexicon files when built."""
    return SentimentIntensityAnalyzer()


def sentiment(texts: pl.Series) -> pl.DataFrame:
    """`compound` (Float64, -1..1) and `label` (positive, negative or neutral) of each text, one
    row per text in order; null where the text is null or blank.

    VADER scores one text at a time in Python, so each distinct text is scored once (comments
    repeat: "love it", "😍") and the rest is Polars.
    """
    text = texts.cast(pl.String).str.strip_chars().rename("text")
    distinct = text.filter(text.str.len_chars() > 0).unique()
    score = _analyzer().polarity_scores
    scored = pl.DataFrame({
        "text": distinct,
        "compound": pl.Series([score(t)["compound"] for t in distinct], dtype=pl.Float64),
    })
    compound = pl.col("compound").clip(-1.0, 1.0)
    return (
        text.to_frame()
        .join(scored, on="text", how="left", maintain_order="left")
        .select(compound.alias("compound"), label(compound).alias("label"))
    )


def label(compound: pl.Expr) -> pl.Expr:
    """positive, negative or neutral at VADER's thresholds (POSITIVE, NEGATIVE); null where
    `compound` is null. The one place the thresholds apply: the personas' topics use it, and
    dbt through the DuckDB function `sentiment_label_of` (pipelines.normalize.udfs)."""
    return (pl.when(compound >= POSITIVE).then(pl.lit("positive"))
            .when(compound <= NEGATIVE).then(pl.lit("negative"))
            .when(compound.is_not_null()).then(pl.lit("neutral")))  # fmt: skip
