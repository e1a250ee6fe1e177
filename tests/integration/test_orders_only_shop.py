"""A shop whose only export is a generic orders file without product ids or emails, in pounds:
the daily steps publish, score, forecast the shop's total units, and every step that narrows
its work says what it lacked and why, as the report's "could not cover" section does, with
money in GBP and never a dollar sign."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date

import pytest

from pipelines import daily
from pipelines.activation.adcopy import GOOGLE_PLATFORM, META_PLATFORM
from pipelines.activation.site import LOOKUP_PLATFORM, PERSONAS_PLATFORM
from pipelines.config import Settings
from pipelines.forecast.units import ALL_PRODUCTS
from pipelines.ingest.sources import source_names
from simulator import simulate
from tests.conftest import query as published_query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)
RUN = "orders-only"


def orders_only_in_pounds(settings: Settings) -> None:
    """Keep only the generic orders file, without its product_id and email columns, in GBP.
    The simulator's malformed rows are left out: with columns removed they are other rows."""
    for folder in settings.landing_dir.iterdir():
        if folder.name != "orders":
            shutil.rmtree(folder)
    for path in (settings.landing_dir / "orders").rglob("*.csv"):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        header = rows[0]
        keep = [i for i, name in enumerate(header) if name not in ("product_id", "email")]
        currency = header.index("currency")
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow([header[i] for i in keep])
            for row in rows[1:]:
                if len(row) == len(header):
                    row[currency] = "GBP"
                    out.writerow([row[i] for i in keep])


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("orders_only") / "data",
                        duckdb_memory_limit="1GB")
    simulate(settings, scale="xs", seed=7, end_date=DAY, orders_format="generic")
    orders_only_in_pounds(settings)
    summaries = {}
    for source in source_names():
        daily.ingest(settings, source, DAY, RUN)
    for step in ("transform", "score_churn", "score_ltv", "score_lead", "forecast_units",
                 "find_personas", "optimise_ads", "run_experiments", "personalize",
                 "generate_content", "transform_reports", "export", "audit", "publish",
                 "report"):
        summaries[step] = getattr(daily, step)(settings, DAY, RUN)
    return settings, summaries


def query(settings: Settings, sql: str) -> list[tuple]:
    return published_query(settings, sql, published=True)


def test_it_publishes_scores_and_forecasts_the_shops_total_units(shop):
    settings, summaries = shop
    assert summaries["score_churn"]["scored"] > 100 and summaries["score_ltv"]["scored"] > 100
    forecast = summaries["forecast_units"]
    assert forecast["level"] == "total" and forecast["rows"] > 0
    assert forecast["note"].startswith(
        "no product ids in the orders: forecast the shop's total units; 10"), forecast["note"]
    assert query(settings, "select distinct sku from ml.forecast") == [(ALL_PRODUCTS,)]
    (published,) = query(settings, "select row_counts from meta.runs")[0]
    assert json.loads(published)["marts.data_coverage"] == 13
    # One currency and no reporting currency set: money is reported in it, with no rates.
    assert query(settings, "select distinct reporting_currency, fx_rate, "
                           "bool_and(amount_reporting = amount) from marts.fct_orders "
                           "group by all") == [("GBP", 1.0, True)]


def test_each_step_says_what_it_lacked(shop):
    _, summaries = shop
    lacks = {step: summary.get("lacks") for step, summary in summaries.items()}
    assert lacks["forecast_units"] == [
        "the orders carry no product ids: units are forecast for the shop's total, not per "
        "product"
    ]
    assert lacks["score_lead"] == [
        "no CRM contacts (HubSpot): no lead scores and no CRM upload file"
    ]
    assert lacks["export"][0] == (
        "no customer has an email address or a phone number: no Mailchimp, Meta or Google "
        "audience can be made"
    )
    assert any("no best send hour" in s for s in lacks["find_personas"])
    assert any("no product mix" in s for s in lacks["find_personas"])
    assert any("no NPS" in s for s in lacks["score_churn"])
    # One currency, the orders': nothing lacking there.
    assert not any("currencies" in s for s in lacks["report"])
    assert len(lacks["transform"]) == 10 == len(lacks["report"])
    assert any("no social media exports" in s for s in lacks["find_personas"])


def test_the_exports_say_why_they_are_empty(shop):
    settings, summaries = shop
    manifest = json.loads(
        (settings.exports_dir / DAY.isoformat() / "manifest.json").read_text())
    assert manifest["lacks"] == summaries["export"]["lacks"]
    # No file names a person: no one has an email, a phone or a GA4 device id.
    per_persona = {PERSONAS_PLATFORM, META_PLATFORM, GOOGLE_PLATFORM}
    people = [f for f in manifest["files"] if f["platform"] not in per_persona]
    assert {f["platform"] for f in people} >= {LOOKUP_PLATFORM}
    assert all(f["rows"] == 0 for f in people), people
    # What is written per persona (the site feed, each persona's ad copy) still is.
    assert {f["platform"] for f in manifest["files"] if f["rows"]} == per_persona


def test_the_report_shows_what_it_could_not_cover_and_money_in_pounds(shop):
    settings, summaries = shop
    page = (settings.reports_dir / DAY.isoformat() / "index.html").read_text()
    assert "What this report could not cover, and why" in page
    assert "The orders carry no product ids" in page and "No CRM contacts (HubSpot)" in page
    assert "money in GBP" in page and "GBP " in page and "$" not in page
    assert summaries["report"]["money_in"] == "GBP"
    # The shop's total units are forecast and charted (the orders carry no product ids).
    assert 'id="forecast"' in page and "Units sold per week, and the weeks ahead" in page
