"""The report's ad section: the plan's headline, the KPI weeks, and escaping."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.report.ads import ads_context, charts, kpi_weeks, plan_headline
from pipelines.report.sections import render_part


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
    page = render_part("ads.html.j2", ads=ads, charts=charts(data, date(2026, 10, 31)))
    assert hostile not in page
    assert "&lt;script&gt;" in page


def test_a_shop_without_ads_has_no_section() -> None:
    empty = {k: pl.DataFrame() for k in
             ("plan", "campaigns", "creatives", "audiences", "worksheet", "review")}
    assert ads_context(empty) is None


SVG = "{http://www.w3.org/2000/svg}"


def _tables(moves: bool = True) -> dict[str, pl.DataFrame]:
    step = 10.0 if moves else 0.0
    names = {"Prospecting <b>EU</b>": -step, "Retargeting": step, "Kept set": 0.0}
    plan = _plan(names, status={"Kept set": "kept"}).with_columns(
        current_daily_budget=pl.Series([50.0, 20.0, 5.0]),
        recommended_daily_budget=pl.Series([40.0, 30.0, 5.0] if moves else [50.0, 20.0, 5.0]),
        expected_change=pl.lit(1.0), expected_low=pl.lit(0.0), expected_high=pl.lit(2.0),
        target_cpa=pl.lit(None, pl.Float64), target_roas=pl.lit(None, pl.Float64),
        recommendation=pl.lit("Raise"))
    conversions = pl.DataFrame({
        "date_day": [date(2026, 10, 20), date(2026, 10, 21), date(2026, 10, 20), date(2026, 8, 1)],
        "campaign_name": ["Autumn", "Autumn", "Brand", "Brand"], "currency": ["USD"] * 4,
        "spend": [100.0, 100.0, 50.0, 999.0], "platform_purchases": [4, 4, 1, 9],
        "reconciled_purchases": [3, 3, 0, 9], "platform_purchase_value": [300.0, 300.0, 80.0, 9.0],
        "reconciled_value": [200.0, 250.0, 0.0, 9.0], "gap_duplicates": [1, 1, 0, 0],
        "gap_outside_window": [0, 0, 1, 0], "gap_refunded_cancelled": [0] * 4,
        "gap_unmatched": [0] * 4,
    })
    return {"reports.rpt_budget_plan": plan, "marts.fct_ad_conversions": conversions}


def tables() -> dict[str, pl.DataFrame]:
    return _tables()


def _charts(html: str) -> list:
    import re
    import xml.etree.ElementTree as ET

    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def _texts(chart) -> set[str]:
    return {"".join(t.itertext()) for t in chart.iter(f"{SVG}text")}


def test_section_draws_the_budget_plan_and_returns_by_campaign(settings) -> None:
    from pipelines.report.ads import section
    from tests.unit.report_inputs import inputs

    built = section(inputs(settings, tables()))
    budget, campaigns = _charts(str(built.html))
    assert budget.find(f"{SVG}title").text == "Daily budget by ad set: today and recommended"
    words = _texts(budget)
    assert {"Budget per day (USD)", "Ad set", "Today", "Recommended", " 40 (-10)",
            " 30 (+10)", " 5", "Prospecting <b>EU</b>"} <= words
    assert "<b>EU</b>" not in str(built.html)  # escaped in the chart and the table
    assert campaigns.find(f"{SVG}title").text == (
        "Spend and return by campaign, click days 04 Oct to 31 Oct 2026")
    words = _texts(campaigns)
    # Autumn: 200 spent, 450 confirmed by the shop (2.25), Meta counted 600; the August day
    # of Brand is outside the window.
    assert {"Spend (USD)", "Campaign", " 200", " 2.25", " 50", " 0.00",
            "Purchase value per unit spent (1 = money back)", "Shop's orders (reconciled)",
            "Meta's count"} <= words
    assert " 1k" not in words


def test_the_plan_is_an_action_only_when_it_moves_money(settings) -> None:
    from pipelines.report.ads import section
    from tests.unit.report_inputs import inputs

    moving = section(inputs(settings, _tables(moves=True)))
    assert [a.text for a in moving.actions] == [
        "Move USD 10.00/day from Prospecting <b>EU</b> to Retargeting: +USD 310/week in value "
        "expected (80% interval USD 120 to USD 480)."]
    assert moving.actions[0].link == "#ads"
    keeping = section(inputs(settings, _tables(moves=False)))
    assert keeping.actions == ()
    assert keeping.digest[0].startswith("Keep today's ad set budgets")


def test_money_in_the_tables_names_its_currency(settings) -> None:
    from pipelines.report.ads import section
    from tests.unit.report_inputs import inputs, text

    page = text(str(section(inputs(settings, tables())).html))
    assert "USD 50.00" in page and "USD 40.00" in page  # today's and the planned budget
    assert "USD 200" in page  # Autumn's spend over the window
