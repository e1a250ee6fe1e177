"""What customers say in social media comments, direct messages and survey free-text answers.

`sentiment` scores each text with VADER (a lexicon and rules built for social media: emojis,
slang, negation, capitals and "!!!"); `keywords` names what each text is about and
`group_keywords` what a group of texts (a persona's, a campaign's) talks about, both by TF-IDF
on scikit-learn; `hashtags` lists the tags a text carries. All take Polars columns, treat a
null or blank text as saying nothing, and need no model download or network. English only: the
lexicon and the stop words are English (other languages score neutral and keep their stop words).
"""

from pipelines.text.keywords import group_keywords, hashtags, keywords
from pipelines.text.sentiment import sentiment

__all__ = ["group_keywords", "hashtags", "keywords", "sentiment"]
