"""bench.ads_creative: the fatigue scores and what the clicks allow."""

from __future__ import annotations

import polars as pl
import pytest

from bench.ads_creative import REAL_ADS, attainable_recall, precision_recall, real_shrinkage


def test_precision_and_recall_count_checks_not_ads() -> None:
    labels = pl.DataFrame({
        "truly_fatigued": [True, True, False, False, True],
        "is_fatigued": [True, False, True, False, False],
    })  # fmt: skip
    got = precision_recall(labels, "is_fatigued")
    assert got == {"checks": 5, "positives": 3, "flagged": 2, "true_positives": 1,
                   "precision": 0.5, "recall": 1 / 3}  # fmt: skip


def test_attainable_recall_grows_with_clicks_and_the_fall() -> None:
    def recall(clicks: int, decline: float) -> float:
        labels = pl.DataFrame({"truly_fatigued": [True], "clicks": [clicks],
                               "true_decline": [decline]})  # fmt: skip
        return attainable_recall(labels)["attainable_recall"]

    # 37 clicks cannot show a 20% fall (standard error 57%); 10,000 show it almost always.
    assert recall(37, 0.2) < 0.05
    assert recall(10_000, 0.2) > 0.95
    assert recall(300, 0.2) < recall(300, 0.4)


@pytest.mark.real
@pytest.mark.skipif(not REAL_ADS.exists(), reason="real data not present")
def test_shrinkage_beats_raw_and_pooled_rates_on_real_ads() -> None:
    got = real_shrinkage(splits=20)["deviance_by_prior_conversions"]
    assert got[5.0] < 0.2 * got[0.0]  # the raw rate of a cell with no conversion is 0
    assert got[5.0] < got["pooled"]
