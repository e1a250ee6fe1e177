"""The email section from synthetic rpt_email_send_hours rows: opens and clicks by campaign,
open rate by local weekday and hour, the sentences in the digest."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import polars as pl

from pipelines.report.emails import best_hour, recent_campaigns, section, send_hours
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs

SVG = "{http://www.w3.org/2000/svg}"


def hours() -> pl.DataFrame:
    """Twelve campaigns a week apart; each reaches Tuesday 09:00 (100 sent, 40 opened,
    5 clicked) and Tuesday 15:00 (20 sent, 10 opened), plus a row of unknown hour."""
    rows = []
    for i in range(12):
        sent = datetime(2026, 10, 27, 14, tzinfo=UTC) - timedelta(weeks=i)
        title = HOSTILE if i == 0 else f"Newsletter {i}"
        for weekday, hour, sends, opens, clicks in ((2, 9, 100.0, 40, 5), (2, 15, 20.0, 10, 0),
                                                     (None, None, 5.0, 0, 1)):
            rows.append({"campaign_id": f"c{i}", "campaign_title": title,
                         "variant": "A" if i == 1 else None, "sent_at": sent,
                         "local_send_weekday": weekday, "local_send_hour": hour,
                         "sends": sends, "opens": opens, "clicks": clicks})
    # sent after the report's date: not in it
    rows.append({**rows[0], "campaign_id": "later", "campaign_title": "Later",
                 "sent_at": datetime(2026, 11, 3, 9, tzinfo=UTC)})
    return pl.DataFrame(rows)


def tables() -> dict[str, pl.DataFrame]:
    return {"reports.rpt_email_send_hours": hours()}


def test_cells_are_vector_shapes_not_an_embedded_image(settings):
    html = str(section(inputs(settings, tables())).html)
    assert "<image" not in html and "data:image" not in html


def _charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def _texts(chart: ET.Element) -> set[str]:
    return {"".join(t.itertext()) for t in chart.iter(f"{SVG}text")}


def test_campaigns_add_up_over_their_hours_newest_first():
    campaigns = recent_campaigns(hours().filter(pl.col("campaign_id") != "later"))
    assert campaigns.height == 10
    assert campaigns["campaign_id"].to_list()[:2] == ["c0", "c1"]
    assert campaigns.row(0, named=True)["sends"] == 125.0
    assert campaigns.row(0, named=True)["opens"] == 50 and campaigns["clicks"][0] == 6
    assert campaigns["label"][1] == "20 Oct 2026 · Newsletter 1 (A)"


def test_best_hour_needs_enough_sends():
    cells = send_hours(hours())
    assert cells.height == 2  # the unknown hour is left out of the grid
    # Tuesday 15:00 opens at 50% from 20 sends a campaign, pooled over 12: 240.
    assert best_hour(cells) == ("Emails reaching readers on Tue at 15:00 their time were "
                                "opened most: 50% of 240 sent.")
    # With a higher bar only 09:00 (13 x 100 sent) counts.
    assert best_hour(cells, min_sends=1000) == (
        "Emails reaching readers on Tue at 09:00 their time were opened most: 40% of 1,300 sent.")
    assert best_hour(cells, min_sends=10_000) is None


def test_section_draws_campaigns_and_heat_map(settings):
    built = section(inputs(settings, tables()))
    assert built is not None and built.key == "email" and built.order == 50
    bars, heat = _charts(str(built.html))
    assert bars.find(f"{SVG}title").text == (
        "Opens and clicks by campaign, the 10 newest, sent 25 Aug 2026 to 27 Oct 2026")
    words = _texts(bars)
    assert {"People who opened or clicked (% of emails sent)", "Campaign (newest first)",
            "Opened", "Clicked", " 40% · 50 of 125", " 4.8% · 6"} <= words
    assert not any("Later" in w for w in words)  # sent after the report's date
    assert "<script>" not in str(built.html) and "&lt;script&gt;" in str(built.html)
    words = _texts(heat)
    assert {"Open rate (%)", "Local weekday", "Local hour the email arrived (reader's time zone)",
            "Tue", "Sun", "08:00"} <= words
    assert heat.find(f"{SVG}title").text == (
        "Open rate by the reader's local send time, campaigns sent 01 Nov 2025 to 31 Oct 2026")
    assert built.digest[0].startswith("Latest campaign, ")
    assert ESCAPED[:20] in str(built.html)
    assert "50 people opened it (40% of 125 sent), 4.8% clicked." in built.digest[0]


def test_nothing_sent_no_section(settings):
    assert section(inputs(settings, {})) is None
    later = hours().filter(pl.col("campaign_id") == "later")
    assert section(inputs(settings, {"reports.rpt_email_send_hours": later})) is None
