"""The harder identity world (`simulate(identity_noise=True)`, `simulator.identity_noise`).

Off, the world is the one without it. On, each kind of variation shows at about its share and
is what it claims to be: a nickname from the table, a typo one edit away, a phone number that
libphonenumber reads as the same number, a move the shop's export shows, a second account with
a Customer ID of its own; and the truth names the person behind every value the files show.
Everything is read back from the files and the truth of an xs world.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest
import simworld as sw

import simulator as simulate_pkg
from pipelines import cli
from pipelines.config import Settings
from pipelines.normalize.rules import phone_e164
from simulator import continue_days, identity_noise, simulate
from simulator import reference as ref
from simulator.population import STAFF, Window
from simulator.truth import IDENTITY_VARIATIONS_FILE, SHAREABLE_TYPES
from simulator.writers import MAILCHIMP_FILES

END = sw.END
DAYS = [END + dt.timedelta(days=k) for k in range(1, sw.CONTINUED + 1)]
NAME_KINDS = ("nickname", "name_typo", "name_format")
EMAIL_KINDS = ("gmail_dots", "plus_tag", "email_typo")


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.noisy_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    """The same world (seed, calendar) without the noise: its people are the true ones."""
    return sw.main_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def variations(w: sw.SimWorld) -> pl.DataFrame:
    return sw.truth(w, "identity_variations")


@pytest.fixture(scope="module")
def people(w: sw.SimWorld) -> pl.DataFrame:
    return pl.read_parquet(w.truth / "state" / "people.parquet")


@pytest.fixture(scope="module")
def true_people(clean: sw.SimWorld) -> pl.DataFrame:
    return pl.read_parquet(clean.truth / "state" / "people.parquet")


def osa(a: str, b: str) -> int:
    """Optimal string alignment distance: Levenshtein with a swap of neighbours as one edit."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))  # fmt: skip
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_osa_counts_a_swap_as_one_edit() -> None:
    assert osa("Clark", "Claark") == osa("Clark", "Clak") == osa("Clark", "Calrk") == 1
    assert osa("Clark", "Clark") == 0 and osa("Clark", "Cl") == 3


