"""What each persona talks about: keywords its customers' texts use more than the others' do,
and the shares of their sentiment."""

from __future__ import annotations

import polars as pl

from pipelines.personas.topics import persona_topics


def texts(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_key": pl.String, "text": pl.String,
                                      "sentiment": pl.Float64}, orient="row")  # fmt: skip


LABELS = pl.DataFrame({"customer_key": ["a", "b", "c", "d"], "persona_id": [1, 1, 2, 2]})


def test_each_persona_gets_the_words_its_texts_use_and_the_others_do_not() -> None:
    frame = texts([
        ("a", "My delivery was late again", -0.4), ("a", "delivery took two weeks", -0.3),
        ("b", "Still waiting for my delivery", -0.2), ("b", "great coffee", 0.6),
        ("c", "The espresso roast is wonderful", 0.7), ("c", "Love this espresso", 0.8),
        ("d", "espresso beans arrived fresh", 0.4), ("d", "ok", None),
        # A customer no persona holds says nothing about any persona.
        ("z", "delivery delivery delivery", -0.5),
    ])  # fmt: skip
    topics = persona_topics(frame, LABELS)
    first = topics.filter((pl.col("kind") == "keyword") & (pl.col("rank") == 1))
    assert dict(first.select("persona_id", "item").iter_rows()) == {1: "delivery", 2: "espresso"}
    delivery = topics.filter((pl.col("persona_id") == 1) & (pl.col("item") == "delivery"))
    assert delivery["documents"].item() == 3 and delivery["share"].item() == 0.75


def test_sentiment_shares_count_only_texts_with_a_score() -> None:
    frame = texts([("a", "bad", -0.5), ("a", "fine", 0.0), ("b", "good", 0.5), ("b", "x", None),
                   ("c", "lovely", 0.9)])  # fmt: skip
    feelings = persona_topics(frame, LABELS).filter(pl.col("kind") == "sentiment")
    one = dict(feelings.filter(pl.col("persona_id") == 1).select("item", "share").iter_rows())
    assert one == {"positive": 1 / 3, "neutral": 1 / 3, "negative": 1 / 3}
    assert feelings.filter(pl.col("persona_id") == 2).select("item", "rank").rows() == [
        ("positive", 1)]


def test_no_texts_give_no_rows_with_the_table_schema() -> None:
    topics = persona_topics(texts([]), LABELS)
    assert topics.is_empty()
    assert topics.schema["share"] == pl.Float64 and topics.schema["kind"] == pl.String
