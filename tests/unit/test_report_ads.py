"""The report's ad section: the plan's headline, the KPI weeks, and escaping."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.report.ads import ads_context, kpi_weeks, plan_headline
from pipelines.report.html import render
from tests.unit.test_report import context


def _plan(changes: dict[str, float], status: dict[str, str] | None = None) -> pl.DataFrame:
    status = status or {}
    return pl.DataFrame({
        "adset_name": list(changes),
        "currency": ["USD"] * len(changes),
        "status": [status.get(n, "planned") for n in changes],
        "budget_change": list(changes.values()),
        "plan_value_change": [310.0] * len(changes),
        "plan_value_low": [120.5] * len(changes),
        "plan_value_high": [480.0] * len(changes),
    })


def test_the_headline_says_how_much_moves_from_where_to_where_and_what_it_brings() -> None:
    plan = _plan({"A": -40.0, "B": 25.0, "C": 15.0, "D": 0.0, "E": 30.0},
                 status={"E": "kept"})
    assert plan_headline(plan) == (
        "Move USD 40.00/day from A to B, C: +USD 310/week in value expected "
        "(80% interval USD 120 to USD 480)."
    )


def test_a_plan_that_moves_nothing_says_keep() -> None:
    assert plan_headline(_plan({"A": 0.0, "B": 0.004})).startswith("Keep today's")
    assert plan_headline(pl.DataFrame()) is None


def test_kpi_weeks_put_the_last_complete_week_beside_the_one_before() -> None:
    sheet = pl.DataFrame({
        "week_start": [date(2026, 10, 12), date(2026, 10, 19)] * 2,
        "channel": ["paid"] * 4,
        "kpi": ["ctr", "ctr", "spend", "spend"],
        "kpi_order": [5, 5, 1, 1],
        "label": ["CTR", "CTR", "Spend", "Spend"],
        "unit": ["share", "share", "currency", "currency"],
        "kpi_value": [0.012, 0.010, 100.0, 150.5],
        "target": [0.01, 0.01, None, None],
        "meets_target": [True, True, None, None],
        "definition": ["clicks / impressions"] * 2 + ["what Meta charged"] * 2,
    })
    rows = kpi_weeks(sheet)
    assert [r["label"] for r in rows] == ["Spend", "CTR"]
    assert rows[0] == {"week": "2026-10-19", "channel": "paid", "label": "Spend",
                       "value": "150.50", "previous": "100.00", "target": "",
                       "meets": None, "definition": "what Meta charged"}
    assert (rows[1]["value"], rows[1]["previous"], rows[1]["target"]) == ("1.0%", "1.2%", "1.0%")


def test_names_from_the_ads_are_escaped_in_the_page() -> None:
    hostile = '<script>alert("x")</script>'
    data = {
        "plan": _plan({hostile: -10.0, "B": 10.0}).with_columns(
            current_daily_budget=pl.lit(50.0), recommended_daily_budget=pl.lit(40.0),
            expected_change=pl.lit(1.0), expected_low=pl.lit(0.0), expected_high=pl.lit(2.0),
            target_cpa=pl.lit(None, pl.Float64), target_roas=pl.lit(None, pl.Float64),
            recommendation=pl.lit(f"Cut {hostile}")),
        "campaigns": pl.DataFrame(), "creatives": pl.DataFrame(), "audiences": pl.DataFrame(),
        "worksheet": pl.DataFrame(), "review": pl.DataFrame(),
    }
    ads = ads_context(data)
    assert ads is not None and hostile in ads["headline"]
    page = render(context(ads=ads))
    assert hostile not in page
    assert "&lt;script&gt;" in page


def test_a_shop_without_ads_has_no_section() -> None:
    empty = {k: pl.DataFrame() for k in
             ("plan", "campaigns", "creatives", "audiences", "worksheet", "review")}
    assert ads_context(empty) is None
