"""The email section: opens and clicks of the recent campaigns, and open rate by the
reader's local weekday and send hour, from reports.rpt_email_send_hours."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from pipelines.report.plots.email import WEEKDAYS, campaign_rates, open_rate_heatmap
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Email"
CAMPAIGNS = 10  # the newest campaigns shown
PERIOD_DAYS = 365  # the heat map pools a year of sends, so each hour has enough of them
# An hour with fewer emails than this says little about its open rate (one open moves it
# by over 3 points), so it stays blank.
MIN_SENDS = 30
# Naming one hour the best is a stronger claim than shading it: its rate must rest on this
# many emails (a 95% interval of about +-10 points at a 50% rate).
BEST_MIN_SENDS = 100


def recent_campaigns(hours: pl.DataFrame, n: int = CAMPAIGNS) -> pl.DataFrame:
    """One row per campaign (sends, opens, clicks over all its local hours), newest first."""
    per_campaign = (hours.group_by("campaign_id")
                    .agg(pl.col("campaign_title").first(), pl.col("variant").first(),
                         pl.col("sent_at").first(), pl.col("sends").sum(),
                         pl.col("opens").sum(), pl.col("clicks").sum())
                    .sort("sent_at", "campaign_id", descending=[True, False]).head(n))
    # The date first: a long title is cut at the chart's edge, the date never.
    return per_campaign.with_columns(label=pl.format(
        "{} · {}{}", pl.col("sent_at").dt.strftime("%d %b %Y"),
        pl.col("campaign_title").fill_null(pl.col("campaign_id")),
        pl.when(pl.col("variant").is_not_null())
        .then(pl.format(" ({})", pl.col("variant"))).otherwise(pl.lit(""))))


def send_hours(hours: pl.DataFrame) -> pl.DataFrame:
    """Sends and opens per local weekday and hour (rows with a known hour only)."""
    return (hours.filter(pl.col("local_send_hour").is_not_null())
            .group_by("local_send_weekday", "local_send_hour")
            .agg(pl.col("sends").sum(), pl.col("opens").sum())
            .sort("local_send_weekday", "local_send_hour"))


def best_hour(cells: pl.DataFrame, min_sends: float = BEST_MIN_SENDS) -> str | None:
    """The local weekday and hour with the highest open rate among those with enough sends,
    in words; None when no hour has enough."""
    enough = cells.filter(pl.col("sends") >= min_sends)
    if enough.is_empty():
        return None
    row = (enough.with_columns(rate=pl.col("opens") / pl.col("sends"))
           .sort("rate", "local_send_weekday", "local_send_hour",
                 descending=[True, False, False]).row(0, named=True))
    return (f"Emails reaching readers on {WEEKDAYS[row['local_send_weekday'] - 1]} at "
            f"{row['local_send_hour']:02d}:00 their time were opened most: {row['rate']:.0%} "
            f"of {row['sends']:,.0f} sent.")


def campaign_sentence(campaign: dict) -> str:
    """The newest campaign in one sentence."""
    sends = campaign["sends"] or 0
    if not sends:
        return f"{campaign['label']}: no emails sent on record."
    people = "person" if campaign["opens"] == 1 else "people"
    return (f"Latest campaign, {campaign['label']}: {campaign['opens']:,} {people} opened it "
            f"({campaign['opens'] / sends:.0%} of {sends:,.0f} sent), "
            f"{campaign['clicks'] / sends:.1%} clicked.")


def section(inputs: ReportInputs) -> Section | None:
    hours = inputs.table("reports.rpt_email_send_hours")
    if hours is None:
        return None
    end = inputs.logical_date + timedelta(days=1)
    since = end - timedelta(days=PERIOD_DAYS)
    sent_day = pl.col("sent_at").dt.date()
    hours = hours.filter(sent_day < end)
    if hours.is_empty():
        return None
    campaigns = recent_campaigns(hours)
    year = hours.filter(sent_day >= since)
    cells = send_hours(year)
    period = f"{since:%d %b %Y} to {inputs.logical_date:%d %b %Y}"
    first, last = campaigns["sent_at"][-1], campaigns["sent_at"][0]
    charts = [campaign_rates(campaigns, period=f"the {campaigns.height} newest, sent "
                             f"{first:%d %b %Y} to {last:%d %b %Y}")]
    if cells.height:
        charts.append(open_rate_heatmap(cells, period=f"campaigns sent {period}",
                                        min_sends=MIN_SENDS))
    latest = campaign_sentence(campaigns.row(0, named=True))
    best = best_hour(cells)
    return Section(key="email", title=TITLE, order=50,
                   html=render_part("email.html.j2", latest=latest, best=best, charts=charts,
                                    min_sends=MIN_SENDS),
                   digest=tuple(s for s in (latest, best) if s))
