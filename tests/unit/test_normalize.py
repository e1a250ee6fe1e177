"""One normaliser for emails and phones: dbt's staging models and the exporters read every input
alike. The same inputs go through each path (the SQL functions on a DuckDB connection, the
staging models in a real dbt run on ingested exports, the exporters' Polars expressions) and
must come out equal, and equal to what the rules say."""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from pipelines.activation import normalize as exporter
from pipelines.config import Settings
from pipelines.ingest.run import ingest_source
from pipelines.normalize import rules, udfs
from pipelines.transform import run_dbt
from tests.conftest import query

# (typed phone, the record's country, E.164 expected with the default country US)
PHONES: list[tuple[str | None, str | None, str | None]] = [
    ("(555) 123-4567", "US", "+15551234567"),
    ("555-123-4567 x123", "US", "+15551234567"),  # extensions are dropped
    ("555-123-4567 ext. 12", None, "+15551234567"),
    ("(555) 123-4567 #12", "CA", "+15551234567"),
    ("011 44 7700 900123", "US", "+447700900123"),  # North America's international prefix
    ("011 49 30 1234567", None, "+49301234567"),
    ("0044 7700 900123", "GB", "+447700900123"),  # Europe's
    ("0044 7700 900123", "US", "+447700900123"),  # 00 typed on a North American record
    ("00 33 1 23 45 67 89", "DE", "+33123456789"),
    ("0011 61 2 9374 4000", "AU", "+61293744000"),  # Australia's
    ("07700 900123", "GB", "+447700900123"),  # trunk 0 dropped
    ("07700 900123", "uk", "+447700900123"),
    ("+44 (0)20 7946 0958", "US", "+442079460958"),  # "(0)" is not dialled from abroad
    ("030 1234567", "DE", "+49301234567"),
    ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps its leading 0
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("020 123 4567", "NL", "+31201234567"),
    ("(11) 91234-5678", "BR", "+5511912345678"),
    ("090-1234-5678", "JP", "+819012345678"),
    ("0412 345 678", "AU", "+61412345678"),
    ("55 1234 5678", "MX", "+525512345678"),
    ("98765 43210", "IN", "+919876543210"),
    ("'+15551234567", "US", "+15551234567"),  # spreadsheet apostrophe
    ("1 (555) 123-4567", "us", "+15551234567"),
    ("416 555 0123", "USA", "+14165550123"),  # not a two-letter code: the default
    ("123-4567", "US", None),  # too short for North America
    ("1234567890", "US", None),  # no area code starts with 1
    ("0612345678", "ZZ", None),  # a national number of no known country
    ("call me", "US", None),
    ("+", None, None),
    ("   ", "GB", None),
    ("", "US", None),
    (None, "US", None),
]

# (typed email, normalised)
EMAILS: list[tuple[str | None, str | None]] = [
    (" Person@Example.com ", "person@example.com"),
    ("JOHN.DOE+promo@GMAIL.com", "john.doe+promo@gmail.com"),  # dots and tags kept
    ("\tjane@example.org\u00a0", "jane@example.org"),  # tab and no-break space trimmed
    ("Zoë@Example.de", "zoë@example.de"),
    ("not an email", "not an email"),  # shape is the exports' checks' business
    ("   ", None),
    ("", None),
    (None, None),
]


def exporter_phones(phones: list, countries: list, default: str = "US") -> list:
    frame = pl.DataFrame({"p": phones, "c": countries}, schema={"p": pl.String, "c": pl.String})
    return frame.select(
        exporter.phone_e164(pl.col("p"), pl.col("c"), default).alias("e")
    ).get_column("e").to_list()


def exporter_emails(emails: list) -> list:
    frame = pl.DataFrame({"e": emails}, schema={"e": pl.String})
    return frame.select(exporter.email(pl.col("e"))).get_column("e").to_list()


def sql_phones(phones: list, countries: list, default: str = "US") -> list:
    con = udfs.register(duckdb.connect())
    try:
        con.register("t", pl.DataFrame({"p": phones, "c": countries, "i": range(len(phones))},
                                        schema={"p": pl.String, "c": pl.String, "i": pl.Int64}))
        rows = con.sql(f"select normalized_phone_e164(p, c, '{default}') from t order by i")
        return [r[0] for r in rows.fetchall()]
    finally:
        con.close()


