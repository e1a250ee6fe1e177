"""Recommendations on hand-made histories: catalogue filter, replenishment, fallbacks,
context, ranks, and the evaluation's maths."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.personalize import context, history
from pipelines.personalize.evaluate import holdout, ndcg_at_k, scores
from pipelines.personalize.recommend import Inputs, recommend

AS_OF = date(2026, 7, 1)
PRODUCTS = {f"P{i:02d}": ("Beans" if i < 5 else "Gear") for i in range(10)}


def lines_of(rows: list[tuple[str, str, date]], price: float = 10.0) -> pl.DataFrame:
    """Order lines, one order per (customer, day)."""
    return pl.DataFrame(
        {"customer_key": [r[0] for r in rows], "product_id": [r[1] for r in rows],
         "product_name": [f"Name {r[1]}" for r in rows],
         "category": [PRODUCTS.get(r[1], "Other") for r in rows],
         "order_id": [f"{r[0]}-{r[2]}" for r in rows], "order_date": [r[2] for r in rows],
         "quantity": [1.0] * len(rows), "unit_price": [price] * len(rows)},
        schema_overrides={"order_date": pl.Date})


NO_EVENTS = pl.DataFrame(schema={"customer_key": pl.String, "product_id": pl.String,
                                 "event_date": pl.Date, "event_name": pl.String})


def customers_of(keys: list[str], persona: str | None = None, country: str = "US",
                 as_of: date = AS_OF) -> pl.DataFrame:
    return pl.DataFrame({"customer_key": keys, "country_code": [country] * len(keys),
                         "region_code": [None] * len(keys), "persona_name": [persona] * len(keys),
                         "as_of": [as_of] * len(keys)},
                        schema_overrides={"region_code": pl.String, "persona_name": pl.String})


def pairs_world() -> list[tuple[str, str, date]]:
    """Twenty people buy P00 with P01; ten buy P02 and P03 together; P09 sells widely."""
    day = date(2026, 5, 1)
    rows = []
    for i in range(20):
        rows += [(f"a{i}", "P00", day), (f"a{i}", "P01", day)]
    for i in range(10):
        rows += [(f"b{i}", "P02", day), (f"b{i}", "P03", day)]
    for i in range(30):
        rows.append((f"c{i}", "P09", day + timedelta(days=i % 20)))
    return rows


def test_bought_with_what_the_person_bought_and_never_the_same_durable_product():
    lines = lines_of([*pairs_world(), ("me", "P00", date(2026, 6, 1))])
    recs = recommend(Inputs(customers_of(["me"]), lines, NO_EVENTS, AS_OF))
    first = recs.row(0, named=True)
    assert first["product_id"] == "P01" and first["source"] == "model"
    assert first["reason"] == "bought with Name P00"
    # P00 has no repeat purchases: bought once, never shown again.
    assert "P00" not in recs.get_column("product_id").to_list()


def test_a_product_out_of_the_catalogue_is_never_recommended():
    # P01 last sold at a price over a year ago, P03 only ever at no price (a free sample).
    old = date(2025, 1, 1)
    rows = [(f"a{i}", "P00", old) for i in range(20)] + [(f"a{i}", "P01", old) for i in range(20)]
    rows += [(f"a{i}", "P00", date(2026, 6, 1)) for i in range(5)]
    lines = pl.concat([lines_of(rows), lines_of([("z", "P03", date(2026, 6, 1))], price=0.0),
                       lines_of([("y", "P04", date(2026, 6, 2))])])
    customers = customers_of(["me", "a1", "nobody"])
    recs = recommend(Inputs(customers, lines.filter(pl.col("customer_key") != "me"), NO_EVENTS,
                            AS_OF))
    shown = set(recs.get_column("product_id").to_list())
    assert "P01" not in shown and "P03" not in shown
    assert shown <= set(history.catalogue(lines, AS_OF).get_column("product_id").to_list())


def test_a_replenished_product_comes_back_when_due_and_not_before():
    # Twelve people rebuy P00 every 30 days: it is replenished, due 30 days after a purchase.
    rows = [(f"r{i}", "P00", date(2026, 1, 1) + timedelta(days=30 * j))
            for i in range(12) for j in range(4)]
    assert history.intervals(lines_of(rows), AS_OF).row(0) == ("P00", 30)
    due = [*rows, ("due", "P00", AS_OF - timedelta(days=35)),
           ("fresh", "P00", AS_OF - timedelta(days=10))]
    recs = recommend(Inputs(customers_of(["due", "fresh"]), lines_of(due), NO_EVENTS, AS_OF))
    mine = recs.filter(pl.col("customer_key") == "due").row(0, named=True)
    assert (mine["product_id"], mine["reason"]) == ("P00", "time to restock (every 30 days)")
    assert mine["score"] >= 1
    assert "P00" not in recs.filter(pl.col("customer_key") == "fresh")["product_id"].to_list()


def test_people_without_history_get_their_persona_then_the_shop_popular_products():
    day = date(2026, 6, 1)
    rows = [(f"g{i}", "P07", day) for i in range(40)] + [(f"p{i}", "P09", day) for i in range(60)]
    lines = lines_of(rows)
    people = pl.concat([
        customers_of([f"g{i}" for i in range(40)], persona="gift_givers"),
        customers_of(["new_gifter"], persona="gift_givers"),
        customers_of([f"p{i}" for i in range(60)] + ["stranger"])])
    recs = recommend(Inputs(people, lines, NO_EVENTS, AS_OF))
    gifter = recs.filter(pl.col("customer_key") == "new_gifter").row(0, named=True)
    assert (gifter["product_id"], gifter["source"]) == ("P07", "persona")
    assert gifter["reason"] == "popular with gift givers this month"
    stranger = recs.filter(pl.col("customer_key") == "stranger").row(0, named=True)
    assert (stranger["product_id"], stranger["source"]) == ("P09", "popular")


def test_place_and_month_shift_what_is_shown():
    # Over two years, P05 sells in the south's July and P06 in the north's July.
    rows = []
    for year in (2024, 2025):
        for i in range(40):
            rows.append((f"n{i}", "P06", date(year, 7, 10)))
            rows.append((f"s{i}", "P05", date(year, 7, 10)))
            rows.append((f"n{i}", "P05", date(year, 1, 10)))
            rows.append((f"s{i}", "P06", date(year, 1, 10)))
    lines = lines_of(rows)
    people = pl.concat([customers_of([f"n{i}" for i in range(40)], country="US"),
                        customers_of([f"s{i}" for i in range(40)], country="BR"),
                        customers_of(["new_north"], country="US"),
                        customers_of(["new_south"], country="BR")])
    by_country, _ = context.lifts(
        lines.select("customer_key", "product_id", pl.col("order_date").alias("on")),
        people, ["P05", "P06"])
    # P05 sells more in the BR July than over the year, less in the US July.
    assert by_country["BR"][6, 0] > 1.2 and by_country["US"][6, 0] < 0.8
    recs = recommend(Inputs(people, lines, NO_EVENTS, date(2025, 7, 15)))
    top = dict(recs.filter(pl.col("rank") == 1).select("customer_key", "product_id").iter_rows())
    assert (top["new_north"], top["new_south"]) == ("P06", "P05")
    flat = recommend(Inputs(people, lines, NO_EVENTS, date(2025, 7, 15)), use_context=False)
    flat_top = dict(flat.filter(pl.col("rank") == 1).select("customer_key", "product_id")
                    .iter_rows())
    assert flat_top["new_north"] == flat_top["new_south"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 12), st.integers(0, 300)),
                min_size=1, max_size=60),
       st.integers(1, 10))
def test_every_row_is_a_catalogue_product_with_unique_ranks(purchases, k):
    rows = [(f"c{c}", f"P{p:02d}", AS_OF - timedelta(days=1 + d)) for c, p, d in purchases]
    lines = lines_of(rows)
    people = customers_of([f"c{c}" for c in range(9)])
    recs = recommend(Inputs(people, lines, NO_EVENTS, AS_OF), k=k)
    sellable = set(history.catalogue(lines, AS_OF).get_column("product_id").to_list())
    assert set(recs.get_column("product_id").to_list()) <= sellable
    for _, group in recs.group_by("customer_key"):
        ranks = sorted(group.get_column("rank").to_list())
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= k
        assert group.get_column("product_id").n_unique() == group.height
        assert group.sort("rank").get_column("score").is_sorted(descending=True)


def test_ndcg_on_a_hand_computed_case():
    # Hits at ranks 2 and 4 of three relevant items: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3
    # + 1/2).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(["x", "a", "y", "b"], {"a", "b", "c"}) == pytest.approx(expected)
    assert ndcg_at_k(["a"], {"a"}) == 1.0
    assert ndcg_at_k(["x", "y"], {"a"}) == 0.0


def test_holdout_keeps_the_last_order_out_of_training_and_scores_winter():
    lines = lines_of([("u", "P00", date(2026, 1, 5)), ("u", "P01", date(2026, 1, 20)),
                      ("v", "P00", date(2026, 7, 5)), ("v", "P02", date(2026, 7, 20)),
                      ("w", "P03", date(2026, 3, 1))])
    people = pl.concat([customers_of(["u", "w"], country="US"), customers_of(["v"], country="BR")])
    train, _, test = holdout(lines, NO_EVENTS, people.drop("as_of"))
    assert sorted(train.get_column("product_id").to_list()) == ["P00", "P00", "P03"]
    assert sorted(test.get_column("customer_key").to_list()) == ["u", "v"]
    recs = pl.DataFrame({"customer_key": ["u", "u", "v"], "rank": [1, 2, 1],
                         "product_id": ["P09", "P01", "P09"]})
    per = scores(recs, test).sort("customer_key")
    assert per.get_column("hit").to_list() == [1.0, 0.0]
    assert per.get_column("ndcg")[0] == pytest.approx(1 / math.log2(3))
    assert per.get_column("winter").to_list() == [True, True]  # January north, July south


def test_a_shop_without_product_lines_recommends_nothing():
    empty = lines_of(pairs_world()).clear()
    recs = recommend(Inputs(customers_of(["a"]), empty, NO_EVENTS, AS_OF))
    assert recs.is_empty() and recs.columns == ["customer_key", "rank", "product_id", "score",
                                                "source", "reason"]


def test_views_alone_make_a_profile():
    lines = lines_of(pairs_world())
    viewed = pl.DataFrame({"customer_key": ["v"], "product_id": ["P02"],
                           "event_date": [date(2026, 6, 20)], "event_name": ["view_item"]})
    recs = recommend(Inputs(customers_of(["v"]), lines, viewed, AS_OF))
    first = recs.row(0, named=True)
    assert (first["product_id"], first["reason"]) == ("P03", "bought with Name P02")
