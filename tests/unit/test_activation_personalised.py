"""The site feed, the consent-checked lookup and each persona's Meta and Google ad files."""

from __future__ import annotations

import csv
import json

import polars as pl
import pytest

from pipelines.activation import adcopy, site
from pipelines.activation.consent import apply_consent
from pipelines.quality.gate import read_export_file

EMAIL_SHA = "a" * 64


def person(key: str, **overrides) -> dict:
    base = {"customer_key": key, "persona_name": "Explorers", "email": f"{key}@x.com",
            "email_sha256": f"{key:0>64}", "country_code": "US", "is_eea": False,
            "ad_storage_consent": True, "ad_personalization_consent": None,
            "is_erased": False}
    return {**base, **overrides}


def customers(*people: dict) -> pl.DataFrame:
    return pl.DataFrame(list(people), schema={
        "customer_key": pl.String, "persona_name": pl.String, "email": pl.String,
        "email_sha256": pl.String, "country_code": pl.String, "is_eea": pl.Boolean,
        "ad_storage_consent": pl.Boolean, "ad_personalization_consent": pl.Boolean,
        "is_erased": pl.Boolean})


def test_site_consent_needs_storage_and_in_the_eu_personalisation():
    people = customers(
        person("k1"),  # US, storage yes: in
        person("k2", ad_storage_consent=False),
        person("k3", is_eea=True),  # EEA without ad_personalization: out
        person("k4", is_eea=True, ad_personalization_consent=True),
        person("k5", country_code="GB", is_eea=False),  # the UK follows the EU rule
        person("k6", is_erased=True),
        person("k7", ad_storage_consent=None),  # unknown is no
    )
    allowed, held = apply_consent(people, "site")
    assert allowed.get_column("customer_key").to_list() == ["k1", "k4"]
    assert held == {"erasure_request": 1, "eea_without_consent": 2, "no_storage_consent": 2}


def test_lookup_keys_devices_and_hashed_emails_to_persona_and_top_products():
    people = customers(person("k1"), person("k2", ad_storage_consent=False),
                       person("k3", persona_name=None), person("k4", email_sha256=None))
    devices = pl.DataFrame({"customer_key": ["k1", "k1", "k2", "k4"],
                            "user_pseudo_id": ["111.1", "222.2", "333.3", "444.4"]})
    top = pl.DataFrame({"customer_key": ["k1", "k1", "k1", "k1", "k4"],
                        "rank": [2, 1, 3, 4, 1], "product_id": ["B", "A", "C", "D", "Z"]})
    rows, held = site.lookup_rows(people, devices, top)
    assert held == {"no_storage_consent": 1}
    assert rows.rows() == [
        ("email_sha256", f"{'k1':0>64}", "Explorers", "A", "B", "C"),
        ("ga4_user_pseudo_id", "111.1", "Explorers", "A", "B", "C"),
        ("ga4_user_pseudo_id", "222.2", "Explorers", "A", "B", "C"),
        ("ga4_user_pseudo_id", "444.4", "Explorers", "Z", None, None),
    ]
    # No raw email anywhere: only the hash.
    assert not any("@" in str(v) for row in rows.rows() for v in row)


def test_a_key_shared_by_two_people_points_at_the_first_only():
    people = customers(person("k2", persona_name="Regulars"), person("k1"))
    devices = pl.DataFrame({"customer_key": ["k1", "k2"], "user_pseudo_id": ["9.9", "9.9"]})
    rows, _ = site.lookup_rows(people, devices, pl.DataFrame(
        schema={"customer_key": pl.String, "rank": pl.Int32, "product_id": pl.String}))
    assert rows.filter(pl.col("key_type") == "ga4_user_pseudo_id").rows() == [
        ("ga4_user_pseudo_id", "9.9", "Explorers", None, None, None)]