def sql_emails(emails: list) -> list:
    con = udfs.register(duckdb.connect())
    try:
        con.register("t", pl.DataFrame({"e": emails, "i": range(len(emails))},
                                        schema={"e": pl.String, "i": pl.Int64}))
        return [r[0] for r in con.sql("select normalized_email(e) from t order by i").fetchall()]
    finally:
        con.close()


def test_phones_read_as_expected_on_every_path():
    phones, countries, expected = (list(c) for c in zip(*PHONES, strict=True))
    assert exporter_phones(phones, countries) == expected
    assert sql_phones(phones, countries) == expected
    assert [rules.phone_e164(p, c, "US") for p, c in zip(phones, countries, strict=True)] == (
        expected)


def test_emails_read_as_expected_on_every_path():
    emails, expected = (list(c) for c in zip(*EMAILS, strict=True))
    assert exporter_emails(emails) == expected
    assert sql_emails(emails) == expected


def test_the_default_country_reads_national_numbers_on_every_path():
    phones = ["07700 900123", "07700 900123", "+1 202 555 0123", "555-0123"]
    countries = [None, "", None, None]
    expected = ["+447700900123", "+447700900123", "+12025550123", None]
    assert exporter_phones(phones, countries, "GB") == expected
    assert sql_phones(phones, countries, "GB") == expected


def test_a_value_repeated_across_many_rows_reads_the_same_in_every_row():
    # More rows than DuckDB hands a UDF at once (2,048), so the distinct values and the
    # remembered ones are both in play.
    phones = [p for p, _, _ in PHONES] * 200
    countries = [c for _, c, _ in PHONES] * 200
    expected = [e for _, _, e in PHONES] * 200
    assert sql_phones(phones, countries) == expected
    assert exporter_phones(phones, countries) == expected


typed = st.one_of(
    st.text(max_size=25),
    st.text(alphabet="0123456789 +-().x#'", max_size=22),
)


@examples(max_examples=40, deadline=None)
@given(st.lists(st.tuples(typed, st.sampled_from(["US", "GB", "DE", "IT", "AU", None, "x"])),
                min_size=1, max_size=20))
def test_whatever_comes_in_every_path_agrees_and_e164_reads_back_as_itself(rows):
    phones, countries = [p for p, _ in rows], [c for _, c in rows]
    out = exporter_phones(phones, countries)
    assert sql_phones(phones, countries) == out
    for e164 in out:
        if e164 is not None:
            assert e164.startswith("+") and e164[1:].isdigit() and len(e164) <= 16
            assert rules.phone_e164(e164, None, "US") == e164


@examples(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=1, max_size=20))
def test_emails_agree_on_every_path_whatever_comes_in(emails):
    assert sql_emails(emails) == exporter_emails(emails)


def test_registering_twice_leaves_the_functions_as_they_are():
    con = duckdb.connect()
    try:
        udfs.register(con)
        udfs.register(con)
        assert con.sql("select normalized_email(' A@B.C ')").fetchall() == [("a@b.c",)]
    finally:
        con.close()


# The staging models, built by dbt from ingested exports, against the exporters' normaliser.
EXPORTED = date(2026, 10, 1)
HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Lifecycle Stage",
           "Lead Status", "Create Date", "Original Source", "Became a Customer Date",
           "Associated Deal"]  # fmt: skip
MAILCHIMP = ["Email Address", "First Name", "Last Name", "Phone Number", "CC", "TAGS",
             "MEMBER_RATING", "OPTIN_TIME", "LAST_CHANGED", "UNSUB_TIME", "CLEAN_TIME", "EUID"]


