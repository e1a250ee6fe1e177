"""What the simulated world varies that identity resolution may not assume: phones valid in
their country and written as people type them, second phones, households that share a landline
and an address, second email addresses, company mailboxes colleagues share, and persona counts
other than seven. Everything is read back from the files and checked against the truth."""

from __future__ import annotations

import re

import numpy as np
import phonenumbers
import polars as pl
import pytest
import simworld as sw
import yaml

from pipelines.config import REPO_ROOT
from pipelines.normalize.rules import phone_e164
from simulator import contacts, personas
from simulator import reference as ref
from simulator.population import Window, _unique_emails, build_population, format_phones
from simulator.writers import MAILCHIMP_FILES

END = sw.END


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.main_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def people(w: sw.SimWorld) -> pl.DataFrame:
    return sw.truth(w, "customers")


def numbers_of(people: pl.DataFrame) -> dict[int, set[str]]:
    """Each person's numbers in E.164: their mobile and their second phone."""
    return {
        pid: {n for n in (mobile, second) if n}
        for pid, mobile, second in people.select(
            "person_id", "phone_e164", "second_phone_e164").iter_rows()
    }  # fmt: skip


def test_every_phone_is_a_valid_number_of_its_country(
    w: sw.SimWorld, people: pl.DataFrame
) -> None:
    country = pl.read_parquet(w.truth / "state" / "people.parquet").select(
        "person_id", "country_code")
    checked = 0
    for code, *numbers in people.join(country, on="person_id").select(
            "country_code", "phone_e164", "second_phone_e164").iter_rows():  # fmt: skip
        for number in numbers:
            if number:
                parsed = phonenumbers.parse(number)
                assert phonenumbers.is_valid_number_for_region(parsed, code), (number, code)
                checked += 1
    assert checked > people.height  # mobiles for everyone, second phones for some
    # Mobiles are each one person's; a second phone is shared only within a home.
    assert people["phone_e164"].is_unique().all()
    assert not set(people["phone_e164"]) & set(people["second_phone_e164"].drop_nulls())