def test_slugs_are_file_names_and_never_collide():
    personas = pl.DataFrame({"persona_id": [1, 2, 3],
                             "persona": ["Coffee Explorers", "coffee-explorers!", "../etc"]})
    assert site.persona_slugs(personas).get_column("slug").to_list() == [
        "coffee-explorers-1", "coffee-explorers-2", "etc"]


def _personalisation(name: str = "Explorers") -> pl.DataFrame:
    return pl.DataFrame({
        "persona_id": [1], "persona": [name], "customers": [3], "hero_category": ["beans"],
        "featured_products": ["=HYPERLINK(1), Mug"], "featured_product_ids": ["B,A"],
        "offer_code": ["SPRING10"], "offer_description": ["10% off"],
        "offer_terms": ["Until March."], "headline": ["Taste something new"],
        "best_hour_local": [9], "best_weekday": [2], "contacts_timed": [3],
        "own_evidence_share": [0.5], "subject_1": ["a"], "subject_2": [None],
        "subject_3": [None]})


def test_site_files_are_csv_safe_and_the_json_holds_the_same_rows(tmp_path):
    personas = site.persona_rows(_personalisation())
    lookup = pl.DataFrame({c: ["x"] for c in site.LOOKUP_COLUMNS})
    entries = site.write_site_files(tmp_path, personas, lookup, {"no_storage_consent": 2})
    assert [e["path"] for e in entries] == ["site/personas.csv", "site/personas.json",
                                            "site/lookup.csv", "site/lookup.json"]
    assert entries[2]["suppressed"] == {"no_storage_consent": 2}
    with (tmp_path / "site/personas.csv").open() as f:
        row = next(csv.DictReader(f))
    assert row["featured_products"] == "'=HYPERLINK(1), Mug"  # inert in a spreadsheet
    document = json.loads((tmp_path / "site/personas.json").read_text())
    assert document["columns"] == list(site.PERSONA_COLUMNS)
    assert document["rows"][0]["slug"] == "explorers"
    assert document["rows"][0]["best_hour_local"] == 9
    # The audit reads the JSON as text columns, like a CSV.
    audited = read_export_file(tmp_path / "site/personas.json")
    assert audited.columns == list(site.PERSONA_COLUMNS)
    assert audited.get_column("best_hour_local").to_list() == ["9"]


def test_an_export_json_file_of_another_shape_is_refused(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"x\.json: an export JSON file must be"):
        read_export_file(bad)


def _content() -> pl.DataFrame:
    rows = []
    for persona in ("Explorers", "all"):
        for fmt, n in (("meta_primary_text", 6), ("meta_headline", 2), ("meta_description", 1),
                       ("google_headline", 4 if persona == "all" else 16),
                       ("google_description", 1)):
            rows += [("launch", persona, fmt, r, f"{persona} {fmt} {r}") for r in range(1, n + 1)]
    rows += [("winback", "all", "google_headline", 1, "@SUM(1)"),
             ("winback", "all", "meta_primary_text", 1, "Come back")]
    return pl.DataFrame(rows, schema=["goal", "persona", "format", "rank", "text"],
                        orient="row")


def test_meta_ads_take_five_of_each_own_lines_first_and_the_brands_meta_buttons():
    assert adcopy.meta_cta_types(["Shop now", "Find your roast", "learn more",
                                  "Shop now"]) == ["SHOP_NOW", "LEARN_MORE"]
    assert adcopy.meta_cta_types(["Brew it"]) == ["SHOP_NOW"]
    rows = adcopy.meta_rows(_content(), "Explorers", "Bright Brew", "https://x.com/",
                            ["Shop now"])
    # winback has a body but no title: no ad.
    assert rows.height == 1
    ad = rows.row(0, named=True)
    assert ad["Campaign Name"] == "Bright Brew launch"
    assert [ad[f"Body {i}"] for i in range(1, 6)] == [
        f"Explorers meta_primary_text {r}" for r in range(1, 6)]
    assert [ad[f"Title {i}"] for i in range(1, 4)] == [
        "Explorers meta_headline 1", "Explorers meta_headline 2", "all meta_headline 1"]
    assert ad["Call to Action 1"] == "SHOP_NOW" and ad["Call to Action 2"] is None


