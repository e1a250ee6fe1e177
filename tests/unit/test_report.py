"""The HTML report's sections as the old page had them: every value from the data is escaped,
money carries the orders' currency code (per currency when there are several), the "could not
cover" section lists what the run lacked, and the forecast names the forecast the backtest
chose and why."""

from __future__ import annotations

import json
from datetime import date
from html import unescape

import polars as pl
import pytest

from pipelines.report import coverage, exports, forecast, overview, personas, winback
from pipelines.report.sections import money
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs, text

NOT_COVERED = pl.DataFrame({
    "capability": ["product_ids", "crm_contacts", "orders"],
    "is_available": [False, False, True],
    "detail": ["", "", ""],
    "missing_reason": ["the orders carry no product ids: units are forecast for the shop's "
                       "total, not per product", f"no CRM contacts {HOSTILE}", None],
    "sources": ["orders (product_id), shop", HOSTILE, "orders"],
})


def test_the_could_not_cover_section_lists_each_reason_as_a_sentence(settings):
    part = coverage.section(inputs(settings, {"marts.data_coverage": NOT_COVERED}))
    page = text(part.html)
    assert ("The orders carry no product ids: units are forecast for the shop's total, not "
            "per product. orders (product_id), shop") in page.replace("&#39;", "'")
    assert ESCAPED in part.html and "<img" not in part.html
    covered = NOT_COVERED.with_columns(is_available=pl.lit(True))
    everything = coverage.section(inputs(settings, {"marts.data_coverage": covered}))
    assert everything.title == "What this report covers"
    assert "nothing was left out for want of data" in text(everything.html)
    assert coverage.section(inputs(settings)) is None  # a publication from before coverage


def customers(revenue: float = 250.0) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_key": ["k1", "k2"], "first_name": [HOSTILE, "Ann"], "last_name": ["X", "Lee"],
        "email": ["a@example.com", "b@example.com"], "phone_e164": [None, None],
        "shop_customer_id": ["1", "2"], "country_code": ["GB", "GB"],
        "revenue": [revenue, 10.0], "orders_count": [2, 0], "is_emailable": [False, True],
    })


def scores() -> pl.DataFrame:
    return pl.DataFrame({
        "customer_key": ["k1", "k2", "k1", "k2"], "model": ["churn", "churn", "ltv", "ltv"],
        "score": [0.9, 0.2, 80.0, 907.0], "decile": [10, 2, 9, 10],
        "reason_1": [HOSTILE, None, None, None], "reason_2": [None] * 4, "reason_3": [None] * 4,
    })


@pytest.mark.parametrize("currency", ["GBP", "BRL"])
def test_money_shows_the_orders_currency_code_and_never_a_dollar_sign(settings, currency):
    tables = {"marts.dim_customers": customers(), "ml.scores": scores()}
    part = winback.section(inputs(settings, tables, currency=currency))
    assert "$" not in part.html
    assert f"{currency} 250" in part.html and f"{currency} 80" in part.html
    assert ESCAPED in part.html and "<script" not in part.html


def sales(unconverted: int = 0) -> pl.DataFrame:
    return pl.DataFrame({
        "order_date": [date(2026, 10, 1)] * 2, "currency": ["EUR", "USD"],
        "revenue": [100.0, 2000.0], "guest_revenue": [0.0, 0.0], "orders": [1, 2],
        "guest_orders": [0, 0], "credit_notes": [0, 0], "reporting_currency": ["EUR", "EUR"],
        "revenue_reporting": [100.0, None if unconverted else 1134.5],
        "guest_revenue_reporting": [0.0, 0.0],
    })


def test_orders_in_several_currencies_that_convert_show_one_revenue_and_say_from_what(settings):
    tables = {"marts.dim_customers": customers(), "ml.scores": scores(),
              "reports.rpt_daily_sales": sales()}
    page = text(overview.section(inputs(settings, tables, currency="EUR")).html)
    assert "Orders in EUR, USD, converted to EUR at the rates in landing/fx" in page
    assert "EUR 1,234 revenue to date, returns deducted" in page
    assert "USD 2,000" not in page and "no exchange rate" not in page
    assert "EUR 987 expected spend, next year" in page


