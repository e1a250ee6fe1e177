"""Keywords of each text and of each group of texts, and hashtags, by TF-IDF on scikit-learn.

Why not YAKE, which the issue suggested: its wheel (yake 0.7.3) ships the GNU AGPL v3 as its
licence (its metadata says LGPLv3 and GPLv3 besides), which an Apache-2.0 product cannot take
as a runtime dependency, and it brings six more packages (segtok, jellyfish, networkx, tabulate,
click). TF-IDF is in scikit-learn, a dependency already, needs no model or corpus, and is easy
to explain: a text's keywords are its words that the other texts use least.

- `keywords`: each text's words ranked by TF-IDF against the batch it came in (a batch of one
  text ranks by how often each word occurs in it).
- `group_keywords`: class-based TF-IDF (as in BERTopic's c-TF-IDF), counting texts rather than
  words, so one text repeating a word does not make it a theme: a word's score is the share of
  the group's texts that use it times log(1 + texts in an average group / texts using it
  anywhere). A word every group uses scores low; one only this group uses scores high.
- `hashtags`: the tags as written, lowercased, for counting campaigns and trends.

Words are single words (no phrases), lowercased and not stemmed ("delay" and "delays" count
apart). The stop words are English: scikit-learn's list without the words that are products
or complaints here ("bill", "call", "system"...), plus contractions and chat filler ("lol",
"dont", "pls"). Links, @mentions, numbers and emojis are not words; a hashtag's word is.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    CountVectorizer,
    TfidfVectorizer,
)

# In scikit-learn's list (it was built for other texts) but what customers write about.
_CONTENT = {"bill", "call", "computer", "cry", "detail", "empty", "fill", "fire", "found",
            "front", "full", "interest", "move", "part", "show", "side", "system", "thick",
            "thin", "top"}  # fmt: skip
# Contractions (with and without the apostrophe, as people type them) and chat filler.
_SOCIAL = {
    "aren't", "arent", "can't", "cant", "couldn't", "couldnt", "didn't", "didnt", "doesn't",
    "doesnt", "don't", "dont", "hadn't", "hasn't", "hasnt", "haven't", "havent", "i'd", "i'll",
    "i'm", "im", "i've", "ive", "isn't", "isnt", "shouldn't", "they're", "theyre", "wasn't",
    "wasnt", "we're", "we've", "weren't", "won't", "wont", "wouldn't", "wouldnt", "you're",
    "youre", "you've", "thats", "gonna", "wanna", "gotta", "lol", "lmao", "omg", "pls", "plz",
    "thx", "tbh", "idk", "btw", "ur", "ya", "yeah", "yes", "ok", "okay", "oh", "hey", "hi",
    "hello", "just", "really", "got", "get", "thanks", "thank",
}
STOP_WORDS = frozenset((ENGLISH_STOP_WORDS - _CONTENT) | _SOCIAL)
# A word: a letter, then letters or digits ("ps5"), with one apostrophe part at most ("don't"),
# not starting after an apostrophe (the "ll" of "i'll" is no word).
_WORD = r"(?u)(?<!['\w])[^\W\d_][^\W_]+(?:'[^\W\d_]+)?\b"
_LINK = r"https?://\S+|www\.\S+|\S+@\S+\.\S+|@\w+"
# A tag: # (or fullwidth ＃) not after a letter, digit or & (an HTML entity is &#39;), then
# letters, digits, marks and underscores. Rust's regex \w is Unicode: #café and #चाय are tags.
_TAG = r"(?:^|[^\w&#＃])[#＃]\w+"


def _clean(texts: pl.Series) -> list[str]:
    """Lowercased texts without links and mentions, curly apostrophes made straight and the
    possessive 's dropped ("it's" is "it", "customer's" is "customer"); null is ""."""
    text = (
        texts.cast(pl.String).fill_null("").str.to_lowercase()
        .str.replace_all(_LINK, " ").str.replace_all("[’ʼ]", "'")
        .str.replace_all(r"'s\b", "")
    )
    return text.to_list()


