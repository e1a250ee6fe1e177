"""Normalisation and hashing as Meta and Google specify, with the reference test vectors."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.activation import normalize

# docs: /work/shared/reference/source-formats.md, "Upload formats for audiences".
EMAIL_HASH = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
META_PHONE_HASH = "d6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a"
GOOGLE_PHONE_HASH = "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4"


def apply(expr: pl.Expr, **columns: list) -> list:
    frame = pl.DataFrame(columns, schema={k: pl.String for k in columns})
    return frame.select(expr.alias("out")).get_column("out").to_list()


def e164(phones: list[str | None], countries: list[str | None], default: str = "US") -> list:
    return apply(normalize.phone_e164(pl.col("p"), pl.col("c"), default), p=phones, c=countries)


def test_the_reference_vectors_hash_exactly():
    email = apply(normalize.email(pl.col("e")), e=[" Person@Example.com "])
    assert email == ["person@example.com"]
    assert normalize.sha256_hex(email) == [EMAIL_HASH]
    google = e164(["(555) 123-4567"], ["US"])
    assert google == ["+15551234567"]
    meta = apply(normalize.phone_meta(pl.col("p")), p=google)
    assert meta == ["15551234567"]
    assert normalize.sha256_hex(meta + google) == [META_PHONE_HASH, GOOGLE_PHONE_HASH]


def test_duckdb_digests_equal_pythons_and_nulls_stay_null():
    values = ["", "zoë", "a" * 1000, None]
    expected = [hashlib.sha256(v.encode()).hexdigest() if v is not None else None for v in values]
    assert normalize.sha256_hex(values) == expected
    frame = pl.DataFrame({"a": ["x", None], "b": [1, 2]})
    hashed = normalize.sha256_columns(frame, ["a"])
    assert hashed.columns == ["a", "b"] and hashed.get_column("b").to_list() == [1, 2]
    assert hashed.get_column("a")[1] is None


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("(555) 123-4567", "US", "+15551234567"),
        ("+1 555-123-4567", "GB", "+15551234567"),  # international form wins over the country
        ("555.123.4567", None, "+15551234567"),  # no country: the default
        ("1 (555) 123-4567", "us", "+15551234567"),
        ("'+15551234567", "US", "+15551234567"),  # spreadsheet apostrophe
        ("555-123-4567 ext. 12", "US", "+15551234567"),
        ("011 44 7700 900123", "US", "+447700900123"),
        ("07700 900123", "GB", "+447700900123"),  # trunk 0 dropped
        ("0044 7700 900123", "GB", "+447700900123"),
        ("030 1234567", "DE", "+49301234567"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps its leading 0
        ("416 555 0123", "CA", "+14165550123"),
        ("123-4567", "US", None),  # too short for North America
        ("1234567890", "US", None),  # no area code starts with 1
        ("call me", "US", None),
        ("", "US", None),
        (None, "US", None),
        ("0612345678", "ZZ", None),  # national number of an unknown country
    ],
)
def test_phones_become_e164_with_the_records_country(phone, country, expected):
    assert e164([phone], [country]) == [expected]


def test_a_national_number_without_a_country_takes_the_configured_default():
    assert e164(["07700 900123"], [None], default="GB") == ["+447700900123"]
    assert e164(["07700 900123"], [""], default="GB") == ["+447700900123"]


@given(
    area=st.integers(200, 999),
    exchange=st.integers(0, 999),
    line=st.integers(0, 9999),
    style=st.sampled_from(
        [
            "({a}) {e}-{l}",
            "{a}-{e}-{l}",
            "+1 {a} {e} {l}",
            "{a}.{e}.{l}",
            "1{a}{e}{l}",
            "+1 ({a}) {e}-{l}",
            " {a}{e}{l} ",
        ]
    ),
)
def test_every_way_of_typing_a_us_number_gives_one_e164(area, exchange, line, style):
    typed = style.format(a=area, e=f"{exchange:03d}", l=f"{line:04d}")
    assert e164([typed], ["US"]) == [f"+1{area}{exchange:03d}{line:04d}"]


@given(st.text(max_size=25), st.sampled_from(["US", "GB", "DE", "IT", None, "x"]))
def test_a_phone_is_valid_e164_or_null_whatever_comes_in(text, country):
    (out,) = e164([text], [country])
    # E.164 sets no least length: a few small countries' numbers have 7 digits with the code.
    assert out is None or (
        out.startswith("+") and out[1:].isdigit() and len(out) - 1 <= 15 and out[1] != "0"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Mary-Jane ", "maryjane"),
        ("O'Brien", "obrien"),
        ("José", "josé"),
        ("Jose\u0301", "josé"),  # decomposed accent: NFC first, so it hashes as the composed one
        ('=HYPERLINK("x")', "hyperlinkx"),
        ("Van der Berg", "vanderberg"),
        ("  ", None),
        ("123", None),
    ],
)
def test_names_are_lowercase_letters_only(raw, expected):
    assert apply(normalize.name(pl.col("n")), n=[raw]) == [expected]


# Characters Python 3.11's Unicode tables know (the regex engine's tables may be newer).
@given(st.text(st.characters(exclude_categories=("Cn", "Cs")), max_size=20))
def test_name_normalisation_is_idempotent_and_letters_only(text):
    (once,) = apply(normalize.name(pl.col("n")), n=[text])
    if once is not None:
        assert once == once.lower() and all(ch.isalpha() for ch in once)
        assert apply(normalize.name(pl.col("n")), n=[once]) == [once]


def test_city_state_zip_country_per_platform():
    frame = pl.DataFrame(
        {
            "city": ["St. Louis", "New York", "London", None],
            "region": ["MO", "New York", "ENG", "US-CA"],
            "zip": ["63101-1234", "1001", "SW1A 1AA", "'02134"],
            "country": ["US", "US", "gb", "US"],
        }
    )
    out = frame.select(
        ct=normalize.city(pl.col("city")),
        st=normalize.state(pl.col("region"), pl.col("country")),
        zm=normalize.zip_meta(pl.col("zip"), pl.col("country")),
        zg=normalize.zip_google(pl.col("zip"), pl.col("country")),
        cm=normalize.country_meta(pl.col("country")),
        cg=normalize.country_google(pl.col("country")),
    )
    assert out.to_dicts() == [
        {"ct": "stlouis", "st": "mo", "zm": "63101", "zg": "63101", "cm": "us", "cg": "US"},
        {"ct": "newyork", "st": "ny", "zm": None, "zg": None, "cm": "us", "cg": "US"},
        {"ct": "london", "st": "eng", "zm": "sw1a1aa", "zg": "SW1A 1AA", "cm": "gb", "cg": "GB"},
        {"ct": None, "st": "ca", "zm": "02134", "zg": "02134", "cm": "us", "cg": "US"},
    ]


def test_a_country_that_is_not_two_letters_is_null_and_uk_means_gb():
    assert apply(normalize.country_google(pl.col("c")), c=["UK", "USA", " de ", None]) == [
        "GB",
        None,
        "DE",
        None,
    ]
