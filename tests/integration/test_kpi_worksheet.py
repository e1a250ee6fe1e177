"""Every KPI in the worksheet equals an independent recomputation: Polars over the staging
tables (and the reconciled ad conversions, the scores and the orders mart for what only they
hold), not the worksheet's SQL, on a small simulated shop run through the daily steps."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import daily
from pipelines.ads.kpis import KPI_CHANNELS, load_kpis
from pipelines.config import Settings
from pipelines.ingest.sources import source_names
from pipelines.warehouse import connect
from simulator import simulate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)
RUN = "kpis"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("kpis") / "data")
    # A year of history: retention needs 24 weeks, and the worksheet spans both.
    simulate(settings, scale="xs", seed=11, end_date=DAY, history_days=300)
    for source in source_names():
        daily.ingest(settings, source, DAY, RUN)
    daily.transform(settings, DAY, RUN)
    daily.score_ltv(settings, DAY, RUN)
    daily.find_personas(settings, DAY, RUN)
    daily.optimise_ads(settings, DAY, RUN)
    daily.run_experiments(settings, DAY, RUN)
    daily.transform_reports(settings, DAY, RUN)
    return settings


def _read(settings: Settings, sql: str) -> pl.DataFrame:
    # The pipeline's connection: staging views call its functions (normalized_email).
    con = connect(settings, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def _week(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Date).dt.truncate("1w").alias("week_start")


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def paid(settings: Settings) -> dict[tuple[date, str], float | None]:
    insights = _read(settings, "select * from staging.stg_meta_ads__insights")
    reconciled = _read(settings, "select * from marts.fct_ad_conversions")
    out: dict[tuple[date, str], float | None] = {}
    daily_reach = insights.group_by("date_day").agg(pl.col("reach").sum())
    # A week with reconciled conversions from clicks but no Insights row is a week too.
    weeks = set(insights.select(_week("date_day"))["week_start"]) | set(
        reconciled.select(_week("date_day"))["week_start"])
    for week in weeks:
        rows = insights.filter(_week("date_day") == week)
        days = daily_reach.filter(_week("date_day") == week)
        rec = reconciled.filter(_week("date_day") == week)
        spend = float(rows["spend"].cast(pl.Float64).sum())
        impressions = float(rows["impressions"].sum())
        clicks = float(rows["link_clicks"].sum())
        conversions = float(rec["reconciled_purchases"].sum() + rec["reconciled_leads"].sum())
        values = {
            "spend": spend, "impressions": impressions,
            "reach": float(days["reach"].max() or 0),
            "frequency": _ratio(impressions, float(days["reach"].sum())),
            "ctr": _ratio(clicks, impressions), "cpc": _ratio(spend, clicks),
            "cpm": _ratio(spend * 1000, impressions), "conversions": conversions,
            "conversion_rate": _ratio(conversions, clicks), "cpa": _ratio(spend, conversions),
            "new_customer_cac": _ratio(spend, float(rec["reconciled_new_customers"].sum())),
            "roas_platform": _ratio(float(rows["purchase_value"].cast(pl.Float64).sum()), spend),
            "roas_reconciled": _ratio(float(rec["reconciled_value"].cast(pl.Float64).sum()),
                                      spend),
        }
        out.update({(week, kpi): v for kpi, v in values.items()})
    return out


def email(settings: Settings) -> dict[tuple[date, str], float | None]:
    campaigns = _read(settings, "select campaign_id, sent_at, emails_sent "
                                "from staging.stg_mailchimp__campaigns where sent_at is not null")
    activity = _read(settings, "select distinct campaign_id, email, action "
                               "from staging.stg_mailchimp__email_activity")
    people = activity.group_by("campaign_id", "action").agg(pl.len().alias("people")).pivot(
        on="action", index="campaign_id", values="people")
    for action in ("open", "click", "bounce", "unsubscribe"):
        if action not in people.columns:
            people = people.with_columns(pl.lit(0).alias(action))
    joined = campaigns.join(people, on="campaign_id", how="left").fill_null(0).with_columns(
        pl.col("sent_at").dt.convert_time_zone("UTC").dt.date().dt.truncate("1w")
        .alias("week_start"))
    out: dict[tuple[date, str], float | None] = {}
    for (week,), rows in joined.group_by("week_start"):
        delivered = float(rows["emails_sent"].sum() - rows["bounce"].sum())
        out[(week, "email_sends")] = float(rows["emails_sent"].sum())
        out[(week, "email_open_rate")] = _ratio(float(rows["open"].sum()), delivered)
        out[(week, "email_click_rate")] = _ratio(float(rows["click"].sum()), delivered)
        out[(week, "email_unsubscribe_rate")] = _ratio(float(rows["unsubscribe"].sum()),
                                                       delivered)
    return out


def shop(settings: Settings) -> dict[tuple[date, str], float | None]:
    orders = _read(settings, f"""select customer_key, order_date from marts.fct_orders
        where is_purchase and not is_cancelled and customer_key is not null
        and order_date <= date '{DAY}'""").with_columns(_week("order_date"))
    ltv = _read(settings, "select customer_key, cast(score as double) as ltv "
                          "from ml.scores where model = 'ltv'")
    spend = _read(settings, "select date_day, spend from staging.stg_meta_ads__insights")
    answers = _read(settings, "select submitted_at, nps_score from "
                              "staging.stg_typeform__responses where nps_score is not null")
    answers = answers.filter(pl.col("submitted_at").dt.convert_time_zone("UTC").dt.date() <= DAY)
    answers = answers.with_columns(
        pl.col("submitted_at").dt.convert_time_zone("UTC").dt.date().dt.truncate("1w")
        .alias("week_start"))
    weeks_of = {k: set(v) for k, v in orders.group_by("customer_key").agg(
        pl.col("week_start")).iter_rows()}
    first_of = {k: min(v) for k, v in weeks_of.items()}
    first_week = min(first_of.values())
    ltv_of = dict(ltv.iter_rows())
    spend_of = {w: float(s) for w, s in spend.with_columns(_week("date_day")).group_by(
        "week_start").agg(pl.col("spend").cast(pl.Float64).sum()).iter_rows()}
    out: dict[tuple[date, str], float | None] = {}
    for week in set(orders["week_start"]) | set(answers["week_start"]):
        buyers = [k for k, ws in weeks_of.items() if week in ws]
        new = [k for k in buyers if first_of[k] == week]
        out[(week, "repeat_rate")] = _ratio(sum(first_of[k] < week for k in buyers),
                                            len(buyers))
        earlier = {k for k, ws in weeks_of.items()
                   if any(week - timedelta(weeks=23) <= w <= week - timedelta(weeks=12)
                          for w in ws)}
        later = {k for k, ws in weeks_of.items()
                 if any(week - timedelta(weeks=11) <= w <= week for w in ws)}
        out[(week, "retention")] = (_ratio(len(earlier & later), len(earlier))
                                    if week - timedelta(weeks=23) >= first_week else None)
        scored = [ltv_of[k] for k in new if k in ltv_of]
        cac = _ratio(spend_of.get(week, 0.0), len(new)) if spend_of.get(week) else None
        out[(week, "ltv_to_cac")] = (sum(scored) / len(scored) / cac
                                     if scored and cac else None)
        scores = answers.filter(pl.col("week_start") == week)["nps_score"].to_list()
        out[(week, "nps")] = (100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores))
                              / len(scores) if scores else None)
    return out


def test_every_kpi_equals_an_independent_recomputation(built: Settings) -> None:
    sheet = _read(built, "select * from reports.rpt_kpi_worksheet")
    expected = {("paid", w, k): v for (w, k), v in paid(built).items()}
    expected |= {("email", w, k): v for (w, k), v in email(built).items()}
    expected |= {("shop", w, k): v for (w, k), v in shop(built).items()}
    got = {(c, w, k): v for c, w, k, v in sheet.select(
        "channel", "week_start", "kpi", "kpi_value").iter_rows()}
    assert set(got) == set(expected)
    assert {k for _, _, k in got} == set(KPI_CHANNELS)
    wrong = [(key, got[key], value) for key, value in expected.items()
             if not (got[key] is None and value is None)
             and (got[key] is None or value is None
                  or not math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-9))]
    assert wrong == []
    # The worksheet is not empty of meaning: each KPI has a value in some week.
    assert all(any(v is not None for (_, _, k), v in got.items() if k == kpi)
               for kpi in KPI_CHANNELS)


def test_each_kpi_carries_the_file_s_words_and_targets(built: Settings) -> None:
    kpis = load_kpis(built.kpis_file).kpis
    sheet = _read(built, "select distinct kpi, label, definition, target, good_direction "
                         "from reports.rpt_kpi_worksheet")
    assert sheet.height == len(KPI_CHANNELS)
    for kpi, label, definition, target, good in sheet.iter_rows():
        assert (label, good) == (kpis[kpi].label, kpis[kpi].good)
        assert definition == " ".join(kpis[kpi].definition.split())
        assert target == next(iter(kpis[kpi].targets.values()), None)
    verdicts = _read(built, "select kpi_value, target, good_direction, meets_target from "
                            "reports.rpt_kpi_worksheet where target is not null "
                            "and kpi_value is not null")
    assert verdicts.height > 0
    for value, target, good, meets in verdicts.iter_rows():
        assert meets == (value >= target if good == "higher" else value <= target)


def test_a_bad_kpi_file_stops_the_report_build_naming_the_field(
        built: Settings, tmp_path: Path) -> None:
    from dataclasses import replace

    from pipelines.ads.kpis import KpisSettingsError

    bad = tmp_path / "kpis.yml"
    bad.write_text(built.kpis_file.read_text().replace("good: higher", "good: up", 1))
    with pytest.raises(KpisSettingsError, match=r"kpis\.yml: kpis\.impressions\.good"):
        daily.transform_reports(replace(built, kpis_file=bad), DAY, RUN)
