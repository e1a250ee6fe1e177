"""The content generator and checks on a real shop's catalogue (Online Retail II, a UK gift
retailer): product names in capitals, with sizes and counts ("SET OF 6", "15CM"), none of
which the simulated shop has. Every persona and format still gets checked lines, a product's
own numbers are not taken for prices, and every kept line passes the checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.content.brand import load_brand
from pipelines.content.checks import Checker, load_settings
from pipelines.content.generate import PersonaContext, load_templates
from pipelines.content.lines import best_offer, build
from pipelines.content.names import FORMATS, GOALS

pytestmark = [pytest.mark.real]

BRAND = """
name: Giftwell
url: https://giftwell.example/
voice: {adjectives: [cheerful, practical]}
words_to_use: [gift, handmade, party]
words_to_avoid: [cheap, guaranteed]
claims: [Dispatched within 2 working days]
offers:
  - {code: PARTY15, description: 15% off party supplies, terms: Orders over 30 GBP.,
     discount_percent: 15, valid_from: 2009-01-01, valid_to: 2011-12-31}
ctas: [Shop now, See the range]
"""


def test_a_real_catalogue_gets_checked_lines_for_every_format(real_data: Path, tmp_path):
    lines = pl.read_parquet(real_data / "online_retail_ii" / "online_retail_II_2009_2010.parquet")
    top = (lines.filter(pl.col("Quantity") > 0, pl.col("Description").is_not_null())
           .group_by("Description").agg(pl.col("Quantity").sum())
           .sort(["Quantity", "Description"], descending=[True, False])
           .head(18)["Description"].to_list())
    brand_file = tmp_path / "brand.yml"
    brand_file.write_text(BRAND)
    brand = load_brand(brand_file)
    settings = load_settings()
    day = dt.date(2010, 12, 1)
    contexts = {
        f"persona {i}": {goal: PersonaContext(f"persona {i}", ["Gifts"], top[3 * i:3 * i + 3],
                                              "", best_offer(brand, day, ["Gifts"], goal))
                         for goal in GOALS}
        for i in range(6)
    }
    checker = Checker(brand, settings, allowed_text=tuple(top))
    result = build(brand, settings, load_templates(), checker, contexts, {}, day)
    per = result.lines.group_by("persona", "format").len()
    assert per.height == 6 * len(FORMATS)
    for row in result.lines.iter_rows(named=True):
        assert checker.reason(row["text"], row["format"]) is None
    # The catalogue's numbers (15CM, 12 PENCILS) are product names, not prices.
    assert "price not in brand.yml" not in result.dropped
    with_numbers = [p for p in top if any(c.isdigit() for c in p)]
    assert with_numbers and result.lines.filter(
        pl.col("text").str.contains(with_numbers[0], literal=True)).height > 0
