"""Ground truth for the simulated world, for evaluating the pipeline; the pipeline never reads it.

Written to `truth/`: `customers.parquet` (one row per person: hidden persona, traits,
consent and the outcomes after the current end date), `identifiers.parquet` (every
identifier the landing files show and the person or people behind it: a household's landline
and a company's mailbox belong to several), `ad_response.parquet` (the true response
curve of every ad set), `ad_attribution.parquet` (every order and lead a Meta ad click really
brought within the 7-day click window), `ad_placements.parquet` (each placement's true cost,
click-through and conversion multipliers), `ad_creatives.parquet` and `ad_fatigue.parquet`
(each creative's true quality and fatigue, and its CTR multiplier day by day),
`send_times.parquet` (each person's hidden habitual hour for reading email, in local time),
`subject_lines.parquet` (each email send's subject and its wording's open-rate effect),
`defects.parquet` (every injected defect) and, in a world with identity noise,
`identity_variations.parquet` (every nickname, typo, email and phone variant, move and second
shop account injected, as the exports show it: `identity_variations`). The
"as of" columns are relative to the world's current end date and are rewritten when the world
is continued.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import polars as pl

from simulator import creative, identity_noise, social, subject_lines
from simulator import reference as ref
from simulator.exports import Tables
from simulator.plan import EFFECTS, REGIONS
from simulator.population import DAY, STAFF, Window
from simulator.webexport import cookie_ids
from simulator.writers import _typed_email, crm_state, member_status, order_email

logger = logging.getLogger(__name__)

CUSTOMERS_FILE = "customers.parquet"
IDENTIFIERS_FILE = "identifiers.parquet"
AD_RESPONSE_FILE = "ad_response.parquet"
AD_ATTRIBUTION_FILE = "ad_attribution.parquet"
AD_PLACEMENTS_FILE = "ad_placements.parquet"  # true cost, CTR and conversion multipliers
AD_CREATIVES_FILE = "ad_creatives.parquet"  # true creative quality and fatigue traits
AD_FATIGUE_FILE = "ad_fatigue.parquet"  # per ad and day: the true CTR fatigue multiplier
SUBJECT_LINES_FILE = "subject_lines.parquet"  # per email send: the wording's open-rate effect
DEFECTS_FILE = "defects.parquet"
SEND_TIMES_FILE = "send_times.parquet"  # the hidden local hour each person reads email at
IDENTITY_VARIATIONS_FILE = "identity_variations.parquet"  # worlds with identity noise only
IDENTIFIER_TYPES: tuple[str, ...] = (
    "email", "mailchimp_email_raw", "shop_customer_id", "shopify_order_email", "phone_raw",
    "phone_e164", "hubspot_record_id", "ga4_user_pseudo_id", "ga4_user_id", "capi_em_sha256",
    "capi_ph_sha256", "capi_external_id", "fbp",
)  # fmt: skip
# The identifiers several people may share: a home's landline, a company's mailbox.
SHAREABLE_TYPES: frozenset[str] = frozenset({"email", "phone_raw", "phone_e164"})
EMAIL_TYPES: frozenset[str] = frozenset({"email", "mailchimp_email_raw", "shopify_order_email"})
ACTIVE_WINDOW_DAYS = 365
CHURN_HORIZON_DAYS = 90
VALUE_HORIZON_DAYS = 365
CONVERSION_DAYS = 60


def _as_of(window: Window, date: dt.date) -> int:
    return window.history_start_ts + (window.day_of(date) + 1) * DAY


def truth_customers(t: Tables, hazard: np.ndarray, date: dt.date) -> pl.DataFrame:
    """The per-person truth table as of the end of `date`.

    One row per person ordered by person_id: persona ("staff" for the shop's own test
    accounts), shop_customer_id, email, mailchimp_status, is_active_at_end (an order in the
    365 days up to `date`), churned_next_90d (no order in the 90 days after), value_next_365d
    (dollars: order totals net of refunds, cancelled and test orders excluded),
    churn_hazard (daily hazard in force at the end of `date`), purchase_rate, left_at (when
    they stopped buying for good; null if not within the simulated future), is_lead (a
    HubSpot contact not yet a customer), converted_within_60d (leads: first order within
    60 days; null otherwise), hubspot_record_id, consent (is_eea, analytics_consent,
    ad_consent, ad_user_data, ad_personalization, ccpa_opt_out), send_hour_local, timezone,
    and for analysis role, household_id (people with one share a home: its address and
    maybe its landline), generic_email (the main email is a role mailbox), second_email,
    role_email (the company mailbox colleagues share) and company_id, phone_e164 (the mobile,
    with `+`), second_phone_e164 (landline or desk phone), arrived_at, first_order_at.
    """
    w = t.window
    as_of = _as_of(w, date)
    # Only the columns needed: the orders table is big at scale l.
    real = t.orders.select("person_id", "ts", "test", "cancel_ts", "total", "refund").filter(
        ~pl.col("test")
    )
    live = real.filter(pl.col("cancel_ts") < 0)
    recent = real.filter(pl.col("ts").is_between(as_of - ACTIVE_WINDOW_DAYS * DAY, as_of,
                                                 closed="left"))  # fmt: skip
    soon = live.filter(pl.col("ts").is_between(as_of, as_of + CHURN_HORIZON_DAYS * DAY,
                                               closed="left"))  # fmt: skip
    value = (
        live.filter(pl.col("ts").is_between(as_of, as_of + VALUE_HORIZON_DAYS * DAY,
                                            closed="left"))
        .group_by("person_id")
        .agg((pl.col("total") - pl.col("refund")).sum().alias("value_cents"))
    )
    status = member_status(t.mc_events, as_of).select("person_id", "status")
    crm = crm_state(t.crm_events, as_of).select("person_id", pl.col("stage").alias("crm_stage"))
    k = w.day_of(date) - (w.history_days - 1)
    p = t.people.select(
        "person_id", "persona", "role", "shop_customer_id", "account_ts", "email",
        "purchase_rate", "left_ts", "hs_create_ts", "hubspot_record_id", "first_order_ts",
        "is_eea", "analytics_consent", "ad_consent", "ad_user_data", "ad_personalization",
        "ccpa_opt_out", "send_hour_local", "timezone", "household_id", "generic_email",
        "second_email", "role_email", "company_id", "phone_e164", "second_phone_e164",
        "arrive_ts",
    )  # fmt: skip
    statuses = pl.Series(ref.MAILCHIMP_STATUSES)

    def ts_col(col: str, cond: pl.Expr | None = None) -> pl.Expr:
        expr = pl.from_epoch(pl.col(col), time_unit="s").dt.replace_time_zone("UTC")
        return expr if cond is None else pl.when(cond).then(expr)

    frame = (
        p.join(status, on="person_id", how="left", maintain_order="left")
        .join(crm, on="person_id", how="left", maintain_order="left")
        .join(value, on="person_id", how="left", maintain_order="left")
        .with_columns(
            is_active_at_end=pl.col("person_id").is_in(recent["person_id"].implode()),
            churned_next_90d=~pl.col("person_id").is_in(soon["person_id"].implode()),
            churn_hazard=pl.Series(hazard[k].astype(np.float64)),
            in_hubspot=pl.col("hs_create_ts") < as_of,
        )
        .with_columns(
            is_lead=pl.col("in_hubspot").fill_null(False) & (pl.col("crm_stage") < 5),
        )
    )
    first_in = pl.col("first_order_ts").is_between(as_of, as_of + CONVERSION_DAYS * DAY,
                                                   closed="left")  # fmt: skip
    horizon = w.horizon_ts
    return frame.select(
        "person_id",
        pl.when(pl.col("role") == STAFF).then(pl.lit("staff")).otherwise(pl.col("persona"))
        .alias("persona"),
        pl.when(pl.col("account_ts") < as_of).then(pl.col("shop_customer_id"))
        .alias("shop_customer_id"),
        "email",
        pl.when(pl.col("status").is_not_null())
        .then(pl.lit(statuses).gather(pl.col("status").fill_null(0)))
        .alias("mailchimp_status"),
        "is_active_at_end",
        "churned_next_90d",
        (pl.col("value_cents").fill_null(0) / 100).alias("value_next_365d"),
        "churn_hazard",
        "purchase_rate",
        ts_col("left_ts", pl.col("left_ts") < horizon).alias("left_at"),
        "is_lead",
        pl.when(pl.col("is_lead")).then(first_in.fill_null(False)).alias("converted_within_60d"),
        pl.when(pl.col("in_hubspot")).then(pl.col("hubspot_record_id")).alias("hubspot_record_id"),
        "is_eea",
        "analytics_consent",
        "ad_consent",
        "ad_user_data",
        "ad_personalization",
        "ccpa_opt_out",
        "send_hour_local",
        "timezone",
        pl.lit(pl.Series(ref.ROLE_NAMES)).gather(pl.col("role")).alias("role"),
        "household_id",
        "generic_email",
        "second_email",
        "role_email",
        "company_id",
        ("+" + pl.col("phone_e164")).alias("phone_e164"),
        ("+" + pl.col("second_phone_e164")).alias("second_phone_e164"),
        ts_col("arrive_ts").alias("arrived_at"),
        ts_col("first_order_ts").alias("first_order_at"),
    )


def send_times(t: Tables) -> pl.DataFrame:
    """Per person (ordered by person_id): email, IANA timezone and best_hour_local, the hidden
    local hour around which they open and click email (the population's `send_hour_local`)."""
    return t.people.select(
        "person_id", "email", "timezone",
        pl.col("send_hour_local").cast(pl.Int64).alias("best_hour_local"),
    ).sort("person_id")


def truth_identifiers(t: Tables, date: dt.date, orders_format: str) -> pl.DataFrame:
    """Every identifier the landing files show up to the end of `date` and its person.

    Returns identifier_type, identifier_value, person_id, is_shared (the value belongs to
    more than one person: a household's landline, a company mailbox colleagues use) and
    is_role_mailbox (an email type whose address is a company's role mailbox), ordered by
    type then person then value; one row per (type, value, person). In a world with
    identity noise the values are as each system holds them (a nickname's or typo's record
    is the person's all the same), and a second shop account's Customer ID, address and
    numbers are its person's too. AssertionError when a value of a type that is never
    shared maps to two people.
    """
    as_of = _as_of(t.window, date)
    noisy = identity_noise.is_noisy(t.people)
    second_account = ("acct2_ts", "acct2_id", "acct2_email", "acct2_phone",
                      "acct2_address_phone") if noisy else ()  # fmt: skip
    # The identifier columns only: filtering the wide people table would copy all of it.
    p = t.people.select(
        *second_account,
        "person_id", "email_raw", "shop_email", "mc_email", "hs_email", "hs_additional_emails",
        "second_email", "shop_customer_id", "hubspot_record_id", "h_em", "h_ph",
        "h_external_id", "phone", "address_phone", "hs_phone", "hs_mobile", "mc_phone",
        "phone_e164", "address_phone_e164", "hs_phone_e164", "hs_mobile_e164", "account_ts",
        "optin_ts", "hs_create_ts", "role_email",
    )  # fmt: skip
    account = p.filter(pl.col("account_ts") < as_of)
    member = p.filter(pl.col("optin_ts") < as_of)
    contact = p.filter(pl.col("hs_create_ts") < as_of)
    surveyed = p.join(t.surveys.filter(pl.col("submit_ts") < as_of).select("person_id"),
                      on="person_id", how="semi")  # fmt: skip
    known = p.filter(
        (pl.col("account_ts") < as_of).fill_null(False)
        | (pl.col("optin_ts") < as_of).fill_null(False)
        | (pl.col("hs_create_ts") < as_of).fill_null(False)
        | pl.col("person_id").is_in(surveyed["person_id"].implode())
    )
    sessions = t.sessions.filter(pl.col("ts") < as_of)
    cookies = (
        sessions.select("person_id", "device_idx", "gen", "ft_ts").unique()
        .join(t.devices.lazy().select("person_id", "device_idx", "pseudo_base", "fbp_rand"),
              on=["person_id", "device_idx"], how="left")
        .with_columns(cookie_ids(t.seed))
        .collect()
    )  # fmt: skip
    logged = sessions.filter(pl.col("logged_in")).select("person_id").unique().collect()
    ordered = (
        t.orders.filter(pl.col("ts") < as_of).select(
            "person_id", "email_kind", "other_email",
            *(identity_noise.ORDER_COLUMNS if noisy else ()))
        .unique()
        .join(p.select("person_id", "shop_email", "second_email",
                       *(("acct2_email",) if noisy else ())), on="person_id")
        .with_columns(email=order_email())
    )  # fmt: skip
    if noisy:
        ordered = ordered.with_columns(email=identity_noise.order_email(pl.col("email")))
    ordered = ordered.with_columns(typed=_typed_email(pl.col("email"), pl.col("email_kind")))

    def part(kind: str, frame: pl.DataFrame, col: str | pl.Expr) -> pl.DataFrame:
        value = pl.col(col) if isinstance(col, str) else col
        return frame.select(
            pl.lit(kind).alias("identifier_type"),
            value.alias("identifier_value"),
            pl.col("person_id"),
        ).filter(pl.col("identifier_value").is_not_null())

    def e164(frame: pl.DataFrame, typed: str, digits: str) -> pl.DataFrame:
        return part("phone_e164", frame.filter(pl.col(typed).is_not_null()), "+" + pl.col(digits))

    parts = [
        part("email", account, "shop_email"),
        part("email", ordered, "email"),
        part("email", member, "mc_email"),
        part("email", contact, "hs_email"),
        part("email", contact, "hs_additional_emails"),
        part("email", surveyed, "shop_email"),
        part("mailchimp_email_raw", member, "email_raw"),
        part("shop_customer_id", account, "shop_customer_id"),
        part("hubspot_record_id", contact, "hubspot_record_id"),
        part("ga4_user_pseudo_id", cookies, "user_pseudo_id"),
        part("ga4_user_id", account.join(logged, on="person_id", how="semi"),
             "shop_customer_id"),
        part("capi_em_sha256", known, "h_em"),
        part("capi_ph_sha256", known, "h_ph"),
        part("capi_external_id", account, "h_external_id"),
        part("fbp", cookies, "fbp"),
        part("phone_raw", account, "phone"),
        part("phone_raw", account, "address_phone"),
        part("phone_raw", contact, "hs_phone"),
        part("phone_raw", contact, "hs_mobile"),
        part("phone_raw", member, "mc_phone"),
        e164(account, "phone", "phone_e164"),
        e164(account, "address_phone", "address_phone_e164"),
        e164(contact, "hs_phone", "hs_phone_e164"),
        e164(contact, "hs_mobile", "hs_mobile_e164"),
        e164(member, "mc_phone", "phone_e164"),
    ]  # fmt: skip
    if noisy:
        # A second shop account: its Customer ID, address and numbers (the mobile, the
        # address phone or else the mobile).
        second = p.filter(pl.col("acct2_ts") < as_of).with_columns(
            acct2_address_e164=pl.when(pl.col("address_phone").is_not_null())
            .then("address_phone_e164").otherwise("phone_e164"))  # fmt: skip
        parts += [
            part("shop_customer_id", second, "acct2_id"),
            part("email", second, "acct2_email"),
            part("phone_raw", second, "acct2_phone"),
            part("phone_raw", second, "acct2_address_phone"),
            e164(second, "acct2_phone", "phone_e164"),
            e164(second, "acct2_address_phone", "acct2_address_e164"),
        ]
    if orders_format == "shopify":
        parts.append(part("shopify_order_email", ordered, "typed"))
    mailboxes = p["role_email"].drop_nulls().unique().implode()
    # One type at a time (deduplicated, sorted, checked): never one hash table over all
    # identifiers, which at scale l is millions of strings.
    by_type: dict[str, list[pl.DataFrame]] = {}
    for frame in parts:
        if frame.height:
            by_type.setdefault(frame["identifier_type"][0], []).append(frame)
    out = []
    for kind in IDENTIFIER_TYPES:
        if kind not in by_type:
            continue
        frame = pl.concat(by_type.pop(kind)).unique(maintain_order=True).sort(
            "person_id", "identifier_value"
        ).with_columns(is_shared=pl.col("identifier_value").is_duplicated())
        if kind not in SHAREABLE_TYPES and frame["is_shared"].any():
            raise AssertionError(f"{kind}: an identifier maps to more than one person")
        is_box = (
            pl.col("identifier_value").str.strip_chars().str.to_lowercase().is_in(mailboxes)
            if kind in EMAIL_TYPES else pl.lit(False)
        )  # fmt: skip
        out.append(frame.with_columns(is_role_mailbox=is_box))
    return pl.concat(out)


def identity_variations(t: Tables, date: dt.date) -> pl.DataFrame:
    """Every identity variation of a noisy world the exports show by the end of `date`: one
    row per variation with person_id, kind (nickname, name_typo, name_format, gmail_dots,
    plus_tag, email_typo, phone_format, phone_extension, moved, second_account), system
    (shop, mailchimp, hubspot, orders), field (first_name, last_name, email, phone,
    address_phone, mc_phone, hs_phone, hs_mobile, address1, zip, city, shop_customer_id),
    record_id (the record holding it: Customer ID, Mailchimp LEID, HubSpot Record ID or the
    order's name), value (as exported), original (what the clean world had there: the
    person's name, main address, number as typed, old address, first Customer ID) and
    first_seen_at (UTC, when the record first shows it). Ordered by person, system, field,
    kind and record. A second account's own variations (a nickname, a variant address) are
    rows of system shop with its Customer ID."""
    assert t.variations is not None
    as_of = _as_of(t.window, date)
    found = pl.concat([t.variations.filter(pl.col("ts") < as_of),
                       identity_noise.order_variations(t.orders, t.people, as_of)])
    return found.sort("person_id", "system", "field", "kind", "record_id",
                      maintain_order=True).select(
        "person_id", "kind", "system", "field", "record_id", "value", "original",
        pl.from_epoch("ts", time_unit="s").dt.replace_time_zone("UTC").alias("first_seen_at"),
    )  # fmt: skip


def ad_response(t: Tables) -> pl.DataFrame:
    """The true response curve of every ad set: expected conversions per day at daily
    spend s (dollars) = beta * s^alpha / (s^alpha + kappa^alpha). `effect` says what the
    conversions are (new buyers, leads, repeat orders, or none at all), plus the average
    daily spend while the ad set ran in the history."""
    w = t.window
    spend = (
        t.ads_daily.filter(pl.col("day") < w.history_days)
        .join(t.ads.select("ad_idx", "adset_idx"), on="ad_idx")
        .group_by("adset_idx", "day")
        .agg(pl.col("spend_cents").sum())
        .group_by("adset_idx")
        .agg((pl.col("spend_cents").mean() / 100).alias("mean_daily_spend_usd"),
             pl.len().alias("active_days"))
    )
    return (
        t.adsets.join(spend, on="adset_idx", how="left")
        .sort("adset_idx")
        .select(
            "campaign_id", "campaign_name", "objective", "adset_id", "adset_name",
            pl.lit(pl.Series(REGIONS)).gather(pl.col("region")).alias("region"),
            pl.lit(pl.Series(EFFECTS)).gather(pl.col("effect")).alias("effect"),
            pl.lit("beta * s^alpha / (s^alpha + kappa^alpha)").alias("curve"),
            "alpha",
            pl.col("kappa").alias("kappa_usd_per_day"),
            pl.col("beta").alias("beta_per_day"),
            pl.col("cpm").alias("cpm_usd_at_low_spend"),
            "ctr",
            pl.col("mean_daily_spend_usd").fill_null(0.0),
            pl.col("active_days").fill_null(0).cast(pl.Int64),
        )
    )


def ad_attribution(t: Tables, date: dt.date) -> pl.DataFrame:
    """Every conversion a Meta ad click really brought, known by the end of `date`: one row
    per order (kind "purchase") or wholesale form (kind "lead") with the person's last ad
    click in the 7 days before it. Columns: kind, campaign_id, adset_id, ad_id, click_date,
    converted_at (UTC), order_number (the order's number in the shop's export, 1001 up; null
    for a lead), value (order total in the shop's currency before refunds; 0 for a lead),
    refund (refunded so far), is_cancelled, is_test. What the pipeline's reconciliation
    should find, had it every click and every identity."""
    w = t.window
    as_of = _as_of(w, date)
    att = t.attribution.filter(pl.col("ts") < as_of)
    orders = t.orders.select(
        pl.col("order_idx"),
        pl.col("test").alias("is_test"),
        ((pl.col("cancel_ts") >= 0) & (pl.col("cancel_ts") < as_of)).alias("is_cancelled"),
        pl.when((pl.col("refund_ts") >= 0) & (pl.col("refund_ts") < as_of))
        .then(pl.col("refund")).otherwise(0).alias("refund_cents"),
    )
    ids = t.ads.select("ad_idx", "ad_id", "adset_idx").join(
        t.adsets.select("adset_idx", "adset_id", "campaign_id"), on="adset_idx", how="left"
    )
    start = dt.datetime(w.date_of(0).year, w.date_of(0).month, w.date_of(0).day)
    return (
        att.join(ids, on="ad_idx", how="left")
        .join(orders, on="order_idx", how="left")
        .sort("ts", "order_idx")
        .select(
            pl.when(pl.col("kind") == 0).then(pl.lit("purchase")).otherwise(pl.lit("lead"))
            .alias("kind"),
            "campaign_id", "adset_id", "ad_id",
            (pl.lit(start) + pl.duration(days=pl.col("click_day"))).dt.date()
            .alias("click_date"),
            pl.from_epoch("ts", time_unit="s").alias("converted_at"),
            pl.when(pl.col("order_idx") >= 0).then(pl.col("order_idx") + 1001)
            .alias("order_number"),
            (pl.col("value_cents") / 100).alias("value"),
            (pl.col("refund_cents").fill_null(0) / 100).alias("refund"),
            pl.col("is_cancelled").fill_null(False),
            pl.col("is_test").fill_null(False),
        )
    )  # fmt: skip


def _ad_ids(t: Tables) -> pl.DataFrame:
    return t.ads.select("ad_idx", "adset_idx").join(
        t.adsets.select("adset_idx", "adset_id", "campaign_id"), on="adset_idx"
    )


def ad_creatives(t: Tables) -> pl.DataFrame:
    """Every ad's creative truth: its ids, ctr_quality (true click-through multiplier of the
    creative), is_fatiguing, fatigue_rate and audience_size (see `creative`)."""
    return (
        creative.creative_truth(t.seed, t.ads, t.ads_daily)
        .join(_ad_ids(t), on="ad_idx")
        .select("campaign_id", "adset_id", "ad_id", "creative_id", "ctr_quality",
                "is_fatiguing", "fatigue_rate", "audience_size")
    )  # fmt: skip


def ad_fatigue(t: Tables, date: dt.date) -> pl.DataFrame:
    """Per ad and delivery day up to `date`: ad_id, date, impressions, run (a new one after a
    week without delivery), cumulative_frequency (of the run, before the day) and
    ctr_multiplier (the true fatigue multiplier of the ad's CTR that day; 1 when fresh)."""
    w = t.window
    start = dt.datetime(w.date_of(0).year, w.date_of(0).month, w.date_of(0).day)
    return (
        creative.fatigue_path(t.seed, t.ads, t.ads_daily)
        .filter(pl.col("day") <= w.day_of(date))
        .join(t.ads.select("ad_idx", "ad_id"), on="ad_idx")
        .select("ad_id", (pl.lit(start) + pl.duration(days=pl.col("day"))).dt.date()
                .alias("date"), "impressions", "run", "cumulative_frequency",
                pl.col("fatigue").alias("ctr_multiplier"))
    )  # fmt: skip


def write_truth(
    directory: Path,
    t: Tables,
    hazard: np.ndarray,
    date: dt.date,
    orders_format: str,
    defects: pl.DataFrame,
) -> dict[str, int]:
    """Write the truth tables into `directory` as of the end of `date`; returns rows
    written per table."""
    directory.mkdir(parents=True, exist_ok=True)
    customers = truth_customers(t, hazard, date)
    identifiers = truth_identifiers(t, date, orders_format)  # checks one person per id
    response = ad_response(t)
    customers.write_parquet(directory / CUSTOMERS_FILE)
    identifiers.write_parquet(directory / IDENTIFIERS_FILE)
    response.write_parquet(directory / AD_RESPONSE_FILE)
    attribution = ad_attribution(t, date)
    attribution.write_parquet(directory / AD_ATTRIBUTION_FILE)
    defects.write_parquet(directory / DEFECTS_FILE)
    placements = creative.placement_truth(t.seed)
    placements.write_parquet(directory / AD_PLACEMENTS_FILE)
    ads = ad_creatives(t)
    ads.write_parquet(directory / AD_CREATIVES_FILE)
    fatigue = ad_fatigue(t, date)
    fatigue.write_parquet(directory / AD_FATIGUE_FILE)
    hours = send_times(t)
    hours.write_parquet(directory / SEND_TIMES_FILE)
    subjects = subject_lines.truth(t.campaigns)
    subjects.write_parquet(directory / SUBJECT_LINES_FILE)
    logger.info("truth as of %s: %d people, %d identifiers, %d defects", date,
                customers.height, identifiers.height, defects.height)  # fmt: skip
    noise = {}
    if t.variations is not None:
        variations = identity_variations(t, date)
        variations.write_parquet(directory / IDENTITY_VARIATIONS_FILE)
        noise["truth_identity_variations"] = variations.height
    return {
        "truth_customers": customers.height,
        "truth_identifiers": identifiers.height,
        "truth_ad_sets": response.height,
        "truth_ad_conversions": attribution.height,
        "truth_defects": defects.height,
        "truth_ad_placements": placements.height,
        "truth_ad_creatives": ads.height,
        "truth_ad_fatigue_days": fatigue.height,
        "truth_send_times": hours.height,
        "truth_subject_lines": subjects.height,
        **noise,
        **social.write_truth(directory, t.social_world(), t.window, date),
    }
