"""The recommendations on real shops, each person's last order held out (evaluate.py).

Online Retail II (a UK gift wholesaler, 2009-12 to 2010-12), one customer in two by id: the
model's hit rate at 10 beats the shop's ten most bought products by a fifth (by a quarter
on every customer), its NDCG by more than half. Olist's sample is mostly one-order buyers:
too few people have a last order to hold out to judge anything, and the evaluation says how
few.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench import recommendations
from pipelines.personalize import evaluate

pytestmark = [pytest.mark.real]


def test_online_retail_model_beats_popularity(real_data: Path):
    lines, customers = recommendations.online_retail()
    half = customers.filter(pl.col("customer_key").hash(seed=1) % 2 == 0)
    lines = lines.filter(pl.col("customer_key").is_in(half.get_column("customer_key").implode()))
    figures = evaluate.evaluate(lines, recommendations.NO_EVENTS, half,
                                ("model", "context_free", "popularity"))
    assert figures["people"] > 1000
    model, rival = figures["model"], figures["popularity"]
    # Measured on this half: hit rate 0.549 against 0.453, NDCG 0.17 against 0.09.
    assert model["hit_rate"] >= 1.1 * rival["hit_rate"]
    assert model["ndcg"] >= 1.5 * rival["ndcg"]
    assert 0 < figures["winter_people"] < figures["people"]


def test_olist_has_almost_nobody_to_hold_out(real_data: Path):
    lines, customers = recommendations.olist()
    figures = evaluate.evaluate(lines, recommendations.NO_EVENTS, customers, ("popularity",))
    repeaters = (lines.select("customer_key", "order_id").unique()
                 .group_by("customer_key").len().filter(pl.col("len") >= 2).height)
    assert figures["people"] == repeaters < 20
