"""Each simulated source parses with a reference reader of its format.

GA4, Conversions API and Ads Insights rows are validated against JSON schemas of the vendor
formats (tests/unit/schemas/*.json, checked with `jsonschema`); every CSV against its exact
header, field count and column formats with Python's csv module and Polars.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import polars as pl
import pytest
import simworld as sw

from simulator import reference as ref
from simulator.writers import (
    CAMPAIGN_COLUMNS,
    HUBSPOT_CONTACT_COLUMNS,
    HUBSPOT_DEAL_COLUMNS,
    MAILCHIMP_COLUMNS,
    MAILCHIMP_EXTRA_COLUMNS,
    MAILCHIMP_FILES,
    SHOPIFY_CUSTOMER_COLUMNS,
    SHOPIFY_ORDER_COLUMNS,
    TYPEFORM_COLUMNS,
)

END = sw.END
DAYS = [END + dt.timedelta(days=k) for k in range(1, sw.CONTINUED + 1)]

SHOPIFY_CUSTOMERS_HEADER = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags"
)
SHOPIFY_ORDERS_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing City,Billing Zip,Billing Province,Billing Country,"
    "Billing Phone,Shipping Name,Shipping City,Shipping Zip,Shipping Province,Shipping Country,"
    "Notes,Cancelled at,Payment Method,Refunded Amount,Vendor,Id,Tags,Risk Level,Source,Phone,"
    "Customer ID"
)
MAILCHIMP_HEADER = (
    "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,"
    "OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,"
    "CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS"
)
HEADERS = {
    "shop/customers_export.csv": SHOPIFY_CUSTOMERS_HEADER,
    "shop/orders_export.csv": SHOPIFY_ORDERS_HEADER,
    "mailchimp/subscribed_members_export.csv": MAILCHIMP_HEADER,
    "mailchimp/unsubscribed_members_export.csv": MAILCHIMP_HEADER
    + ",UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON",
    "mailchimp/cleaned_members_export.csv": MAILCHIMP_HEADER + ",CLEAN_TIME",
    "mailchimp/nonsubscribed_members_export.csv": MAILCHIMP_HEADER,
    "mailchimp/campaigns.csv": "campaign_id,campaign_title,subject_line,variant,send_time,"
    "emails_sent,list_id",
    "mailchimp/email_activity.csv": "campaign_id,Email Address,action,timestamp,url",
    "hubspot/contacts.csv": "Record ID,First Name,Last Name,Email,Additional email addresses,"
    "Phone Number,Mobile Phone Number,Lifecycle Stage,Lead Status,Create Date,Original Source,"
    "Became a Customer Date,Associated Deal",
    "hubspot/deals.csv": "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,"
    "Associated Contact IDs",
    "typeform/responses.csv": "#,How likely are you to recommend us to a friend?,"
    "What is the main reason for your score?,email,Start Date (UTC),Submit Date (UTC),"
    "Network ID",
}
SHOP_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
UTC_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.main_world(tmp_path_factory.getbasetemp())


def _schema(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((sw.SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _defect_rows(w: sw.SimWorld, rel: str) -> dict[str, set[int]]:
    d = sw.truth(w, "defects").filter(pl.col("file") == rel)
    out: dict[str, set[int]] = {}
    for kind, row in zip(d["kind"], d["row_number"], strict=True):
        out.setdefault(kind, set()).add(row)
    return out


def test_constants_match_the_contract() -> None:
    assert ",".join(SHOPIFY_CUSTOMER_COLUMNS) == HEADERS["shop/customers_export.csv"]
    assert ",".join(SHOPIFY_ORDER_COLUMNS) == HEADERS["shop/orders_export.csv"]
    assert ",".join(MAILCHIMP_COLUMNS + MAILCHIMP_EXTRA_COLUMNS["cleaned"]) == HEADERS[
        "mailchimp/cleaned_members_export.csv"]  # fmt: skip
    assert ",".join(CAMPAIGN_COLUMNS) == HEADERS["mailchimp/campaigns.csv"]
    assert ",".join(HUBSPOT_CONTACT_COLUMNS) == HEADERS["hubspot/contacts.csv"]
    assert ",".join(HUBSPOT_DEAL_COLUMNS) == HEADERS["hubspot/deals.csv"]
    assert ",".join(TYPEFORM_COLUMNS) == HEADERS["typeform/responses.csv"]


def test_every_csv_has_its_header_and_parses(w: sw.SimWorld) -> None:
    renamed = sw.truth(w, "defects").filter(pl.col("kind").is_in(["renamed_column",
                                                                   "added_column"]))
    changed = set(renamed["file"])
    checked = 0
    for key, header in HEADERS.items():
        source, name = key.split("/")
        for day in (END, *DAYS):
            path = w.folder(source, day) / name
            if not path.exists():
                assert name in MAILCHIMP_FILES.values()  # snapshots only on change days
                continue
            rel = f"{source}/{day.isoformat()}/{name}"
            got, rows = sw.csv_rows(path)
            if rel not in changed:
                assert ",".join(got) == header, rel
            bad = _defect_rows(w, rel).get("malformed_row", set())
            wrong = {i + 1 for i, r in enumerate(rows) if len(r) != len(got)}
            assert wrong == bad, rel  # only the recorded rows are malformed
            frame = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True,
                                encoding="utf8-lossy")  # fmt: skip
            assert frame.height == len(rows), rel
            checked += 1
    assert checked >= 30


def test_shop_customer_export_format(w: sw.SimWorld) -> None:
    customers = sw.read_csv(w.folder("shop") / "customers_export.csv")
    ids = customers["Customer ID"]
    assert ids.str.contains(r"^\d{13}$").all()
    assert ids.cast(pl.Int64).is_sorted()
    assert set(customers["Accepts Email Marketing"]) == {"yes", "no"}
    assert customers["Total Spent"].str.contains(r"^\d+\.\d{2}$").all()
    assert customers["Total Orders"].str.contains(r"^\d+$").all()
    zero = (customers["Total Orders"] == "0").mean()
    assert 0.005 < zero < 0.15  # accounts that never ordered
    countries = set(customers["Default Address Country Code"])
    assert countries <= {"US", "CA", "GB", "DE", "FR", "NL", "IE", "ES", "IT"}
    assert (customers["Default Address Country Code"] == "US").mean() > 0.5
    zips = customers["Default Address Zip"].drop_nulls()
    assert zips.str.starts_with("'").any()
    phones = pl.concat([customers["Phone"], customers["Default Address Phone"]]).drop_nulls()
    assert phones.str.starts_with("'").any()
    for pattern in (r"^\+1 \d{3}-\d{3}-\d{4}$", r"^\(\d{3}\) \d{3}-\d{4}$", r"^\d{10}$"):
        assert phones.str.contains(pattern).any(), pattern
    # Continued days: only customers created or updated that day.
    for day in DAYS:
        daily = sw.read_csv(w.folder("shop", day) / "customers_export.csv")
        assert 0 < daily.height < customers.height / 3


def test_shop_orders_export_format(w: sw.SimWorld) -> None:
    path = w.folder("shop") / "orders_export.csv"
    orders = sw.read_csv(path).unique(maintain_order=True)
    customers = sw.read_csv(w.folder("shop") / "customers_export.csv")
    first = orders.filter(pl.col("Email").is_not_null())
    rest = orders.filter(pl.col("Email").is_null())
    assert orders["Name"].str.contains(r"^#\d{4,}$").all()
    assert first["Id"].str.contains(r"^\d{13}$").all()
    assert first["Name"].is_unique().all()
    order_level = [c for c in SHOPIFY_ORDER_COLUMNS
                   if not c.startswith("Lineitem") and c not in ("Name", "Vendor")]  # fmt: skip
    assert rest.select(order_level).null_count().sum_horizontal().item() == rest.height * len(
        order_level)  # fmt: skip
    assert rest["Lineitem sku"].str.contains(r"^SKU-\d{4}$").all()
    assert first["Created at"].str.contains(SHOP_TIME).all()
    assert first["Paid at"].drop_nulls().str.contains(SHOP_TIME).all()
    assert set(first["Created at"].str.slice(20)) > {"-0400"}  # several local offsets
    assert set(first["Financial Status"]) >= {"paid", "refunded", "partially_refunded"}
    assert set(first["Fulfillment Status"]) <= {"fulfilled", "unfulfilled"}
    cancelled = first.filter(pl.col("Cancelled at").is_not_null())
    assert cancelled.height > 0
    assert set(cancelled["Financial Status"]) <= {"voided", "refunded"}
    refunded = first.filter(pl.col("Financial Status").is_in(["refunded", "partially_refunded"]))
    assert (refunded["Refunded Amount"].cast(pl.Float64) > 0).all()
    # Money adds up: total = subtotal + shipping + taxes; subtotal = lines - discount.
    cents = {c: first[c].str.replace(".", "", literal=True).cast(pl.Int64)
             for c in ("Subtotal", "Shipping", "Taxes", "Total", "Discount Amount")}  # fmt: skip
    assert (cents["Total"] == cents["Subtotal"] + cents["Shipping"] + cents["Taxes"]).all()
    lines = orders.with_columns(
        gross=pl.col("Lineitem price").str.replace(".", "", literal=True).cast(pl.Int64)
        * pl.col("Lineitem quantity").cast(pl.Int64)
    ).group_by("Name").agg(pl.col("gross").sum())
    per = first.select("Name", pl.Series("sub", cents["Subtotal"]),
                       pl.Series("disc", cents["Discount Amount"])).join(lines, on="Name")
    header, raw = sw.csv_rows(path)
    broken = {r[0] for r in raw if len(r) != len(header)}  # Name survives the defect
    per = per.filter(~pl.col("Name").is_in(list(broken)))
    assert per.height > 0.9 * first.height
    assert (per["sub"] == per["gross"] - per["disc"]).all()
    assert first["Billing Zip"].drop_nulls().str.starts_with("'").any()
    c_header, c_raw = sw.csv_rows(w.folder("shop") / "customers_export.csv")
    broken_ids = {r[0] for r in c_raw if len(r) != len(c_header)}
    assert set(first["Customer ID"]) <= set(customers["Customer ID"]) | broken_ids
    # Customer totals are the orders summed (net of refunds, cancelled orders spend nothing).
    net = first.with_columns(
        net=pl.when(pl.col("Cancelled at").is_null())
        .then(pl.Series(cents["Total"]) - pl.col("Refunded Amount").str.replace(".", "",
                                                                               literal=True)
              .cast(pl.Int64)).otherwise(0)
    ).group_by("Customer ID").agg(pl.len().alias("n"), pl.col("net").sum())  # fmt: skip
    joined = customers.join(net, on="Customer ID", how="left")
    complete = joined.filter(pl.col("n").fill_null(0) == joined["Total Orders"].cast(pl.Int64))
    assert complete.height > 0.95 * joined.height  # rows lost to defects aside
    spent = complete["Total Spent"].str.replace(".", "", literal=True).cast(pl.Int64)
    assert (spent == complete["net"].fill_null(0)).all()
    # Incremental days: orders created that day only.
    for day in DAYS:
        daily = sw.read_csv(w.folder("shop", day) / "orders_export.csv")
        created = daily["Created at"].drop_nulls()
        local = created.str.slice(0, 10).str.to_date()
        assert ((local - day).dt.total_days().abs() <= 1).all()


def test_mailchimp_exports(w: sw.SimWorld) -> None:
    frames = {s: sw.read_csv(w.folder("mailchimp") / n) for s, n in MAILCHIMP_FILES.items()}
    members = pl.concat([f.select(pl.lit(s).alias("status"), pl.col("Email Address"))
                         for s, f in frames.items()])  # fmt: skip
    canonical = members["Email Address"].str.strip_chars().str.to_lowercase()
    assert canonical.n_unique() >= members.height - _dup_rows(w, "mailchimp")
    assert (members["Email Address"] != canonical).mean() > 0.1  # case and spaces differ
    shares = members["status"].value_counts(normalize=True)
    share = dict(zip(shares["status"], shares["proportion"], strict=True))
    assert share["subscribed"] > 0.6 and share["unsubscribed"] > 0.01
    for status, frame in frames.items():
        assert frame["OPTIN_TIME"].str.contains(UTC_TIME).all()
        assert frame["MEMBER_RATING"].cast(pl.Int64).is_between(1, 5).all()
        assert frame["EUID"].str.contains(r"^[0-9a-f]{10}$").all()
        if status == "unsubscribed":
            assert frame["UNSUB_TIME"].str.contains(UTC_TIME).all()
            assert frame["UNSUB_CAMPAIGN_TITLE"].is_not_null().all()
    campaigns = sw.read_csv(w.folder("mailchimp") / "campaigns.csv")
    assert campaigns["send_time"].str.contains(UTC_TIME).all()
    assert campaigns["campaign_id"].is_unique().all()
    assert set(campaigns["variant"].drop_nulls()) == {"A", "B"}
    tests = campaigns.filter(pl.col("variant").is_not_null()).group_by("campaign_title").agg(
        pl.col("subject_line").n_unique())
    assert (tests["subject_line"] == 2).all()
    assert (campaigns["emails_sent"].cast(pl.Int64) >= 0).all()
    activity = sw.read_csv(w.folder("mailchimp") / "email_activity.csv")
    assert set(activity["action"]) == {"open", "click", "bounce", "unsubscribe"}
    assert set(activity["campaign_id"]) <= set(campaigns["campaign_id"])
    clicks = activity.filter(pl.col("action") == "click")
    assert clicks["url"].str.starts_with(f"https://{ref.SHOP_HOST}/").all()
    assert activity.filter(pl.col("action") != "click")["url"].is_null().all()
    # Opens cluster at people's own hours: not all in the hour after the send.
    hours = activity.filter(pl.col("action") == "open")["timestamp"].str.slice(11, 2)
    assert hours.n_unique() > 12


def _dup_rows(w: sw.SimWorld, source: str) -> int:
    d = sw.truth(w, "defects")
    return d.filter((pl.col("source") == source) & (pl.col("kind") == "duplicate_row")).height


def test_hubspot_exports(w: sw.SimWorld) -> None:
    contacts = sw.read_csv(w.folder("hubspot") / "contacts.csv")
    assert set(contacts["Lifecycle Stage"]) <= set(ref.LIFECYCLE_STAGES)
    assert {"subscriber", "customer"} <= set(contacts["Lifecycle Stage"])
    assert set(contacts["Lead Status"].drop_nulls()) <= set(ref.LEAD_STATUSES)
    assert contacts["Create Date"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$").all()
    customers = contacts.filter(pl.col("Lifecycle Stage") == "customer")
    assert customers["Became a Customer Date"].is_not_null().all()
    assert set(contacts["Original Source"]) <= set(ref.HUBSPOT_SOURCES)
    phones = contacts["Phone Number"].drop_nulls()
    assert phones.str.contains(r"^\+1 \(\d{3}\) \d{3}-\d{4}$").any()
    deals = sw.read_csv(w.folder("hubspot") / "deals.csv")
    assert deals.height > 0
    assert set(deals["Deal Stage"]) <= set(ref.DEAL_STAGES)
    assert deals["Amount"].str.contains(r"^\d+\.\d{2}$").all()
    assert set(deals["Associated Contact IDs"]) <= set(contacts["Record ID"])
    with_deal = contacts.filter(pl.col("Associated Deal").is_not_null())
    assert set(with_deal["Associated Deal"].str.split(";").explode()) <= set(deals["Record ID"])


def test_typeform_responses(w: sw.SimWorld) -> None:
    responses = sw.read_csv(w.folder("typeform") / "responses.csv")
    score = responses[ref.NPS_QUESTION].cast(pl.Int64)
    assert score.is_between(0, 10).all() and score.n_unique() >= 5
    assert responses["#"].str.contains(r"^[0-9a-f]{30}$").all()
    assert responses["Network ID"].str.contains(r"^[0-9a-f]{10}$").all()
    assert responses["Submit Date (UTC)"].str.contains(UTC_TIME).all()
    assert (responses["Start Date (UTC)"] <= responses["Submit Date (UTC)"]).all()
    comments = responses.filter(pl.col(ref.REASON_QUESTION).is_not_null())
    all_comments = {c for group in ref.NPS_COMMENTS.values() for c in group}
    assert set(comments[ref.REASON_QUESTION]) <= all_comments
    # Comments follow the score band.
    detractor = {c for (_, band), group in ref.NPS_COMMENTS.items() if band == "detractor"
                 for c in group}  # fmt: skip
    low = comments.filter(pl.col(ref.NPS_QUESTION).cast(pl.Int64) <= 6)
    assert set(low[ref.REASON_QUESTION]) <= detractor


def _ga4_events(w: sw.SimWorld) -> list[tuple[Path, dict]]:
    return [(p, e) for day in (END, *DAYS) for p in sorted(w.folder("ga4", day).glob("*"))
            for e in sw.ndjson(p)]  # fmt: skip


def test_ga4_export_validates_against_the_bigquery_schema(w: sw.SimWorld) -> None:
    validator = _schema("ga4_bigquery_event")
    events = _ga4_events(w)
    assert len(events) > 2_000
    # The schema check is slow in pure Python: every event of the continued days and of
    # the kinds that are rare, and a stride through the rest.
    rare = {"generate_lead", "sign_up"}
    for k, (path, event) in enumerate(events):
        if (k % 40 == 0 or event["event_name"] in rare or path.parent.name != END.isoformat()
                or (event["event_name"] == "purchase" and k % 3 == 0)):  # fmt: skip
            errors = list(validator.iter_errors(event))
            assert not errors, (path.name, errors[0].message, event)
        days = re.findall(r"\d{8}", path.name)  # a daily file, or a backfill range of days
        assert days[0] <= event["event_date"] <= days[-1], (path.name, event["event_date"])
        for param in event["event_params"]:
            assert len([v for v in param["value"].values() if v is not None]) == 1
    names = {e["event_name"] for _, e in events}
    assert names >= {"first_visit", "session_start", "page_view", "view_item", "add_to_cart",
                     "begin_checkout", "purchase", "generate_lead"}  # fmt: skip


def test_ga4_sessions_identity_and_purchases(w: sw.SimWorld) -> None:
    events = [e for _, e in _ga4_events(w)]
    params = [{p["key"]: next(iter(p["value"].values())) for p in e["event_params"]}
              for e in events]  # fmt: skip
    for e, p in zip(events, params, strict=True):
        assert int(p["ga_session_id"]) <= int(e["event_timestamp"]) // 1_000_000
        if e["event_name"] == "session_start" and e.get("collected_traffic_source"):
            assert "source" in p and "medium" in p
        if "user_id" in e:
            assert re.fullmatch(r"\d{13}", e["user_id"])
    orders = sw.read_csv(w.folder("shop") / "orders_export.csv")
    order_ids = set(orders["Id"].drop_nulls())
    for day in DAYS:
        order_ids |= set(sw.read_csv(w.folder("shop", day) / "orders_export.csv")["Id"]
                         .drop_nulls())  # fmt: skip
    purchases = [(e, p) for e, p in zip(events, params, strict=True)
                 if e["event_name"] == "purchase"]  # fmt: skip
    assert purchases
    txn = {e["ecommerce"]["transaction_id"] for e, _ in purchases}
    assert {p["transaction_id"] for _, p in purchases} == txn
    assert len(txn & order_ids) > 0.95 * len(txn)
    for e, p in purchases:
        assert e["items"] and e["ecommerce"]["purchase_revenue"] == p["value"]
        assert int(e["ecommerce"]["total_item_quantity"]) == sum(int(i["quantity"])
                                                                 for i in e["items"])
    # One person, several devices: user_ids seen with more than one pseudo id.
    ids_per_user: dict[str, set[str]] = {}
    for e in events:
        if "user_id" in e:
            ids_per_user.setdefault(e["user_id"], set()).add(e["user_pseudo_id"])
    assert any(len(v) > 1 for v in ids_per_user.values())


def test_mailchimp_links_carry_the_campaign_and_the_recipients_email_id(w: sw.SimWorld) -> None:
    """Link tracking adds mc_cid (the campaign) and mc_eid (the member's EUID) to campaign
    links: the device that lands on one belongs to the member the email went to."""
    # People who joined after the first export are in the later days' audience exports.
    members = pl.concat([sw.read_csv(p).select("Email Address", "EUID")
                         for day in (END, *DAYS) for n in MAILCHIMP_FILES.values()
                         if (p := w.folder("mailchimp", day) / n).exists()])  # fmt: skip
    email_of = {e: a for a, e in members.iter_rows()}  # the address as the member typed it
    campaigns = set(sw.read_csv(w.folder("mailchimp") / "campaigns.csv")["campaign_id"])
    ids = sw.truth(w, "identifiers")
    person = {(t, v): p for t, v, p in ids.select(
        "identifier_type", "identifier_value", "person_id").iter_rows()}  # fmt: skip
    clicks = set()
    for _, e in _ga4_events(w):
        page = next((p["value"]["string_value"] for p in e["event_params"]
                     if p["key"] == "page_location"), "")  # fmt: skip
        query = dict(re.findall(r"[?&]([^=&#]+)=([^&#]*)", page))
        if "mc_eid" in query:
            assert query["utm_source"] == "mailchimp"
            clicks.add((e["user_pseudo_id"], query["mc_cid"], query["mc_eid"]))
    assert len(clicks) > 20
    for pseudo_id, campaign_id, euid in clicks:
        assert campaign_id in campaigns
        assert person[("ga4_user_pseudo_id", pseudo_id)] == person[
            ("mailchimp_email_raw", email_of[euid])]


def test_capi_events_validate_and_hash_normalised_values(w: sw.SimWorld) -> None:
    validator = _schema("capi_server_event")
    people = sw.truth(w, "customers")
    addresses = pl.concat([people["email"], people["second_email"], people["role_email"]])
    email_hash = {hashlib.sha256(e.encode()).hexdigest() for e in addresses.drop_nulls()}
    events = [e for day in (END, *DAYS) for p in sorted(w.folder("meta_capi", day).glob("*"))
              for e in sw.ndjson(p)]  # fmt: skip
    assert len(events) > 1_000
    for k, event in enumerate(events):
        if k % 5 == 0 or event["event_name"] in ("Purchase", "Lead", "CompleteRegistration"):
            errors = list(validator.iter_errors(event))
            assert not errors, (errors[0].message, event)
        if "em" in event["user_data"]:
            assert event["user_data"]["em"] in email_hash
    purchases = [e for e in events if e["event_name"] == "Purchase"]
    assert purchases and all("order_id" in e["custom_data"] for e in purchases)
    assert any("fbc" in e["user_data"] for e in events)
    keys = [(e["event_name"], e["event_id"]) for e in events]
    assert len(keys) > len(set(keys))  # browser-and-server duplicates are there


def test_meta_ads_insights_validate_and_restate(w: sw.SimWorld) -> None:
    validator = _schema("meta_ads_insights_row")
    # The placement breakdown: the same row with the two breakdown fields at its end.
    schema = json.loads((sw.SCHEMAS / "meta_ads_insights_row.json").read_text())
    schema["required"] += ["publisher_platform", "platform_position"]
    schema["properties"] |= {"publisher_platform": {"enum": ["facebook", "instagram",
                                                             "audience_network", "messenger"]},
                             "platform_position": {"type": "string", "pattern": "^[a-z_]+$"}}
    placement = jsonschema.Draft202012Validator(schema)
    ads = _schema("meta_ads_ad")
    for path in sorted(w.folder("meta_ads").glob("ad_creatives_*")):
        for row in sw.ndjson(path):
            assert not list(ads.iter_errors(row)), path.name
    rows = [(p, r) for p in sorted(w.folder("meta_ads").glob("*insights_*")) for r in sw.ndjson(p)]
    assert len(rows) > 365
    for path, row in rows:
        check = placement if path.name.startswith("placement_") else validator
        errors = list(check.iter_errors(row))
        assert not errors, (path.name, errors[0].message)
        assert row["date_start"] == row["date_stop"]
        days = re.findall(r"\d{8}", path.name)  # a daily file, or a backfill range of days
        assert days[0] <= row["date_start"].replace("-", "") <= days[-1], path.name
        assert row["attribution_setting"] == "7d_click_1d_view"
    types = {a["action_type"] for _, r in rows for a in r["actions"]}
    assert {"link_click", "purchase", "offsite_conversion.fb_pixel_purchase", "lead"} <= types
    # The same day in later folders: restated numbers for the same ads.
    day = DAYS[0]
    name = f"ads_insights_{day:%Y%m%d}.ndjson"
    versions = [list(sw.ndjson(w.folder("meta_ads", d) / name)) for d in DAYS]
    assert [len(v) for v in versions] == [len(versions[0])] * 3
    assert versions[0] != versions[2]
    imps = [sum(int(r["impressions"]) for r in v) for v in versions]
    assert imps[0] <= imps[1] <= imps[2]