def test_orders_without_an_exchange_rate_show_revenue_per_currency_and_say_so(settings):
    tables = {"marts.dim_customers": customers(), "ml.scores": scores(),
              "reports.rpt_daily_sales": sales(unconverted=1)}
    page = text(overview.section(inputs(settings, tables, currency="EUR")).html)
    assert "EUR 100 revenue to date in EUR" in page and "USD 2,000 revenue to date in USD" in page
    assert "Some orders have no exchange rate into EUR on their date" in page
    assert "EUR 987 expected spend, next year" in page


def test_sales_are_added_only_when_every_day_converts():
    people = pl.DataFrame({"revenue": [1.0]})
    frame = pl.DataFrame({"revenue": [120.0], "guest_revenue": [30.0], "orders": [5],
                          "guest_orders": [1], "credit_notes": [0], "unconverted": [0]})
    assert overview.sales_kpis(frame, people) == {
        "revenue": 120.0, "converted": True, "guest_orders": 1, "guest_share": 0.25,
        "credit_notes": 0}
    partial = overview.sales_kpis(frame.with_columns(unconverted=pl.lit(2)), people)
    assert partial["revenue"] is None and not partial["converted"]


def test_money_formats():
    assert money(1234.567, "GBP", 2) == "GBP 1,234.57"
    assert money(None, "GBP") == "n/a"
    assert money(5, None) == "5 (mixed currencies)"


def forecast_weeks(model: str = "seasonal_level") -> pl.DataFrame:
    """reports.rpt_forecast_weekly: two weeks sold, two ahead by the published method."""
    weeks = [date(2026, 10, 18), date(2026, 10, 25), date(2026, 11, 1), date(2026, 11, 8)]
    ahead = [False, False, True, True]
    return pl.DataFrame({
        "week_start": weeks, "week_end": [w.replace(day=w.day + 6) for w in weeks],
        "is_forecast": ahead, "units_actual": [10.0, 11.0, None, None],
        "units_forecast": [None, None, 12.0, 13.0], "units_low": [None, None, 9.0, 9.5],
        "units_high": [None, None, 15.0, 17.0], "units_last_year": [8.0, 9.0, 10.0, 10.0],
        "model": [None, None, model, model], "as_of_date": [date(2026, 10, 31)] * 4,
    })


def runs(metrics: dict) -> pl.DataFrame:
    return pl.DataFrame({"run_id": ["r1"], "model": ["forecast_units"],
                         "as_of_date": [date(2026, 10, 31)], "metrics": [json.dumps(metrics)]})


def test_the_report_names_the_published_forecast_in_words_and_says_why(settings):
    why = "the backtest never reached those weeks a year ago"
    tables = {"reports.rpt_forecast_weekly": forecast_weeks(),
              "ml.model_runs": runs({"published": {"name": "seasonal_level", "why": why}})}
    part = forecast.section(inputs(settings, tables))
    assert ("Forecast by last year's same weeks, scaled by how this year's sales compare with "
            "last year's. Why this one: the backtest never reached those weeks a year "
            "ago.") in unescape(text(part.html))
    hostile = runs({"published": {"name": "seasonal_level", "why": HOSTILE}})
    part = forecast.section(inputs(settings, tables | {"ml.model_runs": hostile}))
    assert ESCAPED in part.html and "<img" not in part.html


def test_persona_names_and_traits_are_escaped(settings):
    frame = pl.DataFrame([{
        "persona_id": 1, "persona_name": HOSTILE, "customers": 2, "customer_share": 1.0,
        "revenue_share": 1.0, "avg_revenue_to_date": 100.0, "avg_ltv": None,
        "avg_order_value": 50.0, "churn_risk": 0.5, "best_send_hour": None,
        "top_channels": HOSTILE, "top_categories": None, "nps": None, "nps_responses": 0,
        "emailable_share": 0.0, "what_sets_it_apart": f"{HOSTILE}; buys often",
    }])
    part = personas.section(inputs(settings, {"reports.rpt_personas": frame}))
    assert "<img" not in part.html and "<script" not in part.html
    # Name and trait; channels are drawn from reports.rpt_persona_habits
    # (test_report_personas checks their escaping in the chart).
    assert part.html.count(ESCAPED) == 2


def test_export_warnings_are_listed_above_the_exports_and_escaped(settings):
    warning = f"meta/{HOSTILE}: 40 people, fewer than the 100 matched people Meta needs"
    part = exports.section(inputs(settings, manifest={"files": [], "warnings": [warning]}))
    assert ESCAPED in part.html and "<img" not in part.html
    assert "fewer than the 100 matched people Meta needs" in text(part.html)
    assert exports.section(inputs(settings, manifest={"files": [], "warnings": []})) is None
