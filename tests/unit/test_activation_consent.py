"""Consent and suppression rules as pure functions over the customer frame."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.activation.consent import apply_consent, suppression_rules

AD_COLUMNS = (
    "is_eea",
    "ad_storage_consent",
    "ad_user_data_consent",
    "ad_personalization_consent",
    "ccpa_opt_out",
)


def person(**overrides) -> dict:
    base = {
        "email_norm": "a@x.com",
        "phone_norm": "+15551234567",
        "mailchimp_status": "subscribed",
        "is_emailable": True,
        "country_code": "US",
        "hubspot_record_id": "901",
        "is_eea": False,
        "ad_storage_consent": True,
        "ad_user_data_consent": True,
        "ad_personalization_consent": True,
        "ccpa_opt_out": False,
        "is_erased": False,
    }
    return {**base, **overrides}


def frame(*people: dict) -> pl.DataFrame:
    rows = [{**p, "customer_key": p.get("customer_key", f"k{i}")} for i, p in enumerate(people)]
    booleans = {c: pl.Boolean for c in (*AD_COLUMNS, "is_emailable", "is_erased")}
    texts = {
        c: pl.String
        for c in (
            "email_norm",
            "phone_norm",
            "mailchimp_status",
            "country_code",
            "hubspot_record_id",
        )
    }
    return pl.DataFrame(rows, schema_overrides={**booleans, **texts})


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"is_erased": True}, "erasure_request"),
        ({"ccpa_opt_out": True}, "ccpa_opt_out"),
        ({"ccpa_opt_out": None}, "ccpa_opt_out"),  # unknown opt-out: held back
        ({"is_eea": True, "ad_personalization_consent": False}, "eea_without_consent"),
        ({"is_eea": True, "ad_user_data_consent": None}, "eea_without_consent"),
        ({"is_eea": None, "ad_personalization_consent": False}, "eea_without_consent"),
        ({"country_code": "GB", "ad_personalization_consent": False}, "eea_without_consent"),
        ({"ad_storage_consent": False}, "no_ad_consent"),
        ({"ad_storage_consent": None}, "no_ad_consent"),
        ({"email_norm": None, "phone_norm": None}, "no_email_or_phone"),
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google"])
def test_ad_platforms_hold_back_for_the_first_reason_that_applies(platform, overrides, reason):
    allowed, held = apply_consent(frame(person(), person(**overrides)), platform)
    assert allowed.get_column("customer_key").to_list() == ["k0"]
    assert held == {reason: 1}


def test_outside_the_eu_one_missing_eea_consent_is_not_needed_but_ad_consent_is():
    people = frame(person(is_eea=False, ad_personalization_consent=False), person(is_eea=True))
    allowed, held = apply_consent(people, "meta")
    assert allowed.height == 2 and held == {}


def test_email_unsubscribes_do_not_decide_ads_and_ad_consent_does_not_decide_email():
    people = frame(
        person(mailchimp_status="unsubscribed", is_emailable=False),
        person(ad_storage_consent=False),
    )
    assert apply_consent(people, "meta")[1] == {"no_ad_consent": 1}
    assert apply_consent(people, "mailchimp")[1] == {"unsubscribed": 1}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"is_erased": True}, "erasure_request"),
        ({"email_norm": None}, "no_email"),
        ({"mailchimp_status": "unsubscribed", "is_emailable": False}, "unsubscribed"),
        ({"mailchimp_status": "cleaned", "is_emailable": True}, "cleaned"),  # status wins
        ({"email_norm": "not-an-email"}, "invalid_email"),
        ({"is_emailable": False, "mailchimp_status": None}, "no_email_consent"),
        ({"is_emailable": None}, "no_email_consent"),
        ({"email_norm": "a@x.com"}, "duplicate_email"),
    ],
)
def test_mailchimp_holds_back_who_may_not_be_emailed(overrides, reason):
    allowed, held = apply_consent(frame(person(), person(**overrides)), "mailchimp")
    assert allowed.get_column("customer_key").to_list() == ["k0"]
    assert held == {reason: 1}


def test_crm_needs_a_record_id_and_no_erasure():
    people = frame(
        person(),
        person(hubspot_record_id=None),
        person(hubspot_record_id=" "),
        person(is_erased=True),
    )
    allowed, held = apply_consent(people, "crm")
    assert allowed.height == 1 and held == {"erasure_request": 1, "no_record_id": 2}


def test_an_unknown_platform_has_no_rules():
    with pytest.raises(ValueError, match="no consent rules for platform 'tiktok'"):
        suppression_rules("tiktok")


maybe = st.sampled_from([True, False, None])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "is_eea": maybe,
                "ad_storage_consent": maybe,
                "ad_user_data_consent": maybe,
                "ad_personalization_consent": maybe,
                "ccpa_opt_out": maybe,
                "is_erased": maybe,
                "country_code": st.sampled_from(["US", "DE", "GB", "CH", None]),
                "has_email": st.booleans(),
            }
        ),
        max_size=30,
    ),
    st.sampled_from(["meta", "google"]),
)
def test_nobody_reaches_an_ad_platform_without_every_consent(people, platform):
    rows = [
        person(
            **{k: v for k, v in p.items() if k != "has_email"},
            email_norm="a@x.com" if p["has_email"] else None,
            customer_key=f"k{i}",
        )
        for i, p in enumerate(people)
    ]
    audience = frame(*rows) if rows else frame(person()).clear()
    allowed, held = apply_consent(audience, platform)
    assert allowed.height + sum(held.values()) == audience.height
    for p in allowed.iter_rows(named=True):
        assert p["ad_storage_consent"] is True and p["ccpa_opt_out"] is False
        assert p["is_erased"] is not True
        if p["is_eea"] is not False or p["country_code"] in ("GB", "CH"):
            assert p["ad_user_data_consent"] is True and p["ad_personalization_consent"] is True
