"""Unit tests for the synthetic shop: determinism, vendor file formats, and ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.config import Settings
from pipelines.simulate import landing_is_empty, simulate
from pipelines.simulate.playout import play_out
from pipelines.simulate.population import Window, build_population
from pipelines.simulate.writers import (
    MAILCHIMP_COLUMNS,
    MAILCHIMP_EXTRA_COLUMNS,
    MAILCHIMP_FILES,
    ORDER_COLUMNS,
    SHOPIFY_CUSTOMER_COLUMNS,
)

END = dt.date(2026, 10, 31)
DAY = END.isoformat()

SHOPIFY_HEADER = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags"
)
ORDERS_HEADER = "order_id,customer_id,email,order_date,amount,currency,product_id,quantity"
MAILCHIMP_HEADER = (
    "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,"
    "OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,"
    "CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS"
)
EXPECTED_HEADERS = {
    "subscribed_members_export.csv": MAILCHIMP_HEADER,
    "unsubscribed_members_export.csv": MAILCHIMP_HEADER
    + ",UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON",
    "cleaned_members_export.csv": MAILCHIMP_HEADER + ",CLEAN_TIME",
    "nonsubscribed_members_export.csv": MAILCHIMP_HEADER,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, int]]:
    """One xs simulation shared by the read-only tests."""
    settings = Settings(home=tmp_path_factory.mktemp("world"))
    return settings, simulate(settings, scale="xs", seed=42, end_date=END)


def shop_dir(settings: Settings) -> Path:
    return settings.landing_dir / "shop" / DAY


def orders_dir(settings: Settings) -> Path:
    return settings.landing_dir / "orders" / DAY


def mailchimp_dir(settings: Settings) -> Path:
    return settings.landing_dir / "mailchimp" / DAY


def read_text(path: Path) -> pl.DataFrame:
    """A CSV read with every column as text, the way the pipeline lands it."""
    return pl.read_csv(path, infer_schema=False)


def file_hashes(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def mailchimp_members(settings: Settings) -> pl.DataFrame:
    """All four status files stacked, with the status and the canonical email."""
    frames = [
        read_text(mailchimp_dir(settings) / name).select(
            pl.lit(status).alias("status"),
            pl.col("Email Address").alias("raw"),
            pl.col("Email Address").str.strip_chars().str.to_lowercase().alias("email"),
        )
        for status, name in MAILCHIMP_FILES.items()
    ]
    return pl.concat(frames)


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    homes = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for home, seed in zip(homes, (7, 7, 8), strict=True):
        simulate(Settings(home=home), scale="xs", seed=seed, end_date=END)
    first, again, other = (file_hashes(h) for h in homes)
    assert len(first) == 8
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first)


def test_counts_match_files(world: tuple[Settings, dict[str, int]]) -> None:
    settings, counts = world
    assert counts["customers"] == read_text(shop_dir(settings) / "customers_export.csv").height
    assert counts["order_lines"] == read_text(orders_dir(settings) / "orders.csv").height
    per_status = sum(counts[f"mailchimp_{s}"] for s in MAILCHIMP_FILES)
    assert counts["mailchimp_members"] == per_status == mailchimp_members(settings).height
    assert counts["truth_customers"] == 1_000


def test_every_csv_has_the_exact_header_and_parses(
    world: tuple[Settings, dict[str, int]],
) -> None:
    settings, _ = world
    expected = {
        shop_dir(settings) / "customers_export.csv": SHOPIFY_HEADER,
        orders_dir(settings) / "orders.csv": ORDERS_HEADER,
    } | {mailchimp_dir(settings) / name: h for name, h in EXPECTED_HEADERS.items()}
    assert ",".join(SHOPIFY_CUSTOMER_COLUMNS) == SHOPIFY_HEADER
    assert ",".join(ORDER_COLUMNS) == ORDERS_HEADER
    assert (
        ",".join(MAILCHIMP_COLUMNS + MAILCHIMP_EXTRA_COLUMNS["cleaned"])
        == EXPECTED_HEADERS["cleaned_members_export.csv"]
    )
    for path, header in expected.items():
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert ",".join(rows[0]) == header, path.name
        assert len(rows) > 1, path.name
        assert all(len(r) == len(rows[0]) for r in rows), path.name
        frame = read_text(path)
        assert frame.columns == header.split(",")
        assert frame.height == len(rows) - 1


def test_shop_customer_export_format(world: tuple[Settings, dict[str, int]]) -> None:
    settings, _ = world
    customers = read_text(shop_dir(settings) / "customers_export.csv")
    ids = customers["Customer ID"]
    assert ids.str.contains(r"^\d{13}$").all()
    assert ids.n_unique() == customers.height
    assert ids.cast(pl.Int64).is_sorted()
    assert set(customers["Accepts Email Marketing"]) == {"yes", "no"}
    assert customers["Total Spent"].str.contains(r"^\d+\.\d{2}$").all()
    assert customers["Total Orders"].str.contains(r"^\d+$").all()
    zero = (customers["Total Orders"] == "0").mean()
    assert 0.01 < zero < 0.06  # accounts that never ordered
    countries = set(customers["Default Address Country Code"])
    assert countries <= {"US", "CA", "GB", "DE", "FR", "NL", "IE", "ES", "IT"}
    assert (customers["Default Address Country Code"] == "US").mean() > 0.5
    # Spreadsheet-style apostrophes survive as text, including zips with a leading zero.
    zips = customers["Default Address Zip"]
    assert zips.str.starts_with("'").any()
    assert zips.str.contains(r"^'0\d{4}$").any()
    phones = pl.concat([customers["Phone"], customers["Default Address Phone"]]).drop_nulls()
    assert phones.str.starts_with("'").any()
    for pattern in (r"^\+1 \d{3}-\d{3}-\d{4}$", r"^\(\d{3}\) \d{3}-\d{4}$", r"^\d{10}$"):
        assert phones.str.contains(pattern).any(), pattern


def test_orders_format_and_link_to_customers(world: tuple[Settings, dict[str, int]]) -> None:
    settings, _ = world
    orders = read_text(orders_dir(settings) / "orders.csv")
    customers = read_text(shop_dir(settings) / "customers_export.csv")
    assert set(orders["customer_id"]) <= set(customers["Customer ID"])
    emails = dict(zip(customers["Customer ID"], customers["Email"], strict=True))
    assert all(emails[c] == e for c, e in zip(orders["customer_id"], orders["email"], strict=True))
    assert orders["order_date"].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").all()
    assert orders["order_date"].max() < f"{END + dt.timedelta(days=1)}T00:00:00Z"
    assert orders["amount"].str.contains(r"^\d+\.\d{2}$").all()
    assert (orders["amount"].cast(pl.Float64) > 0).all()
    assert set(orders["currency"]) == {"USD"}
    assert orders["product_id"].str.contains(r"^SKU-\d{4}$").all()
    assert 40 <= orders["product_id"].n_unique() <= 60
    assert set(orders["quantity"].cast(pl.Int64)) <= {1, 2, 3, 4}
    per_order = orders.group_by("order_id").agg(
        pl.len().alias("lines"),
        pl.col("order_date").n_unique().alias("dates"),
        pl.col("product_id").n_unique().alias("products"),
        pl.col("order_date").first(),
    )
    assert per_order["lines"].is_between(1, 3).all()
    assert (per_order["dates"] == 1).all()
    assert (per_order["products"] == per_order["lines"]).all()
    by_id = per_order.with_columns(pl.col("order_id").cast(pl.Int64)).sort("order_id")
    assert by_id["order_id"][0] == 1001
    assert by_id["order_date"].is_sorted()
    # The customer export's totals are the orders file summed up.
    totals = orders.group_by("customer_id").agg(
        pl.col("order_id").n_unique().alias("n"),
        (pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64).sum()).alias("c"),
    )
    joined = customers.join(totals, left_on="Customer ID", right_on="customer_id", how="left")
    assert (joined["Total Orders"].cast(pl.Int64) == joined["n"].fill_null(0)).all()
    spent = joined["Total Spent"].str.replace(".", "", literal=True).cast(pl.Int64)
    assert (spent == joined["c"].fill_null(0)).all()


def test_mailchimp_members_are_in_exactly_one_status_file(
    world: tuple[Settings, dict[str, int]],
) -> None:
    settings, _ = world
    members = mailchimp_members(settings)
    assert members["email"].n_unique() == members.height
    shares = members["status"].value_counts(normalize=True)
    share = dict(zip(shares["status"], shares["proportion"], strict=True))
    assert 0.65 < share["subscribed"] < 0.85
    assert 0.06 < share["unsubscribed"] < 0.18
    # About 20% of addresses differ from the canonical form only by case or whitespace.
    differs = (members["raw"] != members["email"]).mean()
    assert 0.12 < differs < 0.28
    assert members["raw"].str.starts_with(" ").any()

    customers = read_text(shop_dir(settings) / "customers_export.csv")
    shop_emails = set(customers["Email"])
    in_shop = members["email"].is_in(list(shop_emails))
    assert 0.6 < in_shop.sum() / len(shop_emails) < 0.8  # most customers are members
    assert 0.2 < (~in_shop).mean() < 0.4  # leads who never ordered


def test_mailchimp_field_formats(world: tuple[Settings, dict[str, int]]) -> None:
    settings, _ = world
    ts = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    end_of_day = f"{DAY} 23:59:59"
    for status, name in MAILCHIMP_FILES.items():
        frame = read_text(mailchimp_dir(settings) / name)
        assert frame["MEMBER_RATING"].cast(pl.Int64).is_between(1, 5).all()
        assert frame["OPTIN_TIME"].str.contains(ts).all()
        assert frame["LAST_CHANGED"].str.contains(ts).all()
        assert (frame["LAST_CHANGED"] <= end_of_day).all()
        assert frame["LEID"].n_unique() == frame.height
        assert frame["EUID"].str.contains(r"^[0-9a-f]{10}$").all()
        if status == "unsubscribed":
            assert frame["UNSUB_TIME"].str.contains(ts).all()
            assert (frame["UNSUB_TIME"] <= end_of_day).all()
            assert (frame["UNSUB_TIME"] > frame["OPTIN_TIME"]).all()
        if status == "cleaned":
            assert frame["CLEAN_TIME"].str.contains(ts).all()
    subscribed = mailchimp_dir(settings) / "subscribed_members_export.csv"
    text = subscribed.read_text(encoding="utf-8")
    assert re.search(r',"[a-z0-9-]+,[a-z0-9,-]+"\n', text)  # a quoted multi-tag list


def test_truth_identifiers_map_to_one_person(world: tuple[Settings, dict[str, int]]) -> None:
    settings, _ = world
    people = pl.read_parquet(settings.truth_dir / "customers.parquet")
    ids = pl.read_parquet(settings.truth_dir / "identifiers.parquet")
    assert people["person_id"].n_unique() == people.height == 1_000
    assert set(ids["identifier_type"]) == {"email", "shop_customer_id", "mailchimp_email_raw"}
    assert ids.select("identifier_type", "identifier_value").is_unique().all()
    assert set(ids["person_id"]) <= set(people["person_id"])
    assert people["email"].n_unique() == people.height
    assert (people["email"] == people["email"].str.to_lowercase().str.strip_chars()).all()

    # The identifiers cover exactly what the landing files show.
    customers = read_text(shop_dir(settings) / "customers_export.csv")
    members = mailchimp_members(settings)
    shop_ids = ids.filter(pl.col("identifier_type") == "shop_customer_id")
    raw_ids = ids.filter(pl.col("identifier_type") == "mailchimp_email_raw")
    assert set(shop_ids["identifier_value"]) == set(customers["Customer ID"])
    assert set(raw_ids["identifier_value"]) == set(members["raw"])
    # A raw Mailchimp email and the shop email of the same person agree once normalised.
    same = raw_ids.join(people, on="person_id")
    assert (same["identifier_value"].str.strip_chars().str.to_lowercase() == same["email"]).all()
    linked = customers.join(shop_ids, left_on="Customer ID", right_on="identifier_value")
    linked = linked.join(people, on="person_id")
    assert (linked["Email"] == linked["email"]).all()
    assert (linked["shop_customer_id"] == linked["Customer ID"]).all()


def test_truth_outcomes_agree_with_the_hidden_future(
    world: tuple[Settings, dict[str, int]],
) -> None:
    settings, _ = world
    people = pl.read_parquet(settings.truth_dir / "customers.parquet")
    assert people["persona"].n_unique() == 5
    active = people.filter(pl.col("is_active_at_end"))
    assert (active.filter(pl.col("value_next_365d") == 0)["churned_next_90d"]).all()
    assert (active.filter(~pl.col("churned_next_90d"))["value_next_365d"] > 0).all()
    churn_rate = active["churned_next_90d"].mean()
    assert 0.15 < churn_rate < 0.60
    assert (people["churn_hazard"] > 0).all()
    assert (people.filter(pl.col("shop_customer_id").is_null())["value_next_365d"] == 0).all()

    # Replay the hidden future and check the labels against it.
    window = Window(end_date=END, history_days=730)
    population = build_population(1_000, 42, window)
    playout = play_out(42, population, window)
    end = window.end_ts
    future = playout.orders.filter(pl.col("ts") >= end)
    assert future.height > 0
    soon = set(future.filter(pl.col("ts") < end + 90 * 86_400)["person_id"])
    expected = ~people["person_id"].is_in(list(soon))
    assert (people["churned_next_90d"] == expected).all()
    value = (
        playout.lines.filter(pl.col("ts").is_between(end, end + 365 * 86_400, closed="left"))
        .group_by("person_id")
        .agg(pl.col("amount_cents").sum())
    )
    checked = people.join(value, on="person_id", how="left")
    cents = np.rint(checked["value_next_365d"].to_numpy() * 100).astype(np.int64)
    assert (cents == checked["amount_cents"].fill_null(0).to_numpy()).all()
    # Recency carries signal: actives who bought recently churn less.
    last = playout.orders.filter(pl.col("ts") < end).group_by("person_id").agg(pl.col("ts").max())
    recency = active.join(last, on="person_id").with_columns(
        recent=pl.col("ts") >= end - 60 * 86_400
    )
    rates = recency.group_by("recent").agg(pl.col("churned_next_90d").mean())
    by = dict(zip(rates["recent"], rates["churned_next_90d"], strict=True))
    assert by[True] + 0.2 < by[False]


def test_bad_scale_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="huge"):
        simulate(Settings(home=tmp_path), scale="huge")
    assert landing_is_empty(Settings(home=tmp_path))


def test_landing_is_empty(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert landing_is_empty(settings)
    (settings.landing_dir / "shop" / DAY).mkdir(parents=True)
    assert landing_is_empty(settings)  # folders alone are not data
    (settings.landing_dir / "shop" / DAY / "orders.csv").write_text("order_id\n")
    assert not landing_is_empty(settings)
