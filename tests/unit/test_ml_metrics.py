"""Model metrics and the long scores table, on hand-made numbers."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ml import metrics
from pipelines.ml.scores import DDL, long_scores, pivot_sql


def test_classification_metrics_on_a_ranking_with_a_known_answer():
    # 20 customers, 5 positives; the score ranks 4 of them at the top, one at the bottom.
    y = np.array([1, 1, 1, 1] + [0] * 15 + [1])
    score = np.linspace(1.0, 0.0, 20)
    out = metrics.classification(y, score, score)
    # 4 positives beat all 15 negatives, the last beats none: AUC = 60 / 75.
    assert out["auc"] == pytest.approx(60 / 75)
    # Top decile = the 2 highest scores, both positive: rate 1.0 vs 0.25 overall.
    assert out["lift_top_decile"] == pytest.approx(4.0)
    assert out["capture_top_decile"] == pytest.approx(2 / 5)
    assert out["brier"] == pytest.approx(np.mean((score - y) ** 2))
    table = out["calibration"]
    assert [row["decile"] for row in table] == list(range(1, 11))
    assert [row["n"] for row in table] == [2] * 10
    assert table[-1] == {
        "decile": 10,
        "n": 2,
        "predicted": pytest.approx((1.0 + score[1]) / 2),
        "observed": 1.0,
    }
    with pytest.raises(ValueError, match="both outcomes"):
        metrics.classification(np.zeros(5), np.arange(5.0))


def test_regression_metrics_compare_ranks_totals_and_deciles():
    actual = np.array([0.0, 0, 0, 10, 20, 30, 40, 50, 100, 400])
    predicted = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]) * 10
    out = metrics.regression(actual, predicted)
    # Spearman is Pearson on ranks; the three tied zeros share rank 2.
    tied_ranks = [2, 2, 2, 4, 5, 6, 7, 8, 9, 10]
    assert out["spearman"] == pytest.approx(np.corrcoef(tied_ranks, np.arange(1, 11))[0, 1])
    assert out["mae"] == pytest.approx(np.mean(np.abs(actual - predicted)))
    assert (out["total_predicted"], out["total_actual"]) == (550.0, 650.0)
    # The top decile (one customer) holds 400 of the 650.
    assert out["capture_top_decile"] == pytest.approx(400 / 650)
    assert out["deciles"][-1] == {"decile": 10, "n": 1, "predicted": 100.0, "actual": 400.0}


def test_mape_skips_zero_actuals_and_wape_weights_by_volume():
    actual = np.array([10.0, 0.0, 5.0])
    forecast = np.array([12.0, 3.0, 5.0])
    assert metrics.mape(actual, forecast) == pytest.approx((0.2 + 0.0) / 2)
    assert metrics.wape(actual, forecast) == pytest.approx(5 / 15)
    with pytest.raises(ValueError, match="non-zero actual"):
        metrics.mape(np.zeros(3), np.ones(3))


def test_long_scores_rank_deciles_pad_reasons_and_pivot_to_one_row_per_customer():
    keys = pl.Series([f"k{i}" for i in range(10)])
    churn = long_scores(
        "churn",
        "v1",
        date(2026, 10, 31),
        keys,
        pl.Series([i / 10 for i in range(10)]),
        [["no order in 120 days"]] * 10,
    )
    assert churn["decile"].to_list() == list(range(1, 11))
    assert churn["reason_2"].null_count() == 10
    ltv = long_scores(
        "ltv",
        "v2",
        date(2026, 10, 31),
        keys[:2],
        pl.Series([500.0, 20.0]),
        [["a", "b", "c", "d"], ["e"]],
    )
    assert ltv["reason_3"].to_list() == ["c", None]
    assert ltv["decile"].to_list() == [6, 1]  # two customers: the higher is in the upper half
    with pytest.raises(ValueError, match="unknown model 'clv'"):
        long_scores("clv", "v", date(2026, 10, 31), keys, pl.Series([0.0] * 10), [[]] * 10)

    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute(DDL)
    con.register("rows", pl.concat([churn, ltv]).to_arrow())
    con.execute("insert into ml.scores by name select * from rows")
    wide = con.sql(pivot_sql() + " order by customer_key").pl()
    assert wide.columns[:6] == [
        "customer_key",
        "churn_score",
        "churn_decile",
        "churn_reason_1",
        "churn_reason_2",
        "churn_reason_3",
    ]
    assert {"ltv_score", "ltv_decile", "lead_score", "lead_decile"} <= set(wide.columns)
    assert wide.height == 10
    assert_frame_equal(
        wide.select("customer_key", "churn_decile", "ltv_score").head(3),
        pl.DataFrame(
            {
                "customer_key": ["k0", "k1", "k2"],
                "churn_decile": [1, 2, 3],
                "ltv_score": [500.0, 20.0, None],
            }
        ),
        check_dtypes=False,
    )
