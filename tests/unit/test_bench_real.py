"""bench/real.py: the truth after a cutoff and the rivals are computed from the file alone."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from bench.real import evaluate, purchases, rivals_and_truth

CUTOFF = date(2010, 9, 9)


def test_purchases_from_a_generic_file_net_returns_and_drop_cancelled(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,order_date,customer_id,quantity,unit_price,status\n"
        "1,2010-09-01 10:00:00,a,2,5.00,\n"
        "1,2010-09-01 10:00:00,a,-1,5.00,\n"      # a return inside the order
        "C2,2010-09-02 10:00:00,a,-3,1.00,\n"     # a credit note
        "3,2010-09-03 10:00:00,,1,9.99,\n"        # a guest: no customer
        "4,2010-09-04 10:00:00,b,1,7.00,canceled\n"
    )
    frame = purchases(path, cancelled=("canceled",)).sort("order_id")
    assert frame.select("customer_id", "order_id", "value", "is_purchase").rows() == [
        ("a", "1", 5.0, True), ("a", "C2", -3.0, False)]


def _orders(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_id": pl.String,
                                      "day": pl.Date, "value": pl.Float64,
                                      "is_purchase": pl.Boolean}, orient="row")


def test_rivals_and_truth_around_the_cutoff():
    orders = _orders([
        ("a", "1", date(2010, 1, 10), 100.0, True),
        ("a", "2", date(2010, 9, 1), 40.0, True),
        ("a", "3", date(2010, 10, 1), 30.0, True),     # after: a stays
        ("b", "4", date(2010, 3, 1), 20.0, True),      # b buys once, leaves
        ("c", "5", date(2010, 8, 1), 10.0, True),
        ("c", "6", date(2010, 8, 1), 15.0, True),      # two orders, one purchase day
        ("c", "7", date(2010, 10, 5), -5.0, False),    # a credit note after the cutoff
    ])
    frame = rivals_and_truth(orders, CUTOFF, horizon=90).sort("customer_id")
    assert frame.select("customer_id", "recency", "purchase_days", "spend_90",
                        "future_value", "future_purchases").rows() == [
        ("a", 8, 2, 40.0, 30.0, 1), ("b", 192, 1, 0.0, 0.0, 0), ("c", 39, 1, 25.0, -5.0, 0)]
    scores = pl.DataFrame({
        "customer_id": ["a", "b", "c", "a", "b", "c"],
        "model": ["churn"] * 3 + ["ltv"] * 3,
        "score": [0.1, 0.9, 0.8, 30.0, 0.0, 1.0], "version": ["m"] * 6})
    quality = evaluate(frame, scores, CUTOFF)
    assert quality["churn"]["churned"] == 2 and quality["value"]["buyers_after"] == 1
    assert quality["churn"]["published"] is None  # fewer than 10 customers: not measured


def test_evaluate_measures_a_perfect_ranking_as_one():
    rows = [(f"k{i}", "o", date(2010, 6, 1), 10.0 + i, True) for i in range(20)]
    rows += [(f"k{i}", "p", date(2010, 10, 1), 1.0 * i, True) for i in range(0, 20, 2)]
    frame = rivals_and_truth(_orders(rows), CUTOFF, horizon=90)
    churned = frame.get_column("future_purchases").eq(0).cast(pl.Float64)
    scores = pl.concat([
        frame.select("customer_id", model=pl.lit("churn"), score=churned, version=pl.lit("m")),
        frame.select("customer_id", model=pl.lit("ltv"),
                     score=pl.col("future_value"), version=pl.lit("m")),
    ])
    quality = evaluate(frame, scores, CUTOFF)
    assert quality["churn"]["published"] == pytest.approx(1.0)
    assert quality["value"]["published"] == pytest.approx(1.0)
