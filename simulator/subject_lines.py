"""How a subject line's wording moves its open rate, and the personalised sends of the email
program.

Before this, a subject's only effect was the hidden appeal of an A/B test's B variant (a
random draw), so no feature of the text could explain any open rate. The effect below follows
what published studies of subject lines report on general grounds, not a rule made to be
found; each factor is small beside the person's own open rate:
- length: inboxes cut a subject after about 40-60 characters on phones, so what follows is
  unread; every character past 40 costs a little (0.8% each);
- personalisation: a first-name merge tag lifts opens (Experian's and Mailchimp's reports of
  personalised subjects, +10-25%; here +14%);
- a question: a small lift (+4%);
- urgency (last chance, ends, tonight, now, today, hours): a small lift (+7%);
- a concrete offer (a percentage or "off"): +6%;
- shouting (an exclamation mark, or a word in capitals): spam-like, -10%.

Some newsletter sends are personalised with the merge tag: per A/B group (both variants alike,
so a test still compares its own wording), a draw from a generator of its own, so no other
draw of the world changes. Written to truth as `subject_lines.parquet`.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from simulator.defects import stable_key

FIRST_NAME_TAG = "*|FNAME|*"
PERSONALISED_SHARE = 0.3  # share of newsletter groups sent with the first-name tag
LENGTH_FREE = 40  # characters read on a phone before the cut
PER_CHAR = 0.008
EFFECTS: dict[str, float] = {
    "personalised": 0.14, "question": 0.04, "urgency": 0.07, "offer": 0.06, "shouting": -0.10,
}  # fmt: skip
_URGENCY = re.compile(r"\b(last chance|ends?|tonight|now|today|hours?|final|hurry)\b", re.I)
_OFFER = re.compile(r"\d+\s*%|\boff\b", re.I)
_SHOUT = re.compile(r"!|\b[A-Z]{3,}\b")


def traits(subject: str) -> dict[str, bool | int]:
    """The features of `subject` the open rate responds to."""
    return {
        "length": len(subject), "personalised": FIRST_NAME_TAG in subject,
        "question": subject.rstrip().endswith("?"), "urgency": bool(_URGENCY.search(subject)),
        "offer": bool(_OFFER.search(subject)),
        "shouting": bool(_SHOUT.search(subject.replace(FIRST_NAME_TAG, ""))),
    }  # fmt: skip


def text_effect(subject: str) -> float:
    """The open-rate multiplier of `subject`'s wording."""
    t = traits(subject)
    log_effect = -PER_CHAR * max(0, int(t["length"]) - LENGTH_FREE)
    log_effect += sum(v for k, v in EFFECTS.items() if t[k])
    return float(np.exp(log_effect))


def personalise(seed: int, campaigns: pl.DataFrame) -> pl.DataFrame:
    """`campaigns` with some newsletter groups' subjects prefixed by the first-name tag
    (promotions and win-backs keep theirs) and `appeal` multiplied by each subject's text
    effect (`text_effect`)."""
    groups = campaigns["ab_group"].unique().sort().to_numpy()
    rng = np.random.default_rng(stable_key(seed, "subject_lines"))
    tagged = set(groups[rng.random(len(groups)) < PERSONALISED_SHARE].tolist())
    newsletter = pl.col("title").str.contains(r" - [A-Z][a-z]{2} \d{4}$") & ~pl.col("lapsed_only")
    frame = campaigns.with_columns(
        subject_line=pl.when(newsletter & pl.col("ab_group").is_in(list(tagged)))
        .then(pl.lit(f"{FIRST_NAME_TAG}, ") + pl.col("subject_line").str.slice(0, 1)
              .str.to_lowercase() + pl.col("subject_line").str.slice(1))
        .otherwise(pl.col("subject_line")))
    effect = pl.Series([text_effect(s) for s in frame["subject_line"]], dtype=pl.Float64)
    return frame.with_columns(appeal=pl.col("appeal") * effect)


def truth(campaigns: pl.DataFrame) -> pl.DataFrame:
    """Per email-program send: camp_idx, campaign_id, subject_line, variant, text_effect (the
    wording's open-rate multiplier) and appeal (all of the send's hidden multiplier)."""
    rows = campaigns.filter(pl.col("ab_group") >= 0)
    rows = rows.with_columns(text_effect=pl.Series(
        [text_effect(s) for s in rows["subject_line"]], dtype=pl.Float64))
    return rows.select("camp_idx", "campaign_id", "subject_line", "variant", "text_effect",
                       "appeal").sort("camp_idx")
