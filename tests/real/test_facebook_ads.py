"""Facebook ads by audience cell (Kaggle's KAG_conversion_data.csv: 1,143 ads, lifetime totals,
no dates) reach the product the way a shop's own Ads Manager report would: written as the CSV
report Ads Manager exports, converted by `marketing convert meta-ads-report`, loaded by the
meta_ads ingest with the ledger, and built by dbt with every test passing.

The file has no dates and no ad level names; the mapping below is what its owner would have
exported. Assumed here, not in the data: the period (Reporting starts/ends), the currency
(USD), and that fb_campaign_id is the ad set (it groups the ads of one audience) .
Total_Conversion are people who enquired (Leads), Approved_Conversion people who bought
(Purchases), as the Kaggle page defines them.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from pipelines.config import Settings
from pipelines.ingest.meta_ads_report import convert_meta_ads_report
from tests.conftest import query

from .realdata import run_daily_ingest_and_transform

pytestmark = [pytest.mark.real, pytest.mark.integration, pytest.mark.slow]

ASSUMED_START, ASSUMED_END = date(2017, 8, 17), date(2017, 8, 30)
ADS = 1_143


def read_kag(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def write_ads_manager_report(ads: list[dict], target) -> None:
    """The KAG columns under the Ads Manager headers they correspond to."""
    header = ["Reporting starts", "Reporting ends", "Campaign ID", "Campaign name",
              "Ad set ID", "Ad set name", "Ad ID", "Age", "Gender", "Amount spent (USD)",
              "Impressions", "Clicks (all)", "Leads", "Purchases"]
    with target.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for ad in ads:
            out.writerow([
                ASSUMED_START, ASSUMED_END, ad["xyz_campaign_id"],
                f"campaign {ad['xyz_campaign_id']}", ad["fb_campaign_id"],
                # Advertisers name ad sets by their audience; the interest code has no column.
                f"{ad['age']} {ad['gender']} interest {ad['interest']}", ad["ad_id"],
                ad["age"], ad["gender"], ad["Spent"], ad["Impressions"], ad["Clicks"],
                ad["Total_Conversion"], ad["Approved_Conversion"]])


@pytest.fixture(scope="module")
def ads_shop(real_file, tmp_path_factory):
    ads = read_kag(real_file("kag_facebook_ads", "KAG_conversion_data.csv"))
    folder = tmp_path_factory.mktemp("kag")
    report = folder / "ads_manager_report.csv"
    write_ads_manager_report(ads, report)
    settings = Settings(home=folder / "data", duckdb_memory_limit="1GB", duckdb_threads=1)
    conversion = convert_meta_ads_report(report, settings.landing_dir)
    summary = run_daily_ingest_and_transform(settings, ASSUMED_END, "real-kag")
    return settings, ads, conversion, summary



def cents(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_every_ad_is_converted_and_loaded_with_its_ledger_entry(ads_shop):
    settings, ads, conversion, _ = ads_shop
    assert len(ads) == ADS
    assert (conversion.rows, conversion.multi_day_rows, conversion.currency) == (ADS, ADS, "USD")
    assert conversion.path.name == "ads_insights_20170817_20170830.ndjson"
    assert query(settings, "select source, status, rows_read, rows_loaded, rows_quarantined "
                           "from audit.loads where status <> 'empty'") == [
        ("meta_ads", "loaded", ADS, ADS, 0)]
    assert query(settings, "select count(*) from raw.quarantine") == [(0,)]
    genders = Counter(ad["gender"] for ad in ads)
    assert genders == {"M": 592, "F": 551}
    assert dict(query(settings, "select gender->>'$', count(*) from raw.meta_ads__insights "
                                "group by 1")) == genders


def test_dbt_builds_the_ad_models_and_every_test_passes(ads_shop):
    *_, summary = ads_shop
    assert set(summary["status"]) <= {"success", "pass"}, summary


def test_ad_performance_keeps_the_file_s_totals(ads_shop):
    settings, ads, _, _ = ads_shop
    totals = query(settings, "select count(*), count(distinct ad_id), sum(spend), "
                             "sum(impressions), sum(clicks), sum(platform_purchases), "
                             "sum(platform_leads), min(date_day), max(currency), "
                             "sum(reconciled_purchases) from marts.fct_ad_conversions")
    # SOURCE.md: Impressions 213,434,828; Clicks 38,165; Total_Conversion 3,264 (enquiries);
    # Approved_Conversion 1,079 (sales). Spend is cast to cents row by row.
    assert totals == [(ADS, ADS, sum(cents(ad["Spent"]) for ad in ads), 213_434_828, 38_165,
                       1_079.0, 3_264.0, ASSUMED_START, "USD", 0)]
    assert round(sum(float(ad["Spent"]) for ad in ads), 2) == 58_705.23
    by_campaign = Counter()
    for ad in ads:
        by_campaign[ad["xyz_campaign_id"]] += cents(ad["Spent"])
    assert dict(query(settings, "select campaign_id, sum(spend) from marts.fct_ad_conversions "
                                "group by 1")) == by_campaign