def write_csv(path, header: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Settings:
    """HubSpot contacts (no country: the default) and Mailchimp members (country `CC`) holding
    every test input, ingested and built by `dbt run` into their staging views."""
    settings = Settings(home=tmp_path_factory.mktemp("normalize") / "data",
                        duckdb_memory_limit="1GB", duckdb_threads=1)
    day = settings.landing_dir
    emails = [email for email, _ in EMAILS] * 5
    contacts = [{"Record ID": i, "Email": emails[i] or "", "Phone Number": phone or ""}
                for i, (phone, _, _) in enumerate(PHONES)]
    members = [{"Email Address": f"member{i}@example.com", "Phone Number": phone or "",
                "CC": country or ""} for i, (phone, country, _) in enumerate(PHONES)]
    write_csv(day / "hubspot" / EXPORTED.isoformat() / "contacts.csv", HUBSPOT, contacts)
    write_csv(day / "mailchimp" / EXPORTED.isoformat() / "subscribed_members.csv", MAILCHIMP,
              members)
    for source in ("hubspot", "mailchimp"):
        report = ingest_source(settings, source, "normalize-test", EXPORTED)
        assert report.count("loaded") == 1, report.summary()
    result = run_dbt(settings, ["run", "--select", "stg_hubspot__contacts",
                                "stg_mailchimp__members"], EXPORTED)
    assert set(result.status_counts) == {"success"}, result.failures
    return settings


@pytest.mark.slow
def test_dbt_staging_reads_every_input_as_the_exporters_do(staged):
    contacts = query(staged, 'select r."Email", r."Phone Number", s.email, s.phone_e164 '
                             "from raw.hubspot__contacts r join staging.stg_hubspot__contacts s "
                             'on s.hubspot_record_id = cast(r."Record ID" as varchar) '
                             'order by r."Record ID"')
    members = query(staged, 'select r."Phone Number", r."CC", s.phone_e164 '
                            "from raw.mailchimp__members r join staging.stg_mailchimp__members s "
                            'on s.email = r."Email Address" order by r._row')
    assert len(contacts) == len(members) == len(PHONES)
    raw_emails, raw_phones, emails, phones = (list(c) for c in zip(*contacts, strict=True))
    # The inputs reached raw as typed (spaces and all), so staging normalised them.
    assert " Person@Example.com " in raw_emails and "555-123-4567 x123" in raw_phones
    assert emails == exporter_emails(raw_emails)
    assert phones == exporter_phones(raw_phones, [None] * len(raw_phones))
    raw_phones, raw_countries, phones = (list(c) for c in zip(*members, strict=True))
    assert phones == exporter_phones(raw_phones, raw_countries) == [e for _, _, e in PHONES]


def test_the_sentiment_function_scores_texts_as_pipelines_text_does() -> None:
    con = udfs.register(duckdb.connect())
    try:
        rows = con.sql("select t, sentiment_compound(t) from (values ('Love it, thank you!'), "
                       "('Terrible service, I hate it'), (null), ('  ')) v(t)").fetchall()
    finally:
        con.close()
    scores = dict(rows)
    assert scores["Love it, thank you!"] > 0.5
    assert scores["Terrible service, I hate it"] < -0.5
    assert scores[None] is None and scores["  "] is None


def test_the_sentiment_label_function_labels_as_pipelines_text_does() -> None:
    import polars as pl

    from pipelines.text.sentiment import NEGATIVE, POSITIVE, sentiment

    scores = [-1.0, NEGATIVE - 1e-9, NEGATIVE, NEGATIVE + 1e-9, 0.0, POSITIVE - 1e-9, POSITIVE,
              1.0, None]
    con = udfs.register(duckdb.connect())
    try:
        labels = [label for (label,) in con.execute(
            "select sentiment_label_of(s) from unnest(?::double[]) with ordinality t(s, i) "
            "order by i", [scores]).fetchall()]
    finally:
        con.close()
    assert labels == ["negative", "negative", "negative", "neutral", "neutral", "neutral",
                      "positive", "positive", None]
    # ... the labels `sentiment` gives the texts it scores.
    texts = pl.Series(["Love it, thank you!", "Terrible service, I hate it", "It is a mug", None])
    scored = sentiment(texts)
    con = udfs.register(duckdb.connect())
    try:
        sql = [label for (label,) in con.execute(
            "select sentiment_label_of(s) from unnest(?::double[]) with ordinality t(s, i) "
            "order by i", [scored["compound"].to_list()]).fetchall()]
    finally:
        con.close()
    assert sql == scored["label"].to_list() == ["positive", "negative", "neutral", None]
