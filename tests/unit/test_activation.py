"""Audiences as data, consent in the email export, spreadsheet formula neutralisation."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.activation.audiences import AudienceFileError, load_audiences
from pipelines.activation.consent import apply_consent
from pipelines.activation.csvsafe import neutralise, neutralise_frame
from pipelines.activation.platforms import mailchimp_rows
from pipelines.config import Settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audiences.yml"
    path.write_text(text)
    return path


def test_the_shipped_audiences_file_loads():
    audiences = load_audiences(Settings.from_env().audiences_file)
    names = [s.name for s in audiences]
    assert {
        "churn_risk", "low_churn_risk", "rfm", "high_value_at_risk", "top_ltv_seed", "hot_leads",
        "persona",
    } <= set(names)
    hot = next(s for s in audiences if s.name == "hot_leads")
    assert hot.platforms == ("crm",) and hot.crm is not None
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("audiences: [{name: Bad Name, rules: [{column: a, op: '>', value: 1}]}]", "snake_case"),
        ("audiences: [{name: a, rules: [{column: a, op: '~', value: 1}]}]", "has op '~'"),
        ("audiences: [{name: a, rules: []}]", "at least one rule"),
        ("audiences: [{name: a, rules: [{column: nope, op: '>', value: 1}]}]", "unknown column"),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], platforms: [tiktok]}]",
            "unknown platforms",
        ),
        ("nothing: here", "top-level 'audiences:'"),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], platfroms: [meta]}]",
            "unknown keys \\['platfroms'\\]",
        ),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], platforms: meta}]",
            "platforms must be a list",
        ),
        ("audiences: [{name: a, split_by: nope}]", "split_by uses unknown column 'nope'"),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], platforms: [crm]}]",
            "the crm platform needs",
        ),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], platforms: [crm], "
            "crm: {score: nope}}]",
            "crm score uses unknown column 'nope'",
        ),
        (
            "audiences: [{name: a, rules: [{column: a, op: '>', value: 1}], crm: {score: a}}]",
            "crm is not in its platforms",
        ),
    ],
)
def test_a_broken_audiences_file_names_file_audience_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(AudienceFileError, match=message) as err:
        load_audiences(path, columns=["a"])
    assert str(path) in str(err.value)


def test_audience_rules_all_must_hold_and_nulls_are_out(tmp_path):
    path = write(
        tmp_path,
        "audiences: [{name: s, rules: [{column: d, op: '>=', value: 8}, "
        "{column: ok, op: '==', value: true}]}]",
    )
    audience = load_audiences(path)[0]
    customers = pl.DataFrame({"d": [9, 9, 3, None], "ok": [True, False, True, True]})
    assert audience.select(customers).height == 1


def test_split_by_makes_one_audience_per_value_and_leaves_out_people_without_one(tmp_path):
    path = write(
        tmp_path,
        "audiences: [{name: rfm, split_by: rfm_segment, "
        "rules: [{column: ok, op: '==', value: true}]}]",
    )
    audience = load_audiences(path, columns=["rfm_segment", "ok"])[0]
    customers = pl.DataFrame(
        {
            "rfm_segment": ["Champions", "At Risk", "Champions", None, "x"],
            "ok": [True, True, True, True, False],
        }
    )
    split = audience.expand(customers)
    assert [(name, members.height) for name, members in split] == [
        ("rfm__at_risk", 1),
        ("rfm__champions", 2),
    ]


def test_split_values_that_make_the_same_name_are_refused(tmp_path):
    audience = load_audiences(write(tmp_path, "audiences: [{name: p, split_by: c}]"))[0]
    with pytest.raises(AudienceFileError, match="'At risk' and 'at-risk' both make"):
        audience.expand(pl.DataFrame({"c": ["At risk", "at-risk"]}))


def test_email_export_holds_only_emailable_people_and_counts_the_rest():
    members = pl.DataFrame(
        {
            "customer_key": ["1", "2", "3", "4", "5"],
            "email_norm": ["a@x.com", "b@x.com", "c@x.com", None, "e@x.com"],
            "first_name": ['=HYPERLINK("x")', "B", "C", "D", "E"],
            "last_name": ["A", "B", "C", "D", "E"],
            "mailchimp_status": ["subscribed", "unsubscribed", "cleaned", "subscribed", None],
            "is_emailable": [True, False, False, True, False],
        }
    )
    allowed, suppressed = apply_consent(members.with_columns(is_erased=False), "mailchimp")
    rows = mailchimp_rows(allowed, "churn_risk")
    assert rows.get_column("Email Address").to_list() == ["a@x.com"]
    assert rows.get_column("First Name").to_list() == ['\'=HYPERLINK("x")']
    assert suppressed == {"no_email": 1, "unsubscribed": 1, "cleaned": 1, "no_email_consent": 1}


@given(st.text(max_size=30))
def test_no_cell_comes_out_starting_like_a_formula(text):
    out = neutralise(text)
    assert not out or out[0] not in "=+-@\t\r"
    assert out in (text, "'" + text)
    frame = neutralise_frame(pl.DataFrame({"c": [text]}))
    assert frame.get_column("c")[0] == out


def test_the_old_name_of_the_audiences_setting_is_refused_naming_the_new_one(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETING_SEGMENTS_FILE", str(tmp_path / "mine.yml"))
    with pytest.raises(ValueError, match="renamed MARKETING_AUDIENCES_FILE"):
        Settings.from_env()
    monkeypatch.delenv("MARKETING_SEGMENTS_FILE")
    monkeypatch.setenv("MARKETING_AUDIENCES_FILE", str(tmp_path / "mine.yml"))
    assert Settings.from_env().audiences_file == tmp_path / "mine.yml"
