"""The report's revenue KPIs: every order counts, guest checkouts included, and their share."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.report.overview import sales_kpis

CUSTOMERS = pl.DataFrame({"revenue": [100.0, 50.0]})


def sales(revenue: float, guest_revenue: float, guest_orders: int) -> pl.DataFrame:
    return pl.DataFrame({"revenue": [revenue], "guest_revenue": [guest_revenue],
                         "orders": [40], "guest_orders": [guest_orders], "credit_notes": [3],
                         "unconverted": [0]})


def test_revenue_is_every_order_and_the_guest_share_is_of_it():
    kpis = sales_kpis(sales(200.0, 56.0, 9), CUSTOMERS)
    assert kpis["revenue"] == 200.0 and kpis["guest_orders"] == 9
    assert kpis["guest_share"] == pytest.approx(0.28)
    assert kpis["credit_notes"] == 3


def test_no_share_of_a_loss():
    assert sales_kpis(sales(-10.0, 5.0, 1), CUSTOMERS)["guest_share"] is None


def test_without_the_sales_table_the_customers_revenue_and_no_guest_figure():
    kpis = sales_kpis(pl.DataFrame(), CUSTOMERS)
    assert kpis == {"revenue": 150.0, "converted": True, "guest_orders": 0, "guest_share": None,
                    "credit_notes": 0}


# The weekly KPI cards (reports.rpt_weekly_kpis): the last complete week against the week
# before and the same week last year.

from datetime import date  # noqa: E402

from pipelines.report import overview  # noqa: E402
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs, text  # noqa: E402

WEEK, BEFORE, RUNNING = date(2026, 10, 19), date(2026, 10, 12), date(2026, 10, 26)


def weekly(rows: list[tuple]) -> pl.DataFrame:
    """(kpi, unit, week_start, value, value_last_year) rows of rpt_weekly_kpis."""
    order = {"revenue": 1, "orders": 2, "email_open_rate": 6, "ad_spend": 8}
    return pl.DataFrame(
        [{"week_start": w, "is_complete_week": w < RUNNING, "kpi": k,
          "label": k.replace("_", " ").capitalize(), "unit": u, "value": v,
          "value_last_year": ly, "definition": f"How {k} is counted {HOSTILE}",
          "kpi_order": order[k]} for k, u, w, v, ly in rows],
        schema_overrides={"value": pl.Float64, "value_last_year": pl.Float64})


KPIS = weekly([
    ("revenue", "GBP", BEFORE, 1000.0, None), ("revenue", "GBP", WEEK, 1250.0, 1000.0),
    ("revenue", "GBP", RUNNING, 9999.0, None),
    ("orders", "count", BEFORE, 40.0, None), ("orders", "count", WEEK, 30.0, None),
    ("email_open_rate", "share", BEFORE, 0.40, None),
    ("email_open_rate", "share", WEEK, 0.425, None),
    ("ad_spend", "USD", BEFORE, 50.0, None), ("ad_spend", "USD", WEEK, 70.0, None),
])


def test_cards_compare_the_last_complete_week_with_the_week_before_and_last_year():
    cards, week = overview.weekly_cards(KPIS)
    assert week == WEEK  # the running week is never the one compared
    revenue, orders, opens, spend = cards
    assert (revenue["value"], revenue["previous"]) == ("GBP 1,250", "GBP 1,000")
    assert revenue["change"] == {"arrow": "▲", "words": "+25%", "direction": "up"}
    assert (revenue["last_year"], revenue["last_year_change"]["words"]) == ("GBP 1,000", "+25%")
    assert orders["change"] == {"arrow": "▼", "words": "-25%", "direction": "down"}
    assert orders["last_year"] is None
    assert opens["value"] == "42.5%" and opens["change"]["words"] == "+2.5 pts"
    # Spend in the ad account's own currency; more spend is not "good", so no colour.
    assert spend["value"] == "USD 70" and spend["change"] == {
        "arrow": "▲", "words": "+40%", "direction": "flat"}


def test_the_section_states_the_period_the_currency_and_the_definitions(settings):
    tables = {"reports.rpt_weekly_kpis": KPIS, "marts.dim_customers": pl.DataFrame({
        "revenue": [1.0], "orders_count": [1], "is_emailable": [True]})}
    part = overview.section(inputs(settings, tables))
    page = text(part.html)
    assert "The week of 19–25 Oct 2026 against the week before (12–18 Oct 2026)" in page
    assert f'title="How revenue is counted {ESCAPED}"' in part.html
    assert "<script" not in part.html
    assert part.digest == (
        "Revenue in the week of 19–25 Oct 2026: GBP 1,250, +25% on the week before.",
        "Orders in the week of 19–25 Oct 2026: 30, -25% on the week before.")


@pytest.mark.parametrize(("now", "before", "unit", "words"), [
    (5.0, 0.0, "count", None), (0.0, 0.0, "count", None), (0.01, 0.0, "share", "+1.0 pts"),
    (None, 3.0, "count", None),
    (3.0, 3.0, "GBP", "no change"), (-50.0, 100.0, "GBP", "-150%"),
])
def test_changes_of_nothing_and_unknowns(now, before, unit, words):
    moved = overview.change(now, before, unit)
    assert (moved or {}).get("words") == words


def test_week_words_across_months_and_years():
    assert overview.week_words(date(2026, 9, 28)) == "28 Sep–4 Oct 2026"
    assert overview.week_words(date(2025, 12, 29)) == "29 Dec 2025–4 Jan 2026"
