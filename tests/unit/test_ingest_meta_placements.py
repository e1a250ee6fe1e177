"""Meta Ads placement breakdown and ad creatives: loaded beside the ad-level Insights, with
the ledger, the quarantine and restated days as the other Meta files."""

from __future__ import annotations

import json
from datetime import date

from conftest import write_landing

from pipelines.ingest.run import ingest_source
from pipelines.ingest.sources import spec_for
from tests.conftest import query as rows


def placement(ad_id: str, position: str, spend: str, day: str = "2026-10-29", **extra) -> str:
    return json.dumps({
        "date_start": day, "date_stop": day, "account_id": "1", "account_currency": "USD",
        "ad_id": ad_id, "impressions": "100", "clicks": "3", "spend": spend,
        "actions": [{"action_type": "purchase", "value": "1"}],
        "publisher_platform": position.split("/")[0], "platform_position": position.split("/")[1],
        **extra,
    })  # fmt: skip


def creative(ad_id: str, title: str) -> str:
    return json.dumps({
        "id": ad_id, "name": f"{title} | Broad", "adset_id": "9", "campaign_id": "8",
        "status": "ACTIVE", "effective_status": "ACTIVE",
        "created_time": "2026-01-01T09:00:00+0000",
        "creative": {"id": f"c{ad_id}", "title": title, "body": "Fresh coffee.",
                     "call_to_action_type": "SHOP_NOW"},
    })  # fmt: skip


def test_each_meta_file_kind_has_its_own_table() -> None:
    names = {
        "ads_insights_20261029.ndjson": "insights",
        "ads_insights_20261001_20261031.ndjson": "insights",
        "placement_insights_20261029.ndjson": "placement_insights",
        "ad_creatives_20261031.ndjson": "ads",
    }
    for name, entity in names.items():
        spec = spec_for("meta_ads", name)
        assert spec is not None and spec.entity == entity, name


def test_placements_load_restated_days_replace_and_bad_rows_are_quarantined(settings) -> None:
    lines = [placement("1", "facebook/feed", "2.50"), placement("1", "instagram/feed", "1.00"),
             placement("2", "facebook/story", "lots"),  # spend is not a number
             placement("3", "facebook/feed", "1.00", publisher_platform=None)]  # fmt: skip
    lines += [placement(str(ad), "facebook/feed", "1.00") for ad in range(10, 50)]
    write_landing(settings, "meta_ads", "2026-10-30", "placement_insights_20261029.ndjson",
                  "\n".join(lines))  # fmt: skip
    ingest_source(settings, "meta_ads", "r1", date(2026, 10, 30))
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (3, "bad type: spend is not a number"),
        (4, "missing required field: publisher_platform")]
    assert rows(settings, "select rows_read, rows_loaded, rows_quarantined from audit.loads") \
        == [(44, 42, 2)]  # fmt: skip
    # Loading again reads nothing new: the ledger knows the file.
    ingest_source(settings, "meta_ads", "r2", date(2026, 10, 30))
    assert rows(settings, "select count(*) from raw.meta_ads__placement_insights") == [(42,)]
    # The next export restates the day: its rows replace the day's, never add to them.
    write_landing(settings, "meta_ads", "2026-10-31", "placement_insights_20261029.ndjson",
                  "\n".join([placement("1", "facebook/feed", "2.60"),
                             placement("1", "instagram/feed", "1.10"),
                             placement("1", "instagram/instagram_reels", "0.30")]))  # fmt: skip
    ingest_source(settings, "meta_ads", "r3", date(2026, 10, 31))
    restated = "select platform_position, spend from raw.meta_ads__placement_insights order by 1, 2"
    assert rows(settings, restated) == [
        ("feed", "1.10"), ("feed", "2.60"), ("instagram_reels", "0.30")]


def test_ad_creatives_load_with_their_nested_creative(settings) -> None:
    text = "\n".join([creative("1", "Morning Ritual"), creative("2", "Gift Guide"),
                      '{"name": "no id"}'])  # fmt: skip
    write_landing(settings, "meta_ads", "2026-10-31", "ad_creatives_20261031.ndjson", text)
    ingest_source(settings, "meta_ads", "r1", date(2026, 10, 31))
    nested = "select id, creative.title, creative.call_to_action_type from raw.meta_ads__ads"
    assert rows(settings, nested + " order by 1") == [
        ("1", "Morning Ritual", "SHOP_NOW"), ("2", "Gift Guide", "SHOP_NOW")]
    assert rows(settings, "select row_number, reason from raw.quarantine") == [
        (3, "missing required field: id")]
