"""Audience cells per campaign, and the suggestions: persona x region cells of high value and
low reach, and categories whose season is coming in a region."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.ads.audiences import (
    RECOMMENDATION_COLUMNS,
    audience_cells,
    coming_months,
    persona_region_suggestions,
    seasonal_suggestions,
)


def _people(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={
        "campaign_id": pl.String, "campaign_name": pl.String, "person_key": pl.String,
        "customer_key": pl.String, "persona": pl.String, "rfm_segment": pl.String,
        "region": pl.String, "conversions": pl.Int32, "conversion_value": pl.Float64},
        orient="row")


def test_cells_count_people_per_campaign_and_dimension_and_leave_out_unknown_visitors() -> None:
    people = _people([
        ("k", "Spring", "p", "p", "Gifters", "loyal", "US-NY", 2, 80.0),
        ("k", "Spring", "q", "q", "Gifters", "new", "US-NY", 0, 0.0),
        ("k", "Spring", "r", "r", "Bargain", "new", "DE", 1, 20.0),
        ("k", "Spring", "visitor:u", None, "not identified", "not identified", "unknown", 0, 0.0),
    ])
    cells = audience_cells(people)
    assert cells.height == 2 + 2 + 2  # persona, rfm_segment, region; no visitor cells
    gifters = cells.filter(dimension="persona", audience="Gifters").row(0, named=True)
    assert (gifters["people_reached"], gifters["converters"], gifters["conversions"],
            gifters["conversion_value"]) == (2, 1, 2, 80.0)
    assert gifters["conversion_rate"] == 0.5
    assert gifters["campaign_rate"] == pytest.approx(2 / 3)
    assert gifters["conversion_rate_low"] <= gifters["conversion_rate_shrunk"] <= \
        gifters["conversion_rate_high"]
    assert gifters["value_per_person_reached"] == pytest.approx(
        gifters["conversion_rate_shrunk"] * gifters["value_per_customer_shrunk"])


def _customers(n_cells: dict[tuple[str, str], int]) -> pl.DataFrame:
    rows = [(f"{p}-{r}-{i}", p, r) for (p, r), n in n_cells.items() for i in range(n)]
    return pl.DataFrame(rows, schema=["customer_key", "persona", "region"], orient="row")


def test_a_valuable_little_reached_cell_is_suggested_with_the_contract_columns() -> None:
    customers = _customers({("Gifters", "CA-QC"): 40, ("Bargain", "US-NY"): 40})
    reached = []
    # Bargain in US-NY: 30 of 40 reached, 3 converted at 20 each.
    for i in range(30):
        reached.append(("k", "K", f"Bargain-US-NY-{i}", f"Bargain-US-NY-{i}", "Bargain", "x",
                        "US-NY", int(i < 3), 20.0 if i < 3 else 0.0))
    # Gifters in CA-QC: 5 of 40 reached, 3 converted at 90 each.
    for i in range(5):
        reached.append(("k", "K", f"Gifters-CA-QC-{i}", f"Gifters-CA-QC-{i}", "Gifters", "x",
                        "CA-QC", int(i < 3), 90.0 if i < 3 else 0.0))
    out = persona_region_suggestions(_people(reached), customers, weeks=10.0, limit=5)
    assert out["audience"].to_list() == ["Gifters in CA-QC"]
    row = out.row(0, named=True)
    assert set(RECOMMENDATION_COLUMNS) <= set(out.columns)
    assert row["kpi"] == "conversions"
    # Reached as widely as the rest (35 of 80): 0.4375 x 40 - 5 = 12.5 more people over 10
    # weeks, 1.25 a week, at the cell's shrunk rate.
    assert 0 < row["expected_low"] <= row["expected_change"] <= row["expected_high"] < 1.25
    assert "Gifters in CA-QC" in row["recommendation"] and "5 of 40" in row["recommendation"]


def test_no_history_suggests_nothing() -> None:
    customers = _customers({("Gifters", "CA-QC"): 4})
    assert persona_region_suggestions(_people([]), customers, weeks=0.0, limit=5).is_empty()


def test_the_coming_weeks_cross_into_the_next_month_and_year() -> None:
    assert coming_months(date(2026, 12, 20), 28) == [12, 1]
    assert coming_months(date(2026, 10, 31), 28) == [11]


def test_a_coming_season_is_suggested_and_a_past_or_doubtful_one_is_not() -> None:
    index = pl.DataFrame({
        "region": ["BR-RS", "BR-RS", "BR-BA", "BR-BA"],
        "category": ["heaters", "heaters", "heaters", "fans"],
        "month": [6, 12, 6, 6],
        "observed": [60.0, 10.0, 5.0, 50.0],
        "seasonal_index": [2.0, 0.4, 1.6, 1.5],
        "index_low": [1.6, 0.2, 0.7, 1.3],
        "index_high": [2.4, 0.6, 2.5, 1.7],
        "prob_above_one": [0.999, 0.0, 0.7, 0.99],
        "expected": [30.0, 25.0, 3.0, 33.0],
        "prior_strength": [10.0, 10.0, 10.0, 10.0],
    })
    out = seasonal_suggestions(index, date(2026, 5, 20), 28, weeks=52.0, min_index=1.2,
                               min_probability=0.9, min_own_weight=0.5, limit=10)
    assert out["audience"].to_list() == ["heaters in BR-RS (June)", "fans in BR-BA (June)"]
    # The same season borrowed by a region with few orders of its own is not suggested.
    borrowed = index.with_columns(expected=pl.lit(2.0))
    assert seasonal_suggestions(borrowed, date(2026, 5, 20), 28, weeks=52.0, min_index=1.2,
                                min_probability=0.9, min_own_weight=0.5, limit=10).is_empty()
    heaters = out.row(0, named=True)
    # Usual weekly orders of heaters in BR-RS: (60 + 10) / 52; the season adds 100%.
    assert heaters["expected_change"] == pytest.approx(70 / 52)
    assert heaters["expected_low"] == pytest.approx(0.6 * 70 / 52)
    assert "June" in heaters["recommendation"]