# ---------------------------------------------------------------------- off
def test_off_the_world_is_the_one_without_it(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    homes = [tmp_path / "default", tmp_path / "off"]
    kwargs: dict = {"scale": "xs", "seed": 3, "end_date": END, "history_days": 30}
    simulate(Settings(home=homes[0]), **kwargs)
    continue_days(Settings(home=homes[0]), 1)

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("identity noise ran with the option off")

    monkeypatch.setattr(identity_noise, "apply", never)
    simulate(Settings(home=homes[1]), identity_noise=False, **kwargs)
    continue_days(Settings(home=homes[1]), 1)
    default, off = (sw.file_hashes(h) for h in homes)
    assert default == off  # landing, truth and saved state, byte for byte
    truth = homes[1] / "truth"
    assert not (truth / IDENTITY_VARIATIONS_FILE).exists()
    assert not (truth / "state" / IDENTITY_VARIATIONS_FILE).exists()
    assert "identity_noise" not in json.loads((truth / "state" / "meta.json").read_text())
    saved = pl.read_parquet(truth / "state" / "people.parquet")
    assert not identity_noise.is_noisy(saved)
    assert not {"move_ts", *identity_noise.PERSON_ORDER_COLUMNS} & set(saved.columns)
    orders = pl.read_parquet(truth / "state" / "orders.parquet")
    assert not set(identity_noise.ORDER_COLUMNS) & set(orders.columns)


def test_noise_changes_identity_only(w: sw.SimWorld, clean: sw.SimWorld) -> None:
    # The same people, behaviour and outcomes: only how the systems hold identities differs.
    assert sw.truth(w, "customers").equals(sw.truth(clean, "customers"))
    for source in ("ga4", "meta_ads"):
        for day in (END, *DAYS):
            mine, theirs = (sw.file_hashes(x.folder(source, day)) for x in (w, clean))
            assert mine == theirs, (source, day)
    ids, clean_ids = sw.truth(w, "identifiers"), sw.truth(clean, "identifiers")
    for kind in ("ga4_user_pseudo_id", "ga4_user_id", "fbp", "hubspot_record_id"):
        assert ids.filter(pl.col("identifier_type") == kind).equals(
            clean_ids.filter(pl.col("identifier_type") == kind)), kind
    # Customer IDs: the clean world's, plus the second accounts'.
    def customer_ids(frame: pl.DataFrame) -> set[tuple[str, int]]:
        return set(frame.filter(pl.col("identifier_type") == "shop_customer_id").select(
            "identifier_value", "person_id").iter_rows())  # fmt: skip

    extra = customer_ids(ids) - customer_ids(clean_ids)
    assert customer_ids(clean_ids) <= customer_ids(ids)
    assert extra == set(sw.truth(w, "identity_variations").filter(
        pl.col("kind") == "second_account").select("value", "person_id").iter_rows())  # fmt: skip


# ---------------------------------------------------------------------- shares
def test_each_kind_shows_at_about_its_share(
    w: sw.SimWorld, people: pl.DataFrame, true_people: pl.DataFrame
) -> None:
    # Over the whole saved world (every variation, whenever it first shows), for a sample as
    # large as xs allows; expected counts from the clean world's people.
    saved = pl.read_parquet(w.truth / "state" / IDENTITY_VARIATIONS_FILE)
    # The systems' records (a second account's own variations are counted apart below).
    saved = saved.filter(~pl.col("record_id").is_in(people["acct2_id"].drop_nulls().implode()))
    observed = dict(saved.group_by("kind").len().iter_rows())
    staff = (true_people["role"] == STAFF).to_numpy()

    def present(system: str) -> np.ndarray:
        ts_col, _ = identity_noise.SYSTEMS[system]
        return true_people[ts_col].is_not_null().to_numpy() & ~staff

    has_short = np.array([bool(ref.NICKNAMES[f]) for f in true_people["first_name"]])
    records = expected_nick = 0.0
    for system, (first_col, _) in identity_noise.NAME_COLUMNS.items():
        named = present(system) & true_people[first_col].is_not_null().to_numpy()
        records += named.sum()
        expected_nick += (named & has_short).sum() * identity_noise.GOES_BY_NICKNAME_SHARE * (
            identity_noise.NICKNAME_SHARE[system])
    assert 0.6 < observed["nickname"] / expected_nick < 1.5
    assert 0.5 < observed["name_typo"] / (identity_noise.NAME_TYPO_SHARE * records) < 1.8
    assert 0.6 < observed["name_format"] / (identity_noise.NAME_FORMAT_SHARE * records) < 1.3

    phones = 0
    for system, col, _, _ in identity_noise.PHONE_COLUMNS:
        phones += (present(system) & true_people[col].is_not_null().to_numpy()).sum()
    written = observed["phone_format"] + observed.get("phone_extension", 0)
    assert 0.75 < written / (identity_noise.PHONE_FORMAT_SHARE * phones) < 1.25
    assert observed.get("phone_extension", 0) >= 1

    # Gmail dots: records that hold a Gmail user's own address.
    personal = ~staff & ~true_people["generic_email"].to_numpy()
    gmail = personal & true_people["email"].str.ends_with("@gmail.com").to_numpy()
    eligible = sum((present(s) & gmail & (true_people[col] == true_people["email"]).fill_null(
        False).to_numpy()).sum() for s, col in identity_noise.EMAIL_COLUMNS.items())  # fmt: skip
    assert 0.5 < observed["gmail_dots"] / (identity_noise.GMAIL_DOTS_SHARE * eligible) < 1.8

    # People: plus taggers, typo'd addresses, movers, second accounts.
    variants = sw.truth(w, "identity_variations")
    domain = true_people["email"].str.split("@").list.last()
    taggable = (personal & domain.is_in(list(ref.PLUS_ADDRESS_DOMAINS)).to_numpy()).sum()
    taggers = variants.filter(pl.col("kind") == "plus_tag")["person_id"].n_unique()
    assert 0.01 < taggers / taggable < 0.12
    typo_people = variants.filter(pl.col("kind") == "email_typo")["person_id"].n_unique()
    assert 1 <= typo_people <= 4 * identity_noise.EMAIL_TYPO_SHARE * personal.sum() + 5
    # Movers: a home moves at its region's yearly rate over the time any system knew it.
    end = Window(end_date=END, history_days=365).reveal_end_ts
    homes = true_people.with_columns(
        home=pl.col("household_id").fill_null(pl.col("person_id")),
        seen=pl.min_horizontal("account_ts", "optin_ts", "hs_create_ts"),
    ).filter(pl.col("role") != STAFF)
    span = homes.group_by("home").agg(pl.col("seen").min(), pl.len()).join(
        homes.select(pl.col("person_id").alias("home"), "region"), on="home").with_columns(
        years=((end - pl.col("seen") - 30 * 86_400) / (365 * 86_400)).clip(0))  # fmt: skip
    rate = pl.lit(pl.Series(identity_noise.MOVE_RATE_PER_YEAR)).gather(pl.col("region"))
    expected = span.select((pl.col("len") * -(-rate * pl.col("years")).exp().sub(1))
                           .sum()).item()  # fmt: skip
    movers = people["move_ts"].is_not_null().sum()
    assert 0.5 < movers / expected < 1.8
    accounts = true_people["account_ts"].is_not_null().sum()
    assert 0.01 < people["acct2_ts"].is_not_null().sum() / accounts < 0.06
    assert variants.filter(pl.col("system") == "orders").height > 0
    assert set(variants["kind"]) == {*NAME_KINDS, *EMAIL_KINDS, "phone_format",
                                     "phone_extension", "moved", "second_account"}  # fmt: skip
    assert (variants["first_seen_at"] < _instant(DAYS[-1])).all()


def _instant(day: dt.date) -> dt.datetime:
    """The export instant of `day`: midnight UTC after it."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)


# ---------------------------------------------------------------------- each kind
def test_nicknames_come_from_the_table(variations: pl.DataFrame) -> None:
    nicks = variations.filter(pl.col("kind") == "nickname")
    assert nicks.height > 20 and set(nicks["system"]) == {"shop", "mailchimp", "hubspot"}
    for value, original in nicks.select("value", "original").iter_rows():
        assert original in ref.FIRST_NAMES and value in ref.NICKNAMES[original], (value, original)
    assert set(ref.FIRST_NAMES) <= set(ref.NICKNAMES)


def test_typos_and_formats_are_one_slip_away(variations: pl.DataFrame) -> None:
    names = variations.filter(pl.col("kind") == "name_typo")
    assert names.height > 5
    for value, original in names.select("value", "original").iter_rows():
        assert osa(value, original) == 1 and value[0] == original[0], (value, original)
    for value, original in variations.filter(pl.col("kind") == "name_format").select(
            "value", "original").iter_rows():  # fmt: skip
        assert value != original
        assert (value.strip() == original or value.lower() == original.lower()
                or value == ref.ascii_fold(original)
                or value.replace("  ", " ") == original), (value, original)
    emails = variations.filter(pl.col("kind").is_in(list(EMAIL_KINDS)))
    assert set(emails["kind"]) == set(EMAIL_KINDS)
    for kind, value, original in emails.select("kind", "value", "original").iter_rows():
        typed = value.strip().lower()  # Mailchimp and checkouts keep case and spaces as typed
        local, domain = typed.rsplit("@", 1)
        o_local, o_domain = original.rsplit("@", 1)
        if kind == "gmail_dots":
            assert domain == o_domain == "gmail.com" and typed != original
            assert local.replace(".", "") == o_local.replace(".", "")
        elif kind == "plus_tag":
            assert domain == o_domain and local.split("+")[0] == o_local
            assert local.split("+")[1] in ref.PLUS_TAGS
        else:
            assert (local == o_local and domain in ref.EMAIL_DOMAIN_TYPOS[o_domain]) or (
                domain == o_domain and osa(local, o_local) == 1), (value, original)
    assert emails.filter(pl.col("kind") == "email_typo")["system"].is_in(
        list(identity_noise.EMAIL_TYPO_SYSTEMS)).all()


def test_phone_variants_read_as_the_same_number(
    variations: pl.DataFrame, people: pl.DataFrame
) -> None:
    numbers = {col: e164 for _, col, _, e164 in identity_noise.PHONE_COLUMNS}
    phones = variations.filter(pl.col("kind").is_in(["phone_format", "phone_extension"])).join(
        people.select("person_id", "country_code", "cc", *set(numbers.values())), on="person_id")
    assert phones.height > 50
    for row in phones.iter_rows(named=True):
        want = "+" + row[numbers[row["field"]]]
        text = row["value"].lstrip("'")
        parsed = phonenumbers.parse(text, row["country_code"])
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == want
        # Read as the pipeline reads it, with the country the export shows (the shop's
        # address; Mailchimp's CC, not always there; none in HubSpot): the same number.
        shown = {"shop": row["country_code"], "mailchimp": row["cc"]}.get(row["system"])
        assert phone_e164(row["value"], shown, "US") == want, (row["value"], shown)
        assert (parsed.extension is not None) == (row["kind"] == "phone_extension"), text
    # Written in every style, in every country, each reads back as the same number.
    for number, country in (("12125550143", "US"), ("442079460958", "GB"),
                            ("4930123456789", "DE"), ("33123456789", "FR"),
                            ("31201234567", "NL"), ("35312345678", "IE"),
                            ("34912345678", "ES"), ("390612345678", "IT"),
                            ("14165550123", "CA")):  # fmt: skip
        for style in range(6):
            for ext in (None, "12"):
                text = identity_noise.phone_variant(number, country, style, ext, style % 4)
                assert text is not None and phone_e164(text, country, "US") == "+" + number


def test_second_accounts_have_a_customer_id_of_their_own(
    w: sw.SimWorld, variations: pl.DataFrame, people: pl.DataFrame, true_people: pl.DataFrame
) -> None:
    second = variations.filter(pl.col("kind") == "second_account")
    assert second.height >= 3
    ids = sw.truth(w, "identifiers").filter(pl.col("identifier_type") == "shop_customer_id")
    per_person = ids.group_by("person_id").agg(pl.col("identifier_value"))
    owned = dict(per_person.iter_rows())
    true = true_people.select("person_id", "first_name", "last_name").rows_by_key(
        "person_id", unique=True)  # fmt: skip
    customers = pl.concat([sw.read_csv(w.folder("shop", d) / "customers_export.csv")
                           for d in (END, *DAYS)]).unique("Customer ID", keep="last")  # fmt: skip
    rows = customers.rows_by_key("Customer ID", named=True, unique=True)
    state = people.rows_by_key("person_id", named=True, unique=True)
    for person, new_id, first_id in second.select("person_id", "value", "original").iter_rows():
        assert {new_id, first_id} <= set(owned[person])
        assert len(set(owned[person])) == 2 and int(new_id) != int(first_id)
        mine, theirs = rows[new_id], rows[first_id]
        first, last = true[person]
        assert mine["First Name"] == first or mine["First Name"] in ref.NICKNAMES[first]
        assert osa(mine["Last Name"], last) <= 1
        assert mine["Email"] != theirs["Email"]
        p = state[person]
        opened_moved = p["acct2_moved"]
        street = p["new_address1"] if opened_moved else p["address1"]
        assert mine["Default Address Address1"] == street
        assert mine["Phone"] is None or phone_e164(
            mine["Phone"], mine["Default Address Country Code"], "US") == "+" + p["phone_e164"]
    # Their later orders use it part of the time.
    orders = pl.concat([sw.read_csv(w.folder("shop", d) / "orders_export.csv")
                        for d in (END, *DAYS)], how="diagonal")  # fmt: skip
    used = orders.filter(pl.col("Customer ID").is_in(second["value"].implode()))
    assert used.height > 0
    opened = dict(second.select("value", "first_seen_at").iter_rows())
    for customer, created in used.drop_nulls("Created at").select(
            "Customer ID", "Created at").iter_rows():  # fmt: skip
        assert dt.datetime.strptime(created, "%Y-%m-%d %H:%M:%S %z") >= opened[customer]


def test_movers_later_exports_show_the_new_address(
    w: sw.SimWorld, variations: pl.DataFrame, people: pl.DataFrame
) -> None:
    moved = variations.filter((pl.col("kind") == "moved") & (pl.col("field") == "address1")
                              & (pl.col("first_seen_at") < _instant(END)))
    assert moved.height >= 5
    state = people.rows_by_key("person_id", named=True, unique=True)
    customers = sw.read_csv(w.folder("shop", END) / "customers_export.csv").rows_by_key(
        "Customer ID", named=True, unique=True)  # fmt: skip
    cities = [c.name for c in ref.CITIES]
    for person, record, street, old in moved.select("person_id", "record_id", "value",
                                                    "original").iter_rows():  # fmt: skip
        p = state[person]
        row = customers[record]
        assert street != old
        assert row["Default Address Address1"] == street
        assert row["Default Address Zip"].lstrip("'") == p["new_zip"]
        assert row["Default Address City"] == cities[p["new_city_idx"]]
    # Before the move the shop showed the old address; a Mailchimp profile keeps the address
    # it captured when the member joined.
    instants = {d: _instant(d) for d in (END, *DAYS)}
    checked = 0
    for p in people.filter(pl.col("move_ts").is_not_null()).iter_rows(named=True):
        moved_at = dt.datetime.fromtimestamp(p["move_ts"], dt.UTC)
        if p["address"] is not None:
            joined_after = p["optin_ts"] >= p["move_ts"]
            assert p["address"].startswith(p["new_address1" if joined_after else "address1"])
            checked += 1
        if p["account_ts"] is not None and all(moved_at >= i for i in instants.values()):
            row = customers.get(p["shop_customer_id"])
            if row is not None:
                assert row["Default Address Address1"] == p["address1"]
                checked += 1
    assert checked > 5
    members = pl.concat([sw.read_csv(w.folder("mailchimp", END) / name)
                         for name in MAILCHIMP_FILES.values()], how="diagonal")  # fmt: skip
    assert set(people["address"].drop_nulls()) >= set(members["Address"].drop_nulls())


def test_households_share_the_address_before_and_after_moving(w: sw.SimWorld) -> None:
    truth = sw.truth(w, "customers").select("person_id", "household_id", "shop_customer_id")
    customers = sw.read_csv(w.folder("shop") / "customers_export.csv").join(
        truth, left_on="Customer ID", right_on="shop_customer_id")
    shared = customers.filter(pl.col("household_id").is_not_null()).group_by(
        "household_id").agg(pl.col("Default Address Address1").n_unique(),
                            pl.col("Default Address Zip").str.strip_chars("'").n_unique(),
                            pl.len()).filter(pl.col("len") > 1)  # fmt: skip
    assert shared.height > 0
    assert (shared["Default Address Address1"] == 1).all()
    assert (shared["Default Address Zip"] == 1).all()


# ---------------------------------------------------------------------- truth
def test_truth_names_the_person_behind_every_value_the_files_show(
    w: sw.SimWorld, variations: pl.DataFrame
) -> None:
    ids = sw.truth(w, "identifiers")
    assert set(ids.filter("is_shared")["identifier_type"]) <= SHAREABLE_TYPES
    personal = ids.filter(~pl.col("identifier_type").is_in(list(SHAREABLE_TYPES)))
    assert personal.select("identifier_type", "identifier_value").is_unique().all()
    lookup: dict[tuple[str, str], set[int]] = {}
    for kind, value, person in ids.select("identifier_type", "identifier_value",
                                          "person_id").iter_rows():  # fmt: skip
        lookup.setdefault((kind, value), set()).add(person)
    seen: dict[str, set[str]] = {}
    for day in (END, *DAYS):
        customers = sw.read_csv(w.folder("shop", day) / "customers_export.csv")
        seen.setdefault("shop_customer_id", set()).update(customers["Customer ID"].drop_nulls())
        seen.setdefault("email", set()).update(customers["Email"].drop_nulls())
        phones = seen.setdefault("phone_raw", set())
        phones.update(customers["Phone"].drop_nulls())
        phones.update(customers["Default Address Phone"].drop_nulls())
        orders = sw.read_csv(w.folder("shop", day) / "orders_export.csv")
        seen.setdefault("shopify_order_email", set()).update(orders["Email"].drop_nulls())
        seen["shop_customer_id"].update(orders["Customer ID"].drop_nulls())
        phones.update(orders["Billing Phone"].drop_nulls())
        phones.update(orders["Phone"].drop_nulls())
        for name in MAILCHIMP_FILES.values():
            path = w.folder("mailchimp", day) / name
            if path.exists():
                members = sw.read_csv(path)
                seen.setdefault("mailchimp_email_raw", set()).update(
                    members["Email Address"].drop_nulls())
                phones.update(members["Phone Number"].drop_nulls())
        contacts = sw.read_csv(w.folder("hubspot", day) / "contacts.csv")
        seen["email"].update(contacts["Email"].drop_nulls())
        phone = "Phone Number" if "Phone Number" in contacts.columns else "Phone"
        phones.update(contacts[phone].drop_nulls())
        phones.update(contacts["Mobile Phone Number"].drop_nulls())
        seen["email"].update(sw.read_csv(w.folder("typeform", day) / "responses.csv")["email"]
                             .drop_nulls())
    for kind, values in seen.items():
        missing = [v for v in values if (kind, v) not in lookup]
        assert not missing, (kind, missing[:3])
    # Every variant value the truth lists is an identifier of its person.
    for kind, system, value, person in variations.filter(
            pl.col("kind").is_in([*EMAIL_KINDS, "second_account", "phone_format",
                                  "phone_extension"])).select(
            "kind", "system", "value", "person_id").iter_rows():  # fmt: skip
        types = {"second_account": ("shop_customer_id",),
                 "phone_format": ("phone_raw",), "phone_extension": ("phone_raw",)}.get(
            kind, {"mailchimp": ("mailchimp_email_raw",),
                   "orders": ("shopify_order_email",)}.get(system, ("email",)))  # fmt: skip
        assert any(person in lookup.get((t, value), ()) for t in types), (kind, system, value)


def test_the_cli_and_a_continued_world_keep_the_noise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKETING_HOME", str(tmp_path))
    monkeypatch.setattr(simulate_pkg, "simulate",
                        functools.partial(simulate_pkg.simulate, history_days=60))  # fmt: skip
    assert cli.main(["simulate", "--identity-noise", "--days", "1"]) == 0
    truth = tmp_path / "truth"
    assert json.loads((truth / "state" / "meta.json").read_text())["identity_noise"] is True
    found = pl.read_parquet(truth / IDENTITY_VARIATIONS_FILE)
    assert found.height > 0
    assert (found["first_seen_at"] < _instant(END + dt.timedelta(days=1))).all()
    assert identity_noise.is_noisy(pl.read_parquet(truth / "state" / "orders.parquet"))
