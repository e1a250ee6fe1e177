"""The columns the probabilistic matcher compares (pipelines.identity.features)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.identity.features import comparison_columns, nickname_equivalent
from tests.unit.fuzzy_world import records


def test_comparison_columns_canonicalise_what_people_write_differently() -> None:
    got = comparison_columns(records(
        {"record_key": "a", "first_name": "bob", "email": "Jo.Smith+shop@googlemail.com",
         "phone": "+12125550143", "address": "12 Main Street, Apt. 4", "zip": "sw1a 1aa",
         "city": "New  York"},
        {"record_key": "b", "first_name": "jo", "last_name": "smith",
         "email": "jo.smith+news@yahoo.com", "phone": "+44", "address": " ", "zip": ""},
        {"record_key": "c", "email": "not an email"},
    )).select("record_key", "email_local", "email_domain", "email", "email_spells_name",
              "phone_last7", "address", "address_number", "zip", "city")  # fmt: skip
    expected = pl.DataFrame({
        "record_key": ["a", "b", "c"],
        # Gmail ignores dots and +tags; other providers keep dots.
        "email_local": ["josmith", "jo.smith", None],
        "email_domain": ["gmail.com", "yahoo.com", None],
        "email": ["josmith@gmail.com", "jo.smith@yahoo.com", None],
        # jo.smith spells Jo Smith's name; a's has no last name to spell.
        "email_spells_name": [False, True, None],
        "phone_last7": ["5550143", None, None],
        "address": ["12 main st apt 4", None, None],
        "address_number": ["12", None, None],
        "zip": ["SW1A1AA", None, None],
        "city": ["new york", None, None],
    })  # fmt: skip
    assert_frame_equal(got, expected)


def test_a_handle_spells_a_name_written_with_accents() -> None:
    # Handles are ASCII: søren_russo@ spells Søren Russo as soren.russo@ does, so two such
    # handles are the name again, no evidence of their own (the matcher's level for them).
    got = comparison_columns(records(
        {"record_key": "a", "first_name": "søren", "last_name": "russo",
         "email": "soren_russo@gmail.com"},
        {"record_key": "b", "first_name": "inés", "last_name": "fernández",
         "email": "ines.fernandez1987@aol.com"},
        {"record_key": "c", "first_name": "łukasz", "last_name": "straße",
         "email": "lstrasse@me.com"},
        {"record_key": "d", "first_name": "chloé", "last_name": "martin",
         "email": "chloe.durand@live.com"},
    ))  # fmt: skip
    assert got["email_spells_name"].to_list() == [True, True, True, False]


@pytest.mark.parametrize(("a", "b", "same"), [
    ("bob", "robert", True), ("liz", "beth", True), ("ann", "nancy", True),
    ("bobby", "rob", True), ("kathy", "katherine", True),
    # The list gives both robert and william the nickname bill: not one name through it.
    ("robert", "william", False), ("daniel", "danielle", False), ("carl", "carol", False),
])  # fmt: skip
def test_nickname_equivalence(a: str, b: str, same: bool) -> None:
    assert nickname_equivalent(a, b) is same
    assert nickname_equivalent(b, a) is same


def test_bad_input_is_named() -> None:
    good = records({"record_key": "a"}, {"record_key": "b"})
    with pytest.raises(ValueError, match=r"lack column.*phone"):
        comparison_columns(good.drop("phone"))
    with pytest.raises(ValueError, match="record_key 'a' appears more than once"):
        comparison_columns(records({"record_key": "a"}, {"record_key": "a"}))
    with pytest.raises(ValueError, match=r"record_key is null in 1 row"):
        comparison_columns(records({"record_key": "a"}, {"record_key": None}))
    with pytest.raises(ValueError, match=r"zip \(Int64\) must be String"):
        comparison_columns(good.with_columns(zip=pl.lit(10001, pl.Int64)))
