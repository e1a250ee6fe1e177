"""What customers write, read back: sentiment on clear cases (emojis, negation, emphasis),
keywords that name the subject, group keywords that tell groups apart, and hashtags as written.
Null and blank texts say nothing, and no text makes sentiment fail or leave [-1, 1]."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.text import group_keywords, hashtags, keywords, sentiment
from pipelines.text.keywords import STOP_WORDS

LABELS = [
    ("I love this jacket, fits perfectly!", "positive"),
    ("Best customer service ever 😍", "positive"),
    ("😍😍😍", "positive"),
    ("sooo good lol", "positive"),
    ("not good", "negative"),
    ("The delivery was not good at all", "negative"),
    ("worst order ever 😡", "negative"),
    ("Terrible. Broke after two days!!!", "negative"),
    ("kinda sucks tbh", "negative"),
    ("The parcel arrived on Tuesday.", "neutral"),
    ("What are your opening hours?", "neutral"),
]


@pytest.mark.parametrize(("text", "label"), LABELS)
def test_sentiment_labels_clear_texts(text: str, label: str):
    result = sentiment(pl.Series([text]))
    assert result.columns == ["compound", "label"]
    assert result.row(0, named=True)["label"] == label


def test_sentiment_reads_negation_and_emphasis():
    scores = sentiment(pl.Series(["good", "not good", "GOOD!!!", "not bad"]))["compound"]
    good, not_good, loud, not_bad = scores.to_list()
    assert not_good < 0 < good < loud
    assert not_bad > 0


def test_sentiment_of_null_and_blank_is_null_and_rows_keep_their_order():
    texts = pl.Series("comment", [None, "love it", "", "   \n", "hate it", "love it"])
    result = sentiment(texts)
    assert result.height == 6
    assert result["label"].to_list() == [None, "positive", None, None, "negative", "positive"]
    assert result["compound"].null_count() == 3
    assert result["compound"][1] == result["compound"][5]
    assert sentiment(pl.Series([], dtype=pl.String)).shape == (0, 2)
    assert sentiment(pl.Series([None, None])).schema == {"compound": pl.Float64,
                                                         "label": pl.String}  # fmt: skip


def test_sentiment_labels_follow_vaders_thresholds():
    result = sentiment(pl.Series(["ok", "meh", "The parcel arrived.", "great", "awful"]))
    for compound, label in result.iter_rows():
        expected = ("positive" if compound >= 0.05
                    else "negative" if compound <= -0.05 else "neutral")  # fmt: skip
        assert label == expected


@given(st.lists(st.one_of(st.none(), st.text(), st.text(alphabet="😍😡🔥!? abcNOTgood#"))))
def test_sentiment_never_fails_and_stays_in_range(texts: list[str | None]):
    result = sentiment(pl.Series(texts, dtype=pl.String))
    assert result.height == len(texts)
    for text, (compound, label) in zip(texts, result.iter_rows(), strict=True):
        assert (compound is None) == (label is None)
        if compound is not None:
            assert -1.0 <= compound <= 1.0
        if text is None or text == "":
            assert compound is None
        elif any(c.isalnum() for c in text):
            assert compound is not None


def test_vader_needs_no_network_and_no_download():
    """Its lexicons are in its wheel; `requests` (its one requirement) is only for its demo."""
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network refused in this test')\n"
        "socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse\n"
        "from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer\n"
        "print(SentimentIntensityAnalyzer().polarity_scores('not good 😡')['compound'])\n"
        "assert 'requests' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert float(done.stdout) < -0.05


def test_keywords_name_what_a_text_is_about():
    texts = pl.Series([
        "Delivery delays again! My delivery is two weeks late, where is my parcel?",
        "Love the colour of the new summer dress",
        "The app keeps crashing when I log in",
        "Is the store open on Sunday?",
    ])
    found = keywords(texts, top=3)
    assert len(found) == 4 and all(len(words) <= 3 for words in found)
    assert found[0][0] == "delivery"
    assert {"colour", "summer", "dress"} & set(found[1])
    assert {"app", "crashing"} & set(found[2])
    assert not set().union(*found) & STOP_WORDS


def test_keywords_skip_links_mentions_numbers_emojis_and_contractions():
    text = ("@shopsupport I'm still waiting 😡 https://track.example.com/12345 order 98765, "
            "don't tell me it's shipped #refund")  # fmt: skip
    found = keywords(pl.Series([text]), top=10)[0]
    assert set(found) == {"waiting", "order", "tell", "shipped", "refund"}


def test_keywords_of_null_blank_and_stop_words_only_are_empty():
    assert keywords(pl.Series([None, "", "and the of it"]), top=5) == [[], [], []]
    assert keywords(pl.Series([None, "the refund"]), top=5) == [[], ["refund"]]
    assert keywords(pl.Series([], dtype=pl.String)) == []


def test_keywords_of_one_text_rank_by_count_then_alphabet():
    found = keywords(pl.Series(["zip broken, zip stuck, strap fine"]), top=3)
    assert found == [["zip", "broken", "fine"]]


def test_group_keywords_tell_two_groups_apart():
    shipping = ["delivery late again", "my parcel is late", "delivery took three weeks",
                "parcel lost, delivery failed", "late delivery and no tracking"]  # fmt: skip
    style = ["love the colour", "the fit is perfect", "colour faded after washing",
             "great fit and colour", "fit runs small"]  # fmt: skip
    frame = pl.DataFrame({
        "persona": ["Impatient"] * 5 + ["Stylish"] * 5 + ["Both"] * 2,
        "comment": shipping + style + ["delivery and colour", "delivery of the colour I chose"],
    })
    found = group_keywords(frame, "comment", "persona", top=3)
    assert found.columns == ["persona", "keyword", "score", "documents"]
    top = {g: rows["keyword"].to_list() for (g,), rows in found.group_by("persona")}
    assert {"delivery", "late"} <= set(top["Impatient"])
    assert top["Stylish"][0] == "fit" and "colour" in top["Stylish"]
    assert not set(top["Impatient"]) & set(top["Stylish"])
    # "late" (3 of Impatient's 5 texts, nowhere else) outranks "delivery" (4 of 5, but the
    # Both group uses it too): a group's words rank by how much they are its own.
    impatient = found.filter(pl.col("persona") == "Impatient")
    assert impatient["keyword"][0] == "late"
    assert impatient.filter(pl.col("keyword") == "delivery")["documents"].item() == 4
    for (_,), rows in found.group_by("persona"):
        assert rows["score"].is_sorted(descending=True)


def test_group_keywords_need_min_documents_and_count_texts_not_repeats():
    frame = pl.DataFrame({
        "group": ["a", "a", "a", "b", "b"],
        "text": ["refund refund refund refund", "price", "price too high",
                 "size guide", "size chart"],
    })
    found = group_keywords(frame, "text", "group")
    assert found.select("group", "keyword", "documents").rows() == [
        ("a", "price", 2), ("b", "size", 2)]
    loose = group_keywords(frame, "text", "group", min_documents=1)
    a = loose.filter(pl.col("group") == "a")["keyword"].to_list()
    assert a[0] == "price" and "refund" in a  # four repeats in one text are one text


def test_group_keywords_keep_null_groups_and_return_empty_when_no_words():
    frame = pl.DataFrame({"g": [None, None, 1, 1], "t": ["refund", "refund", "size", "size"]})
    found = group_keywords(frame, "t", "g")
    assert found.rows() == [(1, "size", pytest.approx(0.6931, abs=1e-4), 2),
                            (None, "refund", pytest.approx(0.6931, abs=1e-4), 2)]  # fmt: skip
    nothing = group_keywords(frame.with_columns(t=pl.lit("the and")), "t", "g")
    assert nothing.is_empty() and nothing.schema["g"] == pl.Int64


def test_hashtags_are_lowercased_unicode_and_stop_at_punctuation():
    texts = pl.Series("post", [
        "Loving the #Café vibes! #BlackFriday_2024, #SALE #sale.",
        "#चाय time ＃Tokyo #日本語 #mañana?",
        "#1 in town #2024 #summer2024",
        "no tags here, it's 5# or page#top or &#39; https://x.example/a#b @shop",
        "#love😍#emoji_ends_a_word #one#two",
        None,
        "",
    ])
    assert hashtags(texts).to_list() == [
        ["café", "blackfriday_2024", "sale"],
        ["चाय", "tokyo", "日本語", "mañana"],
        ["summer2024"],
        [],
        ["love", "emoji_ends_a_word", "one"],
        None,
        [],
    ]
    assert hashtags(texts).name == "post"
