"""The RFM segments as personas, for a shop whose data shows no persona structure.

When no number of personas is both stable under resampling and separated (see `select.py`),
a model's personas would be redrawn by the next sample of the same customers: inventing them
helps no marketer. The shop still gets one persona per customer, cards and exports, from the
segments it already has (`marts.customer_rfm`, recency and frequency-and-value scores),
which say plainly what defines them.
"""

from __future__ import annotations

import polars as pl

# rfm_segment -> (persona name, what defines it), as marts.customer_rfm assigns them
# (R: recency score, FM: frequency and value score, each 1-5 among buyers, 5 the best).
RFM_PERSONAS: dict[str, tuple[str, str]] = {
    "champions": ("Champions", "bought recently and often or for much (R 4-5, FM 4-5)"),
    "loyal": ("Loyal customers", "buy regularly and for a fair amount (R 3+, FM 3+)"),
    "potential_loyalists": ("Potential loyalists", "recent, with a few orders (R 4-5, FM 2-3)"),
    "new": ("New customers", "first bought lately, once and for little (R 5, FM 1)"),
    "promising": ("Promising newcomers", "bought fairly lately, once and for little (R 4, FM 1)"),
    "need_attention": ("Need attention", "middling recency, below-average orders (R 3, FM 2)"),
    "about_to_sleep": ("About to sleep", "middling recency, one small order (R 3, FM 1)"),
    "cannot_lose_them": ("Cannot lose them", "bought most and for most, not lately (R 1-2, FM 5)"),
    "at_risk": ("At risk", "bought often or for much, long ago (R 1-2, FM 3-4)"),
    "hibernating": ("Hibernating", "last bought long ago, few orders (R 2, FM 1-2)"),
    "lost": ("Lost", "last bought longest ago, few orders and little spend (R 1, FM 1-2)"),
}
UNSEGMENTED = "unsegmented"


def rfm_groups(features: pl.DataFrame, rfm: pl.DataFrame) -> tuple[list[int], dict[int, str]]:
    """Each customer's RFM segment as a group number (in the order of `features`) and the
    segment of each group; customers without one are in their own group. Raises ValueError
    naming a segment this module does not know."""
    segments = (
        features.select("customer_key")
        .join(rfm.select("customer_key", "rfm_segment"), on="customer_key", how="left")
        .get_column("rfm_segment")
        .fill_null(UNSEGMENTED)
    )
    unknown = sorted(set(segments.unique().to_list()) - set(RFM_PERSONAS) - {UNSEGMENTED})
    if unknown:
        raise ValueError(f"personas: marts.customer_rfm has unknown rfm_segment {unknown}")
    order = [s for s in (*RFM_PERSONAS, UNSEGMENTED) if s in set(segments.to_list())]
    code = {s: i for i, s in enumerate(order)}
    return [code[s] for s in segments.to_list()], dict(enumerate(order))


def name(segment: str) -> str:
    return RFM_PERSONAS[segment][0] if segment in RFM_PERSONAS else "Not yet segmented"


def definition(segment: str) -> str:
    return RFM_PERSONAS[segment][1] if segment in RFM_PERSONAS else "no RFM scores yet"
