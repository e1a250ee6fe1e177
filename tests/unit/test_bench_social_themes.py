"""bench.social_themes: each hidden persona's favourite theme against the theme its matched
persona ranks first."""

from __future__ import annotations

import polars as pl

from bench.social_themes import compare


def test_a_persona_is_found_when_its_match_ranks_its_favourite_first() -> None:
    matches = pl.DataFrame({"hidden": ["bargain", "office", "lonely"],
                            "persona_id": [1, 2, None], "found": ["Budget", "Office", None]},
                           schema={"hidden": pl.String, "persona_id": pl.Int64,
                                   "found": pl.String})  # fmt: skip
    themes = pl.DataFrame({
        "persona_id": [1, 1, 2, 2], "theme": ["sale", "how_to", "sale", "how_to"],
        "engagers": [10, 10, 5, 5], "opportunities": [100, 100, 50, 50],
        "engagements": [9, 2, 3, 1], "rate": [0.09, 0.02, 0.06, 0.02],
        "rate_index": [1.6, 0.4, 1.5, 0.5], "rank": [1, 2, 1, 2]})  # fmt: skip
    truth = pl.DataFrame({"persona": ["bargain", "bargain", "office", "lonely"],
                          "theme": ["sale", "how_to", "how_to", "sale"],
                          "is_favourite": [True, False, True, True]})  # fmt: skip
    table = compare(matches, themes, truth)
    rows = {r["hidden"]: r for r in table.iter_rows(named=True)}
    assert rows["bargain"]["found_it"] and rows["bargain"]["favourite_rank"] == 1
    assert rows["bargain"]["engagements"] == 9
    # The office persona's match ranks how_to second: not found, and the rank says so.
    assert not rows["office"]["found_it"] and rows["office"]["favourite_rank"] == 2
    # A hidden persona no found persona matched is not found either.
    assert rows["lonely"]["found_it"] is None and rows["lonely"]["found_theme"] is None