def test_numbers_are_drawn_valid_in_every_country_even_in_bulk() -> None:
    rng = np.random.default_rng(3)
    city_idx = np.repeat(np.arange(len(ref.CITIES)), 400)
    mobile = np.tile([True, False], len(city_idx) // 2)
    national, e164 = contacts.phone_numbers(rng, city_idx, mobile)
    assert e164.is_unique().all()
    for number, is_mobile in zip(e164, mobile, strict=True):
        parsed = phonenumbers.parse("+" + number)
        assert phonenumbers.is_valid_number(parsed), number
        kind = phonenumbers.number_type(parsed)
        mobile_kinds = {phonenumbers.PhoneNumberType.MOBILE,
                        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}  # fmt: skip
        assert (kind in mobile_kinds) == is_mobile or kind == (
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE), number
    # Written in every style people use, each reads back as the same number.
    countries = pl.Series([ref.CITIES[c].country for c in city_idx])
    for style in range(6):
        typed = format_phones(national, e164, countries, np.full(len(e164), style))
        read = [phone_e164(t, c, "US") for t, c in zip(typed, countries, strict=True)]
        assert read == ["+" + e for e in e164], style


def test_written_phones_read_back_as_their_owners_numbers(
    w: sw.SimWorld, people: pl.DataFrame
) -> None:
    numbers = numbers_of(people)
    ids = sw.truth(w, "identifiers").filter(pl.col("identifier_type") == "phone_raw")
    owners: dict[str, set[int]] = {}
    for value, person in ids.select("identifier_value", "person_id").iter_rows():
        owners.setdefault(value, set()).add(person)
    customers = sw.read_csv(w.folder("shop") / "customers_export.csv")
    checked = 0
    for column in ("Phone", "Default Address Phone"):
        for value, country in customers.select(column, "Default Address Country Code").iter_rows():
            if value is None:
                continue
            read = phone_e164(value, country, "US")
            assert any(read in numbers[p] for p in owners[value]), (value, country)
            checked += 1
    members = sw.read_csv(w.folder("mailchimp") / MAILCHIMP_FILES["subscribed"])
    for value, country in members.select("Phone Number", "CC").iter_rows():
        if value is not None and country is not None:
            assert any(phone_e164(value, country, "US") in numbers[p] for p in owners[value])
            checked += 1
    assert checked > 300
    # The landline shows in the shop's address phone and the CRM's phone; a CRM contact may
    # also hold the mobile apart.
    second = {n for p in people["second_phone_e164"].drop_nulls() for n in [p]}
    address = {phone_e164(v, c, "US") for v, c in customers.select(
        "Default Address Phone", "Default Address Country Code").iter_rows() if v}  # fmt: skip
    assert address & second and address - second
    crm = sw.read_csv(w.folder("hubspot") / "contacts.csv")
    assert crm["Mobile Phone Number"].drop_nulls().len() > 0


def test_households_share_an_address_and_their_landline(
    w: sw.SimWorld, people: pl.DataFrame
) -> None:
    homes = people.filter(pl.col("household_id").is_not_null())
    sizes = homes.group_by("household_id").len()["len"]
    assert sizes.min() >= 2 and sizes.max() <= 4 and (sizes > 2).any()
    # About one person in ten shares a home with another customer (see contacts).
    assert 0.05 < homes.height / people.height < 0.2
    assert (homes.group_by("household_id").agg(pl.col("second_phone_e164").n_unique())
            ["second_phone_e164"] == 1).all()  # fmt: skip
    assert homes["second_phone_e164"].drop_nulls().is_duplicated().any()
    assert homes["phone_e164"].is_unique().all() and homes["email"].is_unique().all()
    # The shop's export shows one street and postcode for a home's members.
    state = pl.read_parquet(w.truth / "state" / "people.parquet").select(
        "person_id", "shop_customer_id")
    customers = sw.read_csv(w.folder("shop") / "customers_export.csv").join(
        state, left_on="Customer ID", right_on="shop_customer_id").join(
        people.select("person_id", "household_id"), on="person_id")  # fmt: skip
    shared = customers.filter(pl.col("household_id").is_not_null()).group_by(
        "household_id").agg(pl.col("Default Address Address1").n_unique(),
                            pl.col("Default Address Zip").str.strip_chars("'").n_unique(),
                            pl.len())  # fmt: skip
    several = shared.filter(pl.col("len") > 1)
    assert several.height > 0
    assert (several["Default Address Address1"] == 1).all()
    assert (several["Default Address Zip"] == 1).all()


def test_two_address_people_show_both_and_sometimes_together(
    w: sw.SimWorld, people: pl.DataFrame
) -> None:
    two = people.filter(pl.col("second_email").is_not_null())
    assert 0.04 < two.height / people.height < 0.2
    assert not set(two["second_email"]) & set(people["email"])
    ids = sw.truth(w, "identifiers").filter(pl.col("identifier_type") == "email")
    shown = ids.join(two.select("person_id", "email", "second_email"), on="person_id")
    both = shown.group_by("person_id").agg(
        (pl.col("identifier_value") == pl.col("email")).any().alias("main"),
        (pl.col("identifier_value") == pl.col("second_email")).any().alias("second"),
    )
    assert both.filter(pl.col("main") & pl.col("second")).height > 10
    # A CRM contact lists the person's other address: a record that links the two.
    crm = sw.read_csv(w.folder("hubspot") / "contacts.csv").drop_nulls(
        "Additional email addresses")
    pairs = {frozenset(a for a in (main, second) if a) for main, second in two.select(
        "email", "second_email").iter_rows()}  # fmt: skip
    listed = [frozenset({e.strip().lower(), extra})
              for e, extra in crm.select("Email", "Additional email addresses").iter_rows()]
    assert sum(pair in pairs for pair in listed) > 5


def test_emails_are_made_unique_by_inbox_as_gmail_reads_them() -> None:
    local = pl.Series(["jane.doe", "janedoe", "j.anedoe", "jane.doe", "jane.doe"])
    domain = pl.Series(["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com"])
    # Gmail ignores dots, so the 2nd and 3rd would reach the 1st's mailbox; elsewhere a dot
    # is part of the address.
    assert _unique_emails(local, domain).to_list() == [
        "jane.doe@gmail.com", "janedoe2@gmail.com", "j.anedoe3@gmail.com",
        "jane.doe@yahoo.com", "jane.doe@outlook.com"]


def test_no_two_people_hold_one_gmail_inbox(people: pl.DataFrame) -> None:
    held = pl.concat([people.select("person_id", address=column)
                      for column in ("email", "second_email")]).drop_nulls()
    gmail = held.filter(pl.col("address").str.ends_with("@gmail.com")).with_columns(
        inbox=pl.col("address").str.replace_all(".", "", literal=True))
    assert gmail.height > 100
    holders = gmail.group_by("inbox").agg(pl.col("person_id").n_unique())
    assert holders.filter(pl.col("person_id") > 1).is_empty()


def test_colleagues_share_company_mailboxes_some_no_list_has(
    w: sw.SimWorld, people: pl.DataFrame
) -> None:
    ids = sw.truth(w, "identifiers").filter(pl.col("identifier_type") == "email")
    boxes = ids.filter("is_role_mailbox")
    assert boxes.height > 0
    assert boxes.filter("is_shared")["identifier_value"].n_unique() >= 2
    shared = boxes.filter("is_shared").join(people.select("person_id", "company_id"),
                                            on="person_id")  # fmt: skip
    assert (shared.group_by("identifier_value").agg(pl.col("company_id").n_unique())
            ["company_id"] == 1).all()  # fmt: skip
    # The simulator's mailboxes include names the pipeline's list does not ship.
    listed = set(yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
                 ["vars"]["identity_role_mailboxes"])  # fmt: skip
    names = {re.sub(r"\d+$", "", v.split("@")[0]) for v in boxes["identifier_value"]}
    assert names - listed
    assert {name for name, _ in ref.ROLE_MAILBOXES} - listed


@pytest.mark.parametrize("k", [3, 4, 7, 9, 10])
def test_a_world_can_have_other_numbers_of_personas(k: int) -> None:
    groups = personas.world_personas(k, seed=42)
    assert len(groups) == k == len({p.name for p in groups})
    if k == 7:
        assert groups == ref.PERSONAS
    window = Window(end_date=END, history_days=60)
    people = build_population(1500, 42, window, groups)
    assert set(people["persona"]) == {p.name for p in groups}
    # Variants are other behaviour: another favourite category mix and hour of the day.
    for p in groups[len(ref.PERSONAS):]:
        base = next(b for b in ref.PERSONAS if p.name == f"{b.name}_variant")
        assert p.categories != base.categories and p.send_hour != base.send_hour


def test_a_persona_count_outside_three_to_ten_is_refused() -> None:
    for k in (2, 11):
        with pytest.raises(ValueError, match="personas must be from 3 to 10"):
            personas.world_personas(k, seed=1)
