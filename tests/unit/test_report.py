"""The HTML report: every value from the data is escaped, money carries the orders' currency
code (per currency when there are several), the "could not cover" section lists what the run
lacked, and the forecast chart shows the forecast the backtest chose."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import polars as pl
import pytest

from pipelines.report import html as report

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def context(currency: str | None = "GBP", **changes) -> dict:
    base = {
        "date": "2026-10-31",
        "run_id": "manual__2026-10-31",
        "published_tables": 16,
        "currency": currency,
        "revenue_by_currency": [{"currency": currency or "EUR", "revenue": 1234.5}],
        "kpis": {"customers": 3, "buyers": 2, "emailable": 0, "revenue": 1234.5,
                 "converted": True, "scored": 2, "mean_churn": 0.4, "predicted_value": 987.0},
        "churn_chart": "",
        "at_risk": [{"name": HOSTILE, "revenue": 250.0, "predicted_value": 80.0,
                     "orders_count": 2, "churn_probability": 0.9, "reasons": HOSTILE}],
        "models": [{"title": "Units", "version": "recent_mean", "metric": "mape",
                    "model_value": 0.2, "baseline": "seasonal_naive", "baseline_value": 0.3,
                    "previous_value": None, "note": HOSTILE}],
        "exports": [],
        "forecast_chart": "",
        "personas": [],
        "not_covered": [
            {"reason": "the orders carry no product ids: units are forecast for the shop's "
                       "total, not per product", "sources": "orders (product_id), shop"},
            {"reason": f"no CRM contacts {HOSTILE}", "sources": HOSTILE},
        ],
    }
    return base | changes


def text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_values_from_the_data_are_escaped_whatever_the_template_is_named():
    personas = report.persona_cards(pl.DataFrame([{
        "persona_name": HOSTILE, "customers": 2, "customer_share": 1.0, "revenue_share": 1.0,
        "avg_revenue_to_date": 100.0, "avg_ltv": None, "avg_order_value": 50.0,
        "churn_risk": 0.5, "best_send_hour": None, "top_channels": HOSTILE,
        "top_categories": None, "nps": None, "nps_responses": 0, "emailable_share": 0.0,
        "what_sets_it_apart": f"{HOSTILE}; buys often",
    }]), "GBP")
    page = report.render(context(personas=personas))
    assert "<img" not in page and "onerror=alert(1)>" not in page
    # The customer's name and reasons, the model note, the coverage row and its sources, and
    # the persona's name, channels and traits.
    assert page.count(ESCAPED) == 8


def test_the_could_not_cover_section_lists_each_reason_as_a_sentence():
    page = text(report.render(context()))
    assert "What this report could not cover, and why" in page
    assert ("The orders carry no product ids: units are forecast for the shop's total, not "
            "per product. orders (product_id), shop") in page.replace("&#39;", "'")
    nothing_missing = report.render(context(not_covered=[]))
    assert "could not cover" not in nothing_missing


@pytest.mark.parametrize("currency", ["GBP", "BRL"])
def test_money_shows_the_orders_currency_code_and_never_a_dollar_sign(currency):
    page = report.render(context(currency=currency))
    assert "$" not in page
    assert f"{currency} 1,234" in page and f"{currency} 250.00" in page
    assert f"money in {currency}" in page


def test_orders_in_several_currencies_that_convert_show_one_revenue_and_say_from_what():
    page = text(report.render(context(
        currency="EUR",
        revenue_by_currency=[{"currency": "EUR", "revenue": 100.0},
                             {"currency": "USD", "revenue": 2000.0}],
    )))
    assert "money in EUR (orders in EUR, USD, converted at the rates in landing/fx)" in page
    assert "EUR 1,234 revenue to date, returns deducted" in page
    assert "USD 2,000" not in page and "no exchange rate" not in page
    assert "EUR 987 expected spend, next year" in page


def test_orders_without_an_exchange_rate_show_revenue_per_currency_and_say_so():
    page = text(report.render(context(
        currency="EUR",
        kpis=context()["kpis"] | {"revenue": None, "converted": False},
        revenue_by_currency=[{"currency": "EUR", "revenue": 100.0},
                             {"currency": "USD", "revenue": 2000.0}],
    )))
    assert "EUR 100 revenue to date in EUR" in page and "USD 2,000 revenue to date in USD" in page
    assert "Some orders have no exchange rate into EUR on their date" in page
    assert "EUR 987 expected spend, next year" in page


def test_sales_are_added_only_when_every_day_converts():
    customers = pl.DataFrame({"revenue": [1.0]})
    sales = pl.DataFrame({"revenue": [120.0], "guest_revenue": [30.0], "orders": [5],
                          "guest_orders": [1], "credit_notes": [0], "unconverted": [0]})
    assert report.sales_kpis(sales, customers) == {
        "revenue": 120.0, "converted": True, "guest_orders": 1, "guest_share": 0.25,
        "credit_notes": 0}
    partial = report.sales_kpis(sales.with_columns(unconverted=pl.lit(2)), customers)
    assert partial["revenue"] is None and not partial["converted"]


def test_money_formats():
    assert report.money(1234.567, "GBP", 2) == "GBP 1,234.57"
    assert report.money(None, "GBP") == "n/a"
    assert report.money(5, None) == "5 (mixed currencies)"


def forecast_rows() -> pl.DataFrame:
    weeks = [date(2026, 11, 1), date(2026, 11, 8)]
    return pl.DataFrame({
        "model": ["recent_mean"] * 2 + ["seasonal_naive"] * 2 + ["xgboost"] * 2,
        "week_start": weeks * 3,
        "units": [10.0, 10.0, 7.0, 9.0, 12.0, 13.0],
    })


def runs(metrics: dict) -> pl.DataFrame:
    return pl.DataFrame({"run_id": ["r1"], "model": ["forecast_units"],
                         "as_of_date": [date(2026, 10, 31)], "metrics": [json.dumps(metrics)]})


WHY = "it beats the strongest rival, the mean of the last 13 weeks"


@pytest.mark.parametrize(("metrics", "name", "units"), [
    ({"published": {"name": "seasonal_naive", "wape": 0.2, "why": WHY}}, "seasonal_naive",
     [7.0, 9.0]),
    ({"published": {"name": "recent_mean", "wape": 0.2, "why": WHY}}, "recent_mean",
     [10.0, 10.0]),
    ({"chosen": "recent_mean"}, "recent_mean", [10.0, 10.0]),  # a run before `published`
    ({}, "xgboost", [12.0, 13.0]),  # a run from before the choice was recorded: the model
])
def test_the_forecast_chart_shows_the_forecast_that_publishes(metrics, name, units):
    shown, why, frame = report.forecast_shown(forecast_rows(), runs(metrics), "r1")
    assert shown == name
    assert why == (WHY if "published" in metrics else "")
    assert frame.get_column("units").to_list() == units


def test_the_report_names_the_published_forecast_in_words_and_says_why():
    page = unescape(text(report.render(context(
        forecast_chart="<svg></svg>", forecast_method=report.FORECAST_TITLES["seasonal_level"],
        forecast_why="the backtest never reached those weeks a year ago"))))
    assert ("Forecast by last year's same weeks, scaled by how this year's sales compare with "
            "last year's. Why this one: the backtest never reached those weeks a year ago.") in page
    assert ESCAPED in report.render(context(forecast_chart="<svg></svg>",
                                            forecast_method="x", forecast_why=HOSTILE))


def test_export_warnings_are_listed_above_the_exports_and_escaped():
    warning = f"meta/{HOSTILE}: 40 people, fewer than the 100 matched people Meta needs"
    page = report.render(context(export_warnings=[warning]))
    assert ESCAPED in page and "<img" not in page
    assert "fewer than the 100 matched people Meta needs" in text(page)
    assert "warnings" not in report.render(context(export_warnings=[]))
