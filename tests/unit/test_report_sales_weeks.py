"""The sales section: revenue and orders by week against last year, new and returning
customers, from synthetic rpt_weekly_kpis rows (complete weeks only, currency on the axis)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import polars as pl

from pipelines.report.sales import complete_weeks, headline, section
from tests.unit.report_inputs import text

SVG = "{http://www.w3.org/2000/svg}"
DAY = date(2026, 10, 31)  # a Saturday: the week of 26 Oct is not complete


def weekly_kpis(weeks: int = 60) -> pl.DataFrame:
    first = date(2026, 10, 26) - timedelta(weeks=weeks - 1)
    rows = []
    for i in range(weeks):
        start = first + timedelta(weeks=i)
        for kpi, unit, value in (("revenue", "GBP", 1000.0 + 10 * i),
                                 ("orders", "count", 40.0 + i),
                                 ("new_customers", "count", 5.0),
                                 ("returning_customers", "count", 30.0),
                                 ("sessions", "count", 999.0)):
            rows.append({"week_start": start, "kpi": kpi, "label": kpi, "unit": unit,
                         "value": value, "value_last_year": None if i < 52 else value / 2,
                         "definition": f"{kpi} per week"})
    return pl.DataFrame(rows, schema_overrides={"value_last_year": pl.Float64})


def test_complete_weeks_keeps_a_year_of_finished_weeks():
    weeks = complete_weeks(weekly_kpis(), DAY)
    assert weeks.height == 52
    assert weeks["week_start"][-1] == date(2026, 10, 19)  # 26 Oct is still running on 31 Oct
    assert weeks["unit"][0] == "GBP"
    assert weeks.row(-1, named=True)["revenue_last_year"] == (1000.0 + 10 * 58) / 2
    assert "sessions" not in weeks.columns


def test_headline_compares_with_the_same_week_last_year():
    weeks = complete_weeks(weekly_kpis(), DAY)
    assert headline(weeks) == ("Week of 19 Oct 2026: revenue GBP 1,580 (+100% on the same week "
                               "last year), 98 orders (+100% on the same week last year).")


def test_section_draws_three_charts_with_titles_units_and_currency(settings):
    from tests.unit.report_inputs import inputs

    built = section(inputs(settings, {"reports.rpt_weekly_kpis": weekly_kpis()},
                           logical_date=DAY))
    assert built is not None and built.key == "sales" and built.order == 20
    page = str(built.html)
    charts = [ET.fromstring(s) for s in _svgs(page)]
    assert len(charts) == 3
    titles = [c.find(f"{SVG}title").text for c in charts]
    assert titles == ["Revenue by week, returns deducted", "Orders by week",
                      "Customers who ordered: new and returning, by week"]
    words = [set("".join(t.itertext()) for t in c.iter(f"{SVG}text")) for c in charts]
    assert {"Revenue (GBP)", "Week starting (Monday)", "This year",
            "Same week a year earlier"} <= words[0]
    assert {"Orders", "Week starting (Monday)"} <= words[1]
    assert {"New customers", "Returning customers", "Customers who ordered"} <= words[2]
    assert "52 weeks from 27 Oct 2025" in text(page)
    assert built.digest == (headline(complete_weeks(weekly_kpis(), DAY)),)


def test_the_drawn_line_is_the_frame_passed_in(settings):
    from tests.unit.report_inputs import inputs

    built = section(inputs(settings, {"reports.rpt_weekly_kpis": weekly_kpis(10)},
                           logical_date=DAY))
    revenue = ET.fromstring(_svgs(str(built.html))[0])
    # The y ticks span the revenue drawn (1,000 to 1,080) and the last-year line is absent.
    ticks = {"".join(t.itertext()) for t in revenue.iter(f"{SVG}text")}
    assert "1k" in ticks and "Same week a year earlier" not in ticks


def test_no_weekly_kpis_no_section(settings):
    from tests.unit.report_inputs import inputs

    assert section(inputs(settings, {})) is None
    early = weekly_kpis(1)  # only the running week
    assert section(inputs(settings, {"reports.rpt_weekly_kpis": early}, logical_date=DAY)) is None


def _svgs(page: str) -> list[str]:
    import re

    return re.findall(r"<svg.*?</svg>", page, flags=re.S)


def tables() -> dict[str, pl.DataFrame]:
    return {"reports.rpt_weekly_kpis": weekly_kpis()}


def test_the_model_says_which_weeks_are_complete():
    kpis = weekly_kpis().with_columns(
        is_complete_week=pl.col("week_start") < date(2026, 10, 12))
    assert complete_weeks(kpis, DAY)["week_start"][-1] == date(2026, 10, 5)
