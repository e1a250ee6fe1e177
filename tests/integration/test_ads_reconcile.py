"""The ad reconciliation tables build on a small world, and every column a KPI reads equals
an independent recomputation in Polars: the Insights restatement rule from the raw rows, the
click-matching waterfall and window from the sessions, Conversions API events and orders, and
the per-ad-day sums from the result; and, on the same world after the rest of the daily steps,
every KPI of the worksheet (one world for both: each is minutes to build)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import daily
from pipelines.ads.kpis import KPI_CHANNELS, load_kpis
from pipelines.ads.settings import load_ads_settings
from pipelines.config import Settings
from pipelines.ingest.sources import SOURCES
from pipelines.transform import build
from pipelines.warehouse import connect
from simulator import continue_days, simulate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)
CONTINUED = 2
FBC = r"^fb\.[0-9]+\.[0-9]+\.(.+)$"


def read(settings: Settings, sql: str) -> pl.DataFrame:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    s = Settings(home=tmp_path_factory.mktemp("ads_reconcile") / "data")
    simulate(s, scale="xs", seed=11, end_date=DAY, history_days=300, max_days=CONTINUED)
    # Daily exports after the first restate their recent Insights days.
    continue_days(s, CONTINUED)
    for day in (DAY, DAY + timedelta(days=CONTINUED)):
        for source in SOURCES:
            daily.ingest(s, source, day, f"run-{day}")
    build(s, DAY + timedelta(days=CONTINUED))  # the transform step's dbt, ads.yml's window
    return s


def actions_sum(column: str, kind: str) -> pl.Expr:
    return (pl.col(column).list.eval(
        pl.element().filter(pl.element().struct.field("action_type") == kind)
        .struct.field("value").cast(pl.Float64)).list.sum().fill_null(0.0))  # fmt: skip


def landing_insights(settings: Settings) -> pl.DataFrame:
    """Every ad-level Insights row (not the placement breakdown) of every export folder, with
    the folder's date (lines that are not JSON are quarantined by the loader, so left out here
    too)."""
    rows = []
    for path in sorted((settings.landing_dir / "meta_ads").glob("*/ads_insights_*.ndjson")):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows.append({**row, "exported": path.parent.name})
    return pl.DataFrame(rows, infer_schema_length=None)


def test_platform_columns_take_the_newest_restatement_of_each_day(settings):
    exported = landing_insights(settings)
    restated = exported.filter(pl.col("exported").n_unique().over("date_start", "ad_id") > 1)
    assert restated.height > 0, "no restated day to test"
    newest = (
        exported.sort("exported", descending=True)
        .unique(["date_start", "ad_id"], keep="first")
        .with_columns(is_restated=pl.struct("date_start", "ad_id").is_in(
            restated.select(pl.struct("date_start", "ad_id")).to_series().implode()))
        .select(
            pl.col("date_start").str.to_date().alias("date_day"), "ad_id", "is_restated",
            pl.col("spend").cast(pl.Float64).cast(pl.Decimal(18, 2)),
            pl.col("impressions").cast(pl.Int64), pl.col("clicks").cast(pl.Int64),
            pl.col("inline_link_clicks").cast(pl.Int64).alias("link_clicks"),
            actions_sum("actions", "purchase").alias("platform_purchases"),
            actions_sum("action_values", "purchase").round(2).alias("platform_purchase_value"),
            actions_sum("actions", "lead").alias("platform_leads"),
        )
    )  # fmt: skip
    ours = read(settings, "select date_day, ad_id, spend, impressions, clicks, link_clicks, "
                          "platform_purchases, cast(platform_purchase_value as double) "
                          "as platform_purchase_value, platform_leads, platform_roas "
                          "from marts.fct_ad_conversions")  # fmt: skip
    joined = newest.join(ours, on=["date_day", "ad_id"], how="inner")
    assert joined.height == newest.height and joined["is_restated"].sum() > 0
    for col in ("spend", "impressions", "clicks", "link_clicks", "platform_purchases",
                "platform_leads"):
        assert (joined[col] == joined[f"{col}_right"]).all(), col
    assert ((joined["platform_purchase_value"] - joined["platform_purchase_value_right"]).abs()
            < 0.005).all()  # fmt: skip
    spent = joined.filter(pl.col("spend") > 0)
    roas = spent["platform_purchase_value_right"] / spent["spend"].cast(pl.Float64)
    assert ((roas - spent["platform_roas"]).abs() < 1e-6).all()
    # Every ad-day of Insights is a row; the rest are days with shop conversions only.
    extra = ours.join(newest, on=["date_day", "ad_id"], how="anti")
    assert (extra["spend"] == 0).all() and extra["platform_roas"].is_null().all()


def attribute(settings: Settings, click_days: int) -> pl.DataFrame:
    """The last click within `click_days` before each order and lead, by the waterfall
    (click id, then utm_content, then the person's clicks), recomputed in Polars."""
    ads = read(settings, "select distinct ad_id from staging.stg_meta_ads__insights")
    ids = read(settings, "select identifier_type, identifier, customer_key "
                         "from intermediate.int_identity__identifiers "
                         "where customer_key is not null")  # fmt: skip
    sessions = read(settings, "select session_key, user_pseudo_id, fbclid, utm_content, "
                              "session_started_at, purchases, transaction_ids "
                              "from intermediate.int_ga4__sessions "
                              "where utm_content is not null")  # fmt: skip
    sessions = sessions.join(ads, left_on="utm_content", right_on="ad_id", how="semi").with_columns(
        click_key=pl.coalesce("fbclid:" + pl.col("fbclid"), "session:" + pl.col("session_key")))
    device = ids.filter(pl.col("identifier_type") == "ga4_user_pseudo_id")
    click_id = ids.filter(pl.col("identifier_type") == "meta_click_id")
    clicks = (
        sessions.sort("session_started_at", "session_key")
        .group_by("click_key").agg(pl.all().first())
        .join(device.select(pl.col("identifier").alias("user_pseudo_id"),
                            pl.col("customer_key").alias("device_key")),
              on="user_pseudo_id", how="left")
        .join(click_id.select(pl.col("identifier").alias("fbclid"),
                              pl.col("customer_key").alias("click_key_person")),
              on="fbclid", how="left")
        .select("click_key", "fbclid", pl.col("utm_content").alias("ad_id"),
                pl.col("session_started_at").alias("clicked_at"),
                pl.coalesce("device_key", "click_key_person").alias("customer_key"))
    )  # fmt: skip
    orders = read(settings, "select order_id, customer_key, ordered_at as converted_at "
                            "from marts.fct_orders where has_purchase_lines")  # fmt: skip
    shop_ids = read(settings, 'select distinct "Name" as order_id, "Id" as platform_order_id '
                              'from raw.shop__orders where "Id" is not null')  # fmt: skip
    orders = orders.join(shop_ids, on="order_id", how="left").with_columns(
        pl.coalesce("platform_order_id", "order_id").alias("platform_order_id"))
    leads = read(settings, "select hubspot_record_id as order_id, customer_key, "
                           "created_at as converted_at from marts.fct_leads "
                           "where (converted_at is null or converted_at > created_at) "
                           "and created_at is not null")  # fmt: skip
    capi = read(settings, "select order_id as platform_order_id, fbc "
                          "from staging.stg_meta_capi__events "
                          "where event_name = 'Purchase' and order_id is not null "
                          "and fbc is not null")  # fmt: skip
    ga4_links = (
        sessions.filter(pl.col("purchases") > 0).explode("transaction_ids")
        .select(pl.col("transaction_ids").alias("platform_order_id"), "click_key",
                pl.when(pl.col("fbclid").is_not_null()).then(1).otherwise(2).alias("rank"))
    )  # fmt: skip
    capi_links = capi.select(
        "platform_order_id",
        ("fbclid:" + pl.col("fbc").str.extract(FBC, 1)).alias("click_key"),
        pl.lit(1).alias("rank"))
    links = pl.concat([ga4_links, capi_links]).join(
        orders.select("order_id", "platform_order_id"), on="platform_order_id"
    ).drop("platform_order_id")
    conversions = pl.concat([orders.drop("platform_order_id").with_columns(kind=pl.lit(
        "purchase")), leads.with_columns(kind=pl.lit("lead"))])
    identity = conversions.filter(pl.col("customer_key").is_not_null()).join(
        clicks.select("click_key", "customer_key"), on="customer_key"
    ).select("order_id", "click_key", pl.lit(3).alias("rank"))
    candidates = (
        pl.concat([links.select("order_id", "click_key", pl.col("rank").cast(pl.Int32)),
                   identity.with_columns(pl.col("rank").cast(pl.Int32))])
        .join(conversions, on="order_id")
        .join(clicks.select("click_key", "ad_id", "clicked_at"), on="click_key")
        .filter(pl.col("clicked_at").dt.truncate("1m") <= pl.col("converted_at"),
                pl.col("converted_at") <= pl.col("clicked_at") + timedelta(days=click_days))
    )  # fmt: skip
    return (
        candidates.sort(["clicked_at", "rank", "click_key"], descending=[True, False, False])
        .group_by("kind", "order_id").agg(pl.all().first())
        .select(pl.col("kind").alias("conversion_kind"), pl.col("order_id").alias(
            "conversion_id"), "ad_id", pl.col("clicked_at").dt.date().alias("click_date"),
            pl.col("rank").replace_strict({1: "click_id", 2: "utm", 3: "identity"},
                                          return_dtype=pl.String).alias("match_method"))
        .sort("conversion_kind", "conversion_id")
    )  # fmt: skip


def test_attributed_orders_equal_the_waterfall_recomputed(settings):
    window = load_ads_settings(settings.ads_file).attribution.click_days
    expected = attribute(settings, window)
    ours = read(settings, "select conversion_kind, conversion_id, ad_id, click_date, "
                          "match_method from marts.fct_ad_attributed_orders "
                          "order by conversion_kind, conversion_id")  # fmt: skip
    assert expected.height > 20 and set(expected["match_method"]) >= {"click_id", "identity"}
    assert set(expected["conversion_kind"]) == {"purchase", "lead"}
    assert_frame_equal(ours, expected)


def test_reconciled_columns_sum_the_attributed_orders(settings):
    attributed = read(settings, "select * from marts.fct_ad_attributed_orders")
    purchases = pl.col("conversion_kind") == "purchase"
    live = purchases & ~pl.col("is_cancelled")
    expected = (
        attributed.group_by(pl.col("click_date").alias("date_day"), "ad_id")
        .agg(live.sum().cast(pl.Int32).alias("reconciled_purchases"),
             pl.col("value").filter(live).cast(pl.Float64).sum().alias("reconciled_value"),
             (live & pl.col("is_new_customer")).sum().cast(pl.Int32)
             .alias("reconciled_new_customers"),
             (pl.col("conversion_kind") == "lead").sum().cast(pl.Int32)
             .alias("reconciled_leads"),
             (purchases & pl.col("is_cancelled")).sum().cast(pl.Float64)
             .alias("gap_refunded_cancelled"))
    )  # fmt: skip
    ours = read(settings, "select date_day, ad_id, reconciled_purchases, "
                          "cast(reconciled_value as double) as reconciled_value, "
                          "reconciled_new_customers, reconciled_leads, gap_refunded_cancelled, "
                          "spend, reconciled_roas, platform_purchases, gap_duplicates, "
                          "gap_outside_window, gap_unmatched from marts.fct_ad_conversions")
    joined = ours.join(expected, on=["date_day", "ad_id"], how="left").fill_null(0)
    for col in ("reconciled_purchases", "reconciled_new_customers", "reconciled_leads",
                "gap_refunded_cancelled"):
        assert (joined[col] == joined[f"{col}_right"]).all(), col
    assert ((joined["reconciled_value"] - joined["reconciled_value_right"]).abs() < 0.01).all()
    assert ours["reconciled_purchases"].sum() == expected["reconciled_purchases"].sum() > 0
    spent = ours.filter(pl.col("spend") > 0)
    roas = spent["reconciled_value"] / spent["spend"].cast(pl.Float64)
    assert ((roas - spent["reconciled_roas"]).abs() < 1e-6).all()
    gap = (ours["platform_purchases"] - ours["reconciled_purchases"]) - (
        ours["gap_duplicates"] + ours["gap_outside_window"] + ours["gap_refunded_cancelled"]
        + ours["gap_unmatched"])
    assert (gap.abs() < 1e-9).all()


def test_capi_purchases_are_deduplicated_events_on_their_click(settings):
    raw = read(settings, "select event_name, event_id, event_time, custom_data.value as value, "
                         "user_data.fbc as fbc, _file, _row from raw.meta_capi__events "
                         "where event_name = 'Purchase' and user_data.fbc is not null")
    assert raw.select("event_name", "event_id").is_duplicated().any(), "no duplicate to test"
    events = raw.sort("event_time", "_file", "_row").unique(["event_name", "event_id"],
                                                            keep="first")
    clicks = read(settings, "select fbclid, ad_id, clicked_at from intermediate.int_ads__clicks "
                            "where fbclid is not null")  # fmt: skip
    window = timedelta(days=load_ads_settings(settings.ads_file).attribution.click_days)
    expected = (
        events.with_columns(fbclid=pl.col("fbc").str.extract(FBC, 1),
                            event_at=pl.from_epoch("event_time", time_unit="s")
                            .dt.replace_time_zone("UTC"))
        .join(clicks.with_columns(pl.col("clicked_at").dt.convert_time_zone("UTC")),
              on="fbclid")
        .filter(pl.col("event_at") >= pl.col("clicked_at"),
                pl.col("event_at") <= pl.col("clicked_at") + window)
        .group_by(pl.col("clicked_at").dt.date().alias("date_day"), "ad_id")
        .agg(pl.len().cast(pl.Int32).alias("capi_purchases"))
    )  # fmt: skip
    ours = read(settings, "select date_day, ad_id, capi_purchases from marts.fct_ad_conversions "
                          "where capi_purchases > 0")  # fmt: skip
    assert expected.height > 0
    assert_frame_equal(ours, expected, check_row_order=False, check_dtypes=False)

# The KPI worksheet on the same world: every KPI equals an independent recomputation (Polars over
# the staging tables, and the reconciled ad conversions, the scores and the orders mart for what
# only they hold), not the worksheet's SQL, after the rest of the daily steps on the run day.
RUN_DAY = DAY + timedelta(days=CONTINUED)
RUN = "kpis"


@pytest.fixture(scope="module")
def built(settings: Settings) -> Settings:
    daily.transform(settings, RUN_DAY, RUN)
    daily.score_ltv(settings, RUN_DAY, RUN)
    daily.forecast_units(settings, RUN_DAY, RUN)  # the report's forecast models read it
    daily.find_personas(settings, RUN_DAY, RUN)
    daily.optimise_ads(settings, RUN_DAY, RUN)
    daily.run_experiments(settings, RUN_DAY, RUN)
    daily.personalize(settings, RUN_DAY, RUN)
    daily.generate_content(settings, RUN_DAY, RUN)
    daily.transform_reports(settings, RUN_DAY, RUN)
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
        and order_date <= date '{RUN_DAY}'""").with_columns(_week("order_date"))
    ltv = _read(settings, "select customer_key, cast(score as double) as ltv "
                          "from ml.scores where model = 'ltv'")
    spend = _read(settings, "select date_day, spend from staging.stg_meta_ads__insights")
    answers = _read(settings, "select submitted_at, nps_score from "
                              "staging.stg_typeform__responses where nps_score is not null")
    answers = answers.filter(
        pl.col("submitted_at").dt.convert_time_zone("UTC").dt.date() <= RUN_DAY)
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
        daily.transform_reports(replace(built, kpis_file=bad), RUN_DAY, RUN)