def _vectorizer(kind: type[CountVectorizer], **options: object) -> CountVectorizer:
    return kind(lowercase=False, token_pattern=_WORD, stop_words=sorted(STOP_WORDS),
                dtype=np.float64, **options)  # fmt: skip


def keywords(texts: pl.Series, top: int = 5) -> list[list[str]]:
    """Up to `top` keywords of each text, best first: its words ranked by TF-IDF against the
    batch (the texts passed together), ties alphabetical; [] where a text has no word."""
    docs = _clean(texts)
    vectorizer = _vectorizer(TfidfVectorizer, sublinear_tf=True, norm=None)
    try:
        matrix = vectorizer.fit_transform(docs).tocsr()
    except ValueError:  # no text has a word that is not a stop word
        return [[] for _ in docs]
    terms = vectorizer.get_feature_names_out()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    # Within each row: highest score first, then the alphabetically first term.
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(order.size) - matrix.indptr[rows[order]]
    keep = order[rank < top]
    ends = np.searchsorted(rows[keep], np.arange(1, matrix.shape[0]))
    return [list(words) for words in np.split(terms[matrix.indices[keep]], ends)]


def group_keywords(frame: pl.DataFrame, text_col: str, group_col: str, top: int = 10,
                   *, min_documents: int = 2) -> pl.DataFrame:  # fmt: skip
    """What each group of texts talks about: up to `top` keywords per group with `score`
    (class-based TF-IDF, see the module) and `documents` (how many of the group's texts use
    the word), sorted by group then score. A word needs `min_documents` texts in the group:
    one comment is not a theme. The group column keeps its name; null is a group too."""
    groups = frame.get_column(group_col)
    names = groups.unique(maintain_order=True)
    codes = groups.to_frame().join(  # each text's group as a row number of `names`
        names.to_frame().with_row_index("code"),
        on=group_col, how="left", nulls_equal=True, maintain_order="left",
    ).get_column("code").to_numpy()  # fmt: skip
    vectorizer = _vectorizer(CountVectorizer, binary=True)
    empty = pl.DataFrame(schema={group_col: groups.dtype, "keyword": pl.String,
                                 "score": pl.Float64, "documents": pl.UInt32})  # fmt: skip
    try:
        words = vectorizer.fit_transform(_clean(frame.get_column(text_col)))
    except ValueError:
        return empty
    membership = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(names), len(codes))
    )
    documents = (membership @ words).tocoo()  # groups x words: texts of the group using it
    group_size = np.bincount(codes, minlength=len(names)).astype(np.float64)
    using = np.asarray(words.sum(axis=0)).ravel()  # texts using the word, any group
    idf = np.log1p(group_size.mean() / using)
    score = documents.data / group_size[documents.row] * idf[documents.col]
    terms = vectorizer.get_feature_names_out()
    found = pl.DataFrame({
        "code": documents.row.astype(np.uint32), "keyword": terms[documents.col],
        "score": score, "documents": documents.data.astype(np.uint32),
    }).filter(pl.col("documents") >= min_documents)
    if found.is_empty():
        return empty
    return (
        found.sort(["code", "score", "keyword"], descending=[False, True, False])
        .group_by("code", maintain_order=True).head(top)
        .join(names.to_frame().with_row_index("code"), on="code", how="left")
        .sort(group_col, "score", "keyword", descending=[False, True, False], nulls_last=True,
              maintain_order=True)
        .select(group_col, "keyword", "score", "documents")
    )


def hashtags(texts: pl.Series) -> pl.Series:
    """The hashtags of each text, lowercased without the #, each once, in the order written;
    a tag needs a letter (#1 is not one) and links are skipped (page#section). Null stays null.
    """
    text = texts.cast(pl.String).str.replace_all(_LINK, " ")
    tag = pl.element().str.replace(r"^[^#＃]*[#＃]", "").str.to_lowercase()
    return (
        text.str.extract_all(_TAG)
        .list.eval(tag.filter(tag.str.contains(r"[^\W\d_]")).unique(maintain_order=True))
        .rename(texts.name or "hashtags")
    )