def test_google_ads_need_three_headlines_and_two_descriptions():
    rows, warnings = adcopy.google_rows(_content(), "Explorers", "Bright Brew",
                                        "https://x.com/")
    assert rows.height == 1
    ad = rows.row(0, named=True)
    assert ad["Ad type"] == "Responsive search ad"
    assert ad["Headline 15"] == "Explorers google_headline 15"  # 16 own: the best 15
    assert [ad["Description 1"], ad["Description 2"]] == [
        "Explorers google_description 1", "all google_description 1"]
    assert warnings == ["google_rsa/Explorers: no winback ad; it has 1 checked headlines "
                        "and 0 descriptions, a responsive search ad needs 3 and 2"]


def test_ad_files_per_persona_are_csv_safe(tmp_path):
    personas = pl.DataFrame({"persona": ["all"], "slug": ["everyone"]})
    content = _content().filter(pl.col("goal") == "winback").vstack(pl.DataFrame(
        [("winback", "all", "meta_headline", 1, "-1+1")],
        schema=["goal", "persona", "format", "rank", "text"], orient="row"))
    entries, _ = adcopy.write_ad_files(tmp_path, personas, content, "B", "https://x.com/",
                                       ["Shop now"])
    assert [e["path"] for e in entries] == ["meta_dynamic_creative/everyone.csv"]
    with (tmp_path / "meta_dynamic_creative/everyone.csv").open() as f:
        row = next(csv.DictReader(f))
    assert row["Title 1"] == "'-1+1"


def test_without_the_report_tables_no_file_is_written_and_the_log_says_why(tmp_path, caplog):
    import duckdb

    from pipelines.activation.personalised import write_personalisation_files
    from pipelines.config import Settings

    con = duckdb.connect()
    con.execute("create schema reports")
    con.execute("create table reports.rpt_content (x integer)")
    entries, warnings = write_personalisation_files(
        Settings(home=tmp_path), con, customers(person("k1")), tmp_path / "out")
    assert (entries, warnings) == ([], [])
    assert ("no personalisation files: the work file lacks reports.rpt_personalisation, "
            "ml.personas (run find_personas, personalize, generate_content and "
            "transform_reports first)") in caplog.text
    assert not (tmp_path / "out").exists()


def test_the_audit_suites_pass_the_files_as_written_and_stop_an_overlong_headline(tmp_path):
    from pathlib import Path

    from pipelines.quality.gate import validate_exports

    suites = Path(__file__).resolve().parents[2] / "expectations" / "exports"
    personas = site.persona_rows(_personalisation())
    lookup = pl.DataFrame({"key_type": ["email_sha256", "ga4_user_pseudo_id"],
                           "key": [EMAIL_SHA, "123.456"], "persona": ["Explorers"] * 2,
                           "product_1": ["B", "A"], "product_2": [None, "B"],
                           "product_3": [None, None]})
    entries = site.write_site_files(tmp_path, personas, lookup, {})
    content = _content().filter(pl.col("goal") == "launch")
    ads, _ = adcopy.write_ad_files(tmp_path, personas.select("persona", "slug"), content,
                                   "Bright Brew", "https://x.com/", ["Shop now"])
    manifest = {"files": [*entries, *ads]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    failed = [o.describe() for o in validate_exports(tmp_path, suites) if not o.success]
    assert failed == []
    assert {e["platform"] for e in manifest["files"]} == {
        "site_personas", "site_lookup", "meta_dynamic_creative", "google_rsa"}
    rsa = tmp_path / "google_rsa" / "explorers.csv"
    rsa.write_text(rsa.read_text().replace("Explorers google_headline 1,",
                                           "A headline far longer than thirty,"))
    failed = [o for o in validate_exports(tmp_path, suites) if not o.success]
    assert [(o.expectation_type, o.column) for o in failed] == [
        ("expect_column_value_lengths_to_be_between", "Headline 1")]
