"""Meta Ads Manager's CSV report becomes the Insights rows the meta_ads source loads."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.cli import main
from pipelines.ingest.meta_ads_report import ReportError, convert_meta_ads_report
from pipelines.ingest.run import ingest_source
from pipelines.warehouse import connect

HEADER = ("Reporting starts,Reporting ends,Day,Campaign name,Ad set name,Ad name,Ad ID,"
          "Amount spent (EUR),Impressions,Reach,Link clicks,Results,Result indicator,"
          "Purchases,Purchases conversion value,\"CPM (cost per 1,000 impressions) (EUR)\"")


def write_report(tmp_path, *rows: str, header: str = HEADER, name: str = "report.csv"):
    path = tmp_path / name
    # As Ads Manager and spreadsheets save it: a byte order mark and CRLF line ends.
    path.write_bytes(("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))
    return path


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_daily_report_becomes_one_insights_row_per_ad_and_day(tmp_path, settings):
    report = write_report(
        tmp_path,
        # The summary row Ads Manager adds on request: no names, no ids.
        '2026-10-01,2026-10-02,,,,,,"1,310.50",91000,,,,,,,14.40',
        '2026-10-01,2026-10-02,2026-10-01,Prospecting,Broad 25-54,Carousel – Été,238501,'
        '"1,210.50",90000,41000,1200,12,actions:offsite_conversion.fb_pixel_purchase,10,'
        '"2,345.60",13.45',
        "2026-10-01,2026-10-02,2026-10-02,Prospecting,Broad 25-54,Carousel – Été,238501,"
        "100,1000,900,9,3,actions:link_click,,,100",
    )
    done = convert_meta_ads_report(report, settings.landing_dir)
    assert done.path == settings.landing_dir / "meta_ads" / "2026-10-02" / \
        "ads_insights_20261001_20261002.ndjson"
    assert (done.rows, done.summary_rows, done.currency, done.multi_day_rows) == (2, 1, "EUR", 0)
    assert done.ignored_columns == ["CPM (cost per 1,000 impressions) (EUR)"]
    first, second = lines(done.path)
    assert first == {
        "date_start": "2026-10-01", "date_stop": "2026-10-01", "campaign_name": "Prospecting",
        "adset_name": "Broad 25-54", "ad_id": "238501", "ad_name": "Carousel – Été",
        "account_currency": "EUR", "spend": "1210.50", "impressions": "90000",
        "reach": "41000", "inline_link_clicks": "1200",
        # Purchases has its own column: the Results of the same action are not added twice.
        "actions": [{"action_type": "purchase", "value": "10"},
                    {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "12"}],
        "action_values": [{"action_type": "purchase", "value": "2345.60"}],
    }
    assert second["actions"] == [{"action_type": "link_click", "value": "3"}]
    assert "action_values" not in second

    report_ingest = ingest_source(settings, "meta_ads", "r1", date(2026, 10, 2))
    assert report_ingest.summary().startswith("meta_ads: 1 files loaded (2 rows, 0 quarantined)")
    con = connect(settings, read_only=True)
    try:
        assert con.sql("select ad_id, date_start, spend, actions[1].value "
                       "from raw.meta_ads__insights order by date_start").fetchall() == [
            ("238501", "2026-10-01", "1210.50", "10"), ("238501", "2026-10-02", "100", "3")]
    finally:
        con.close()


def test_converting_the_same_report_again_loads_nothing_twice(tmp_path, settings):
    report = write_report(tmp_path, "2026-10-01,2026-10-31,,C,S,A,1,5.5,10,,,,,,,")
    first = convert_meta_ads_report(report, settings.landing_dir).path.read_bytes()
    ingest_source(settings, "meta_ads", "r1", date(2026, 10, 31))
    again = convert_meta_ads_report(report, settings.landing_dir)
    assert again.path.read_bytes() == first
    assert again.multi_day_rows == 1
    assert ingest_source(settings, "meta_ads", "r2", date(2026, 10, 31)).count("skipped") == 1


@pytest.mark.parametrize(("rows", "header", "message"), [
    (["2026-10-01,2026-10-01,,C,S,A,1,ten,10,,,,,,,"], HEADER,
     r"report.csv row 2: 'Amount spent \(EUR\)' is not a number: 'ten'"),
    (["2026-10-01,2026-10-01,2026-10-01,C,S,A,1,1,10,,,,,,,",
      "2026-10-01,2026-10-01,2026-10-01,C,S,A,1,2,10,,,,,,,"], HEADER,
     r"row 3: ad 1 already has a row for 2026-10-01 \(row 2\); export without breakdowns"),
    (["2026-10-01,2026-10-01,C,1"], "Reporting starts,Reporting ends,Campaign name,Impressions",
     r"lacks the column\(s\) \['ad id', 'amount spent'\]"),
    (["2026-10-01,2026-10-01,1,5"], "Reporting starts,Reporting ends,Ad ID,Amount spent",
     r"no currency in the headers or a Currency column; give it with --currency"),
    (["01/10/2026,2026-10-01,1,5"], "Reporting starts,Reporting ends,Ad ID,Amount spent (USD)",
     r"row 2: Reporting starts is not a date \(YYYY-MM-DD\): '01/10/2026'"),
    (["2026-10-01,2026-10-01,Spring,,5"],
     "Reporting starts,Reporting ends,Ad name,Ad ID,Amount spent (USD)",
     r"row 2: the Ad ID is blank"),
])
def test_a_report_that_cannot_be_read_is_named_and_nothing_is_written(
        tmp_path, settings, rows, header, message):
    report = write_report(tmp_path, *rows, header=header)
    with pytest.raises(ReportError, match=message):
        convert_meta_ads_report(report, settings.landing_dir)
    assert not (settings.landing_dir / "meta_ads").exists()


def test_the_command_converts_and_says_what_it_left_out(tmp_path, settings, monkeypatch,
                                                        capsys):
    monkeypatch.setenv("MARKETING_HOME", str(settings.home))
    report = write_report(tmp_path, "2026-10-01,2026-10-01,1,5,Active,3",
                          header="Reporting starts,Reporting ends,Ad ID,Amount spent,Delivery,"
                                 "Results")
    assert main(["convert", "meta-ads-report", str(report), "--currency", "GBP",
                 "--date", "2026-10-03"]) == 0
    out = capsys.readouterr().out
    assert "meta_ads/2026-10-03/ads_insights_20261001_20261001.ndjson: 1 ad rows" in out
    assert "columns not read: Delivery, Results" in out
    assert lines(settings.landing_dir / "meta_ads" / "2026-10-03" /
                 "ads_insights_20261001_20261001.ndjson") == [
        {"date_start": "2026-10-01", "date_stop": "2026-10-01", "ad_id": "1",
         "account_currency": "GBP", "spend": "5"}]
    assert main(["convert", "meta-ads-report", str(tmp_path / "none.csv")]) == 1
    assert capsys.readouterr().err == f"not converted: {tmp_path / 'none.csv'}: no such file\n"
