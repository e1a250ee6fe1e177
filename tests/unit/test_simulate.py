"""The simulated world: layout, determinism, continuation, truth consistency, CLI.

Format details per source are in test_simulate_formats.py, defects in
test_simulate_defects.py. Everything runs at scale xs.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import simworld as sw

import simulator as simulate_pkg
from pipelines import cli
from pipelines.config import Settings
from simulator import continue_days, landing_is_empty, simulate, truth_dir, world_exists
from simulator.reference import ROLE_MAILBOXES
from simulator.truth import IDENTIFIER_TYPES, SHAREABLE_TYPES
from simulator.writers import MAILCHIMP_FILES

END = sw.END
DAYS = [END + dt.timedelta(days=k) for k in range(1, sw.CONTINUED + 1)]


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.main_world(tmp_path_factory.getbasetemp())


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    homes = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for home, seed in zip(homes, (7, 7, 8), strict=True):
        settings = Settings(home=home)
        simulate(settings, scale="xs", seed=seed, end_date=END, history_days=30)
        continue_days(settings, 2)
    first, again, other = (sw.file_hashes(h) for h in homes)
    assert first == again  # landing, truth and saved state, byte for byte
    assert any(k.startswith("landing/ga4/2026-11-02/") for k in first)
    differ = [k for k in first.keys() & other.keys()
              if k.startswith("landing/") and first[k] != other[k]]  # fmt: skip
    assert "landing/shop/2026-10-31/orders_export.csv" in differ
    assert any(k.startswith("landing/ga4/2026-10-31/events_") for k in differ)
    # Empty files are the same under any seed; most files with data differ.
    with_data = [k for k in first if k.startswith("landing/") and (homes[0] / k).stat().st_size]
    assert len(differ) > 0.8 * len(with_data)


def test_continued_days_are_what_the_future_held(tmp_path: Path, w: sw.SimWorld) -> None:
    # The continued folders come from the saved play-out: their orders are exactly the
    # state's orders of that day, and a world continued in two steps equals one continued
    # in one step.
    orders = pl.read_parquet(w.truth / "state" / "orders.parquet")
    for day in DAYS:
        rows = sw.read_csv(w.folder("shop", day) / "orders_export.csv")
        names = set(rows["Name"].unique())
        start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
        held = orders.filter(pl.col("ts").is_between(start, start + 86_400, closed="left"))
        assert names == {f"#{i + 1001}" for i in held["order_idx"]}
    one, two = Settings(home=tmp_path / "one"), Settings(home=tmp_path / "two")
    for settings in (one, two):
        simulate(settings, scale="xs", seed=3, end_date=END, history_days=30)
    continue_days(one, 3)
    continue_days(two, 1)
    continue_days(two, 2)
    landing = {k: v for k, v in sw.file_hashes(one.home).items() if k.startswith("landing")}
    assert landing == {k: v for k, v in sw.file_hashes(two.home).items()
                       if k.startswith("landing")}  # fmt: skip


def test_counts_match_files(w: sw.SimWorld) -> None:
    # Counts are data rows as written, duplicates and malformed rows included.
    c = w.created
    shop = w.folder("shop")
    assert c["customers"] == len(sw.csv_rows(shop / "customers_export.csv")[1])
    assert c["order_lines"] == len(sw.csv_rows(shop / "orders_export.csv")[1])
    per_status = sum(c[f"mailchimp_{s}"] for s in MAILCHIMP_FILES)
    assert c["mailchimp_members"] == per_status
    assert per_status == sum(len(sw.csv_rows(w.folder("mailchimp") / n)[1])
                             for n in MAILCHIMP_FILES.values())  # fmt: skip
    assert c["hubspot_contacts"] == len(sw.csv_rows(w.folder("hubspot") / "contacts.csv")[1])
    assert c["truth_customers"] == 1_000
    ga4 = sorted(w.folder("ga4").glob("events_*.ndjson"))
    # Twelve or thirteen monthly range files (a year seldom starts on the 1st), plus empty ones.
    assert c["ga4_files"] == len(ga4)
    assert 12 <= len([p for p in ga4 if p.stat().st_size]) <= 13
    assert c["ga4_events"] == sum(len(p.read_bytes().splitlines()) for p in ga4)
    assert c["truth_defects"] == _defects_at_creation(w)
    assert w.continued["days"] == sw.CONTINUED


def _defects_at_creation(w: sw.SimWorld) -> int:
    return _defects(w).filter(pl.col("export_date") == END).height


def _defects(w: sw.SimWorld) -> pl.DataFrame:
    return sw.truth(w, "defects")


def test_landing_layout(w: sw.SimWorld) -> None:
    sources = sorted(p.name for p in w.landing.iterdir())
    assert sources == ["ga4", "hubspot", "mailchimp", "meta_ads", "meta_capi", "shop",
                       "social", "typeform"]  # fmt: skip
    for source in sources:
        folders = sorted(p.name for p in (w.landing / source).iterdir())
        assert folders == [d.isoformat() for d in (END, *DAYS)], source
    for day in (END, *DAYS):
        names = {p.name for p in w.folder("shop", day).iterdir()}
        assert names == {"customers_export.csv", "orders_export.csv"}
        names = {p.name for p in w.folder("hubspot", day).iterdir()}
        assert names == {"contacts.csv", "deals.csv"}
        names = {p.name for p in w.folder("mailchimp", day).iterdir()}
        assert {"campaigns.csv", "email_activity.csv"} <= names
        assert names - {"campaigns.csv", "email_activity.csv"} in (set(), set(
            MAILCHIMP_FILES.values()))  # fmt: skip
        assert {p.name for p in w.folder("typeform", day).iterdir()} == {"responses.csv"}
    # The backfill holds every day of the web and ad sources, in files of day ranges that
    # never cross a month; a day whose export came out empty is a zero-byte daily file.
    first = END - dt.timedelta(days=364)
    for source, prefix, last in (("ga4", "events", END - dt.timedelta(days=1)),
                                 ("meta_capi", "events", END),
                                 ("meta_ads", "ads_insights", END),
                                 ("meta_ads", "placement_insights", END)):
        files = sorted(p for p in w.folder(source).iterdir() if p.name.startswith(prefix))
        ranges = []
        for path in files:
            found = re.fullmatch(rf"{prefix}_(\d{{8}})_(\d{{8}})\.ndjson", path.name)
            if found is None:
                assert re.fullmatch(rf"{prefix}_\d{{8}}\.ndjson", path.name), path.name
                assert path.stat().st_size == 0, path.name
                continue
            lo, hi = (dt.datetime.strptime(g, "%Y%m%d").date() for g in found.groups())
            assert (lo.year, lo.month) == (hi.year, hi.month), path.name
            ranges.append((lo, hi))
        assert ranges[0][0] == first and ranges[-1][1] == last, source
        assert all(b[0] == a[1] + dt.timedelta(days=1)
                   for a, b in itertools.pairwise(ranges)), source
    for day in DAYS:
        ga4 = {p.name for p in w.folder("ga4", day).iterdir()}
        yesterday = f"events_{day - dt.timedelta(days=1):%Y%m%d}.ndjson"
        assert yesterday in ga4
        assert all(re.fullmatch(r"events_\d{8}\.ndjson", n) for n in ga4)
        late = [dt.datetime.strptime(n[7:15], "%Y%m%d").date() for n in ga4]
        assert all(1 <= (day - x).days <= 3 for x in late)  # rewrites within 72 hours
        assert {p.name for p in w.folder("meta_capi", day).iterdir()} == {
            f"events_{day:%Y%m%d}.ndjson"}  # fmt: skip
        assert {p.name for p in w.folder("meta_ads", day).iterdir()} == {
            f"{kind}_{day - dt.timedelta(days=k):%Y%m%d}.ndjson"
            for kind in ("ads_insights", "placement_insights") for k in range(3)
        } | {f"ad_creatives_{day:%Y%m%d}.ndjson"}  # fmt: skip
    assert (w.folder("meta_ads") / f"ad_creatives_{END:%Y%m%d}.ndjson").exists()


def test_generic_orders_format(tmp_path_factory: pytest.TempPathFactory) -> None:
    g = sw.world(tmp_path_factory.getbasetemp(), "generic", seed=11, history_days=60,
                 orders_format="generic", continue_by=1)  # fmt: skip
    assert not (g.landing / "shop").exists()
    for day in (END, DAYS[0]):
        path = g.folder("orders", day) / "orders.csv"
        header, _rows = sw.csv_rows(path)
        assert ",".join(header) == (
            "order_id,customer_id,email,order_date,amount,currency,product_id,quantity"
        )
        frame = sw.read_csv(path)
        assert frame["order_date"].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").all()
        assert frame["product_id"].str.contains(r"^SKU-\d{4}$").all()
    frame = sw.read_csv(g.folder("orders") / "orders.csv")
    ids = sw.truth(g, "identifiers")
    shop_ids = set(ids.filter(pl.col("identifier_type") == "shop_customer_id")["identifier_value"])
    assert set(frame["customer_id"]) <= shop_ids
    # GA4 purchases carry the order ids of the orders file.
    txn = {p["value"]["string_value"] for path in g.folder("ga4").glob("*.ndjson")
           for e in sw.ndjson(path) if e["event_name"] == "purchase"
           for p in e["event_params"] if p["key"] == "transaction_id"}  # fmt: skip
    # Cancelled orders leave the generic file but their purchase events stay.
    orders = pl.read_parquet(g.truth / "state" / "orders.parquet")
    cancelled = {str(i + 1001) for i in orders.filter(pl.col("cancel_ts") >= 0)["order_idx"]}
    assert txn and txn - cancelled <= set(frame["order_id"]) | _broken_order_ids(g)


def _broken_order_ids(g: sw.SimWorld) -> set[str]:
    """Order ids on rows the defects broke (read_csv drops those rows)."""
    _, rows = sw.csv_rows(g.folder("orders") / "orders.csv")
    return {r[0] for r in rows if len(r) != 8}


def test_truth_identifiers_cover_the_files_and_name_their_people(w: sw.SimWorld) -> None:
    ids = sw.truth(w, "identifiers")
    people = sw.truth(w, "customers")
    assert set(ids["identifier_type"]) == set(IDENTIFIER_TYPES)
    assert ids.select("identifier_type", "identifier_value", "person_id").is_unique().all()
    assert set(ids["person_id"]) <= set(people["person_id"])
    # Only a company's mailbox and a home's landline belong to several people.
    assert set(ids.filter("is_shared")["identifier_type"]) <= SHAREABLE_TYPES
    personal = ids.filter(~pl.col("identifier_type").is_in(list(SHAREABLE_TYPES)))
    assert personal.select("identifier_type", "identifier_value").is_unique().all()
    assert (ids.group_by("identifier_type", "identifier_value").agg(
        pl.col("is_shared").first(), pl.len()).select(
        (pl.col("is_shared") == (pl.col("len") > 1)).all()).item())  # fmt: skip
    lookup: dict[tuple[str, str], set[int]] = {}
    for kind, value, person in ids.select("identifier_type", "identifier_value",
                                          "person_id").iter_rows():  # fmt: skip
        lookup.setdefault((kind, value), set()).add(person)

    seen: dict[str, set[str]] = {k: set() for k in IDENTIFIER_TYPES}
    for day in (END, *DAYS):
        customers = sw.read_csv(w.folder("shop", day) / "customers_export.csv")
        seen["shop_customer_id"] |= set(customers["Customer ID"].drop_nulls())
        seen["email"] |= set(customers["Email"].drop_nulls())
        seen["phone_raw"] |= set(customers["Phone"].drop_nulls())
        seen["phone_raw"] |= set(customers["Default Address Phone"].drop_nulls())
        orders = sw.read_csv(w.folder("shop", day) / "orders_export.csv")
        seen["shopify_order_email"] |= set(orders["Email"].drop_nulls())
        seen["shop_customer_id"] |= set(orders["Customer ID"].drop_nulls())
        seen["phone_raw"] |= set(orders["Billing Phone"].drop_nulls())
        for name in MAILCHIMP_FILES.values():
            path = w.folder("mailchimp", day) / name
            if path.exists():
                members = sw.read_csv(path)
                seen["mailchimp_email_raw"] |= set(members["Email Address"].drop_nulls())
                seen["phone_raw"] |= set(members["Phone Number"].drop_nulls())
        activity = sw.read_csv(w.folder("mailchimp", day) / "email_activity.csv")
        seen["mailchimp_email_raw"] |= set(activity["Email Address"].drop_nulls())
        contacts = sw.read_csv(w.folder("hubspot", day) / "contacts.csv")
        seen["hubspot_record_id"] |= set(contacts["Record ID"].drop_nulls())
        seen["email"] |= set(contacts["Email"].drop_nulls())
        for listed in contacts["Additional email addresses"].drop_nulls():
            seen["email"] |= set(listed.split(";"))
        phone = "Phone Number" if "Phone Number" in contacts.columns else "Phone"
        seen["phone_raw"] |= set(contacts[phone].drop_nulls())
        seen["phone_raw"] |= set(contacts["Mobile Phone Number"].drop_nulls())
        seen["email"] |= set(sw.read_csv(w.folder("typeform", day) / "responses.csv")["email"])
        for path in w.folder("ga4", day).glob("*.ndjson"):
            for e in sw.ndjson(path):
                seen["ga4_user_pseudo_id"].add(e["user_pseudo_id"])
                if "user_id" in e:
                    seen["ga4_user_id"].add(e["user_id"])
        for path in w.folder("meta_capi", day).glob("*.ndjson"):
            for e in sw.ndjson(path):
                u = e["user_data"]
                seen["fbp"].add(u["fbp"])
                for key, kind in (("em", "capi_em_sha256"), ("ph", "capi_ph_sha256"),
                                  ("external_id", "capi_external_id")):  # fmt: skip
                    if key in u:
                        seen[kind].add(u[key])
    del seen["phone_e164"]  # the numbers behind phone_raw; the files never show them so
    for kind, values in seen.items():
        assert values, kind
        missing = [v for v in values if (kind, v) not in lookup]
        assert not missing, (kind, missing[:3])

    # The same people behind an identifier across sources: an address is one of the
    # person's own (main, second, or their company's mailbox).
    own = {
        pid: {a for a in (main, second, box) if a}
        for pid, main, second, box in people.select(
            "person_id", "email", "second_email", "role_email").iter_rows()
    }  # fmt: skip
    for kind in ("mailchimp_email_raw", "shopify_order_email", "email"):
        for value in seen[kind]:
            assert all(value.strip().lower() in own[p] for p in lookup[(kind, value)]), value
    for value in seen["ga4_user_id"]:
        assert lookup[("ga4_user_id", value)] == lookup[("shop_customer_id", value)]
    # A number several people give is their home's landline.
    numbers: dict[str, set[int]] = {}
    for kind, value in lookup:
        if kind == "phone_e164":
            numbers[value] = lookup[(kind, value)]
    home = dict(people.select("person_id", "household_id").iter_rows())
    landline = dict(people.select("person_id", "second_phone_e164").iter_rows())
    for number, persons in numbers.items():
        if len(persons) > 1:
            assert len({home[p] for p in persons}) == 1 and home[next(iter(persons))]
            assert {landline[p] for p in persons} == {number}
    generic = people.filter("generic_email")["email"]
    assert generic.len() > 0
    boxes = "|".join(name for name, _ in ROLE_MAILBOXES)
    assert generic.str.contains(rf"^({boxes})\d*@").all()


def test_truth_outcomes_agree_with_the_saved_future(w: sw.SimWorld) -> None:
    people = sw.truth(w, "customers")
    orders = pl.read_parquet(w.truth / "state" / "orders.parquet")
    end = int(dt.datetime.combine(DAYS[-1] + dt.timedelta(days=1), dt.time(),
                                  dt.UTC).timestamp())  # fmt: skip
    assert people.height == 1_000
    personas = set(people["persona"]) - {"staff"}
    assert 5 <= len(personas) <= 8
    real = orders.filter(~pl.col("test") & (pl.col("cancel_ts") < 0))
    soon = set(real.filter(pl.col("ts").is_between(end, end + 90 * 86_400, closed="left"))
               ["person_id"])  # fmt: skip
    assert (people["churned_next_90d"] == ~people["person_id"].is_in(list(soon))).all()
    value = (
        real.filter(pl.col("ts").is_between(end, end + 365 * 86_400, closed="left"))
        .group_by("person_id")
        .agg((pl.col("total") - pl.col("refund")).sum().alias("cents"))
    )
    checked = people.join(value, on="person_id", how="left")
    cents = np.rint(checked["value_next_365d"].to_numpy() * 100).astype(np.int64)
    assert (cents == checked["cents"].fill_null(0).to_numpy()).all()
    active = people.filter(pl.col("is_active_at_end"))
    assert 0.15 < active["churned_next_90d"].mean() < 0.7
    assert (people["churn_hazard"] > 0).all()
    # Recency carries signal: actives who bought in the last 60 days churn less.
    last = orders.filter(pl.col("ts") < end).group_by("person_id").agg(pl.col("ts").max())
    recency = active.join(last, on="person_id").with_columns(
        recent=pl.col("ts") >= end - 60 * 86_400
    )
    rates = recency.group_by("recent").agg(pl.col("churned_next_90d").mean())
    by = dict(zip(rates["recent"], rates["churned_next_90d"], strict=True))
    assert by[True] + 0.15 < by[False]
    # Leads: conversion within 60 days is known only for leads, and some convert.
    leads = people.filter("is_lead")
    assert leads.height > 20
    assert people.filter(~pl.col("is_lead"))["converted_within_60d"].is_null().all()
    assert 0.02 < leads["converted_within_60d"].mean() < 0.6
    # Consent follows the region.
    eea = people.filter("is_eea")
    assert eea.height > 0 and (~eea["ad_user_data"]).any()
    assert people.filter(~pl.col("is_eea") & (pl.col("timezone").str.starts_with("America")))[
        "ad_user_data"].all()  # fmt: skip
    assert people["send_hour_local"].is_between(0, 23).all()


def test_personas_behave_differently(w: sw.SimWorld) -> None:
    people = sw.truth(w, "customers").filter(pl.col("persona") != "staff")
    by = people.group_by("persona").agg(
        pl.col("purchase_rate").median(), pl.col("churn_hazard").median(),
        pl.col("send_hour_local").median(), pl.col("is_eea").mean(),
    )  # fmt: skip
    assert by["purchase_rate"].max() > 3 * by["purchase_rate"].min()
    assert by["churn_hazard"].max() > 5 * by["churn_hazard"].min()
    assert by["send_hour_local"].max() - by["send_hour_local"].min() >= 8
    assert by["is_eea"].max() > 0.5 > by["is_eea"].min()


def test_ad_response_truth(w: sw.SimWorld) -> None:
    response = sw.truth(w, "ad_response")
    assert response.height == 9
    assert set(response["effect"]) == {"new_buyers", "leads", "repeat_orders", "none"}
    assert (response.filter(pl.col("effect") == "none")["beta_per_day"] == 0).all()
    working = response.filter(pl.col("effect") != "none")
    assert (working["beta_per_day"] > 0).all() and (working["alpha"] > 0).all()
    assert (response["kappa_usd_per_day"] > 0).all()


def test_ad_attribution_truth_is_what_the_ads_brought(w: sw.SimWorld) -> None:
    # Every conversion names a real ad of the plan and falls in the 7 days after its click;
    # every order is one the shop exported, at the value it exported.
    att = sw.truth(w, "ad_attribution")
    ads = sw.truth(w, "ad_response")
    assert att.height > 0 and set(att["kind"]) == {"purchase", "lead"}
    assert set(att["adset_id"]) <= set(ads["adset_id"])
    lag = (att["converted_at"].dt.date() - att["click_date"]).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 7
    orders = pl.read_parquet(w.truth / "state" / "orders.parquet")
    bought = att.filter(pl.col("kind") == "purchase").join(
        orders.select((pl.col("order_idx") + 1001).alias("order_number"), "total"),
        on="order_number", how="left",
    )
    assert bought["total"].null_count() == 0
    assert (bought["value"] * 100 - bought["total"]).abs().max() < 0.5
    leads = att.filter(pl.col("kind") == "lead")
    assert leads["order_number"].null_count() == leads.height and (leads["value"] == 0).all()


def test_truth_is_as_of_the_current_end_date(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    simulate(settings, scale="xs", seed=9, end_date=END, history_days=30, max_days=2)
    before = pl.read_parquet(truth_dir(settings) / "customers.parquet")
    continue_days(settings, 2)
    after = pl.read_parquet(truth_dir(settings) / "customers.parquet")
    assert before["person_id"].to_list() == after["person_id"].to_list()
    assert not before["churned_next_90d"].equals(after["churned_next_90d"]) or not before[
        "value_next_365d"].equals(after["value_next_365d"])  # fmt: skip
    with pytest.raises(ValueError, match="planned up to"):
        continue_days(settings, 1)


def test_cli_simulate_and_continue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETING_HOME", str(tmp_path))
    monkeypatch.setattr(simulate_pkg, "simulate",
                        functools.partial(simulate_pkg.simulate, history_days=30))  # fmt: skip
    assert cli.main(["simulate", "--scale", "xs", "--days", "1"]) == 0
    settings = Settings(home=tmp_path)
    assert world_exists(settings)
    assert (settings.landing_dir / "shop" / DAYS[0].isoformat()).is_dir()
    assert cli.main(["simulate", "--days", "1"]) == 0
    assert (settings.landing_dir / "shop" / DAYS[1].isoformat()).is_dir()
    assert cli.main(["simulate", "--if-empty"]) == 0  # landing has files: nothing new
    assert not (settings.landing_dir / "orders").exists()
    assert cli.main(["simulate", "--days", "100"]) == 1  # beyond the planned days
    other = tmp_path / "generic"
    monkeypatch.setenv("MARKETING_HOME", str(other))
    assert cli.main(["simulate", "--orders-format", "generic", "--personas", "4"]) == 0
    assert (other / "landing" / "orders" / END.isoformat() / "orders.csv").is_file()
    hidden = pl.read_parquet(other / "truth" / "customers.parquet")["persona"]
    assert hidden.filter(hidden != "staff").n_unique() == 4
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--personas", "11"])


def test_bad_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="huge"):
        simulate(Settings(home=tmp_path), scale="huge")
    with pytest.raises(ValueError, match="orders_format"):
        simulate(Settings(home=tmp_path), orders_format="csv")
    assert landing_is_empty(Settings(home=tmp_path))
    with pytest.raises(FileNotFoundError):
        continue_days(Settings(home=tmp_path), 1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        simulate_pkg.Defects(duplicate_row_rate=1.5)


def test_landing_is_empty(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert landing_is_empty(settings)
    (settings.landing_dir / "shop" / END.isoformat()).mkdir(parents=True)
    assert landing_is_empty(settings)  # folders alone are not data
    (settings.landing_dir / "shop" / END.isoformat() / "orders.csv").write_text("order_id\n")
    assert not landing_is_empty(settings)
