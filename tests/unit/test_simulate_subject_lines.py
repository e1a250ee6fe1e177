"""The simulated subject lines: the wording's open-rate effect and the personalised sends."""

from __future__ import annotations

import datetime as dt

import polars as pl

from simulator import plan, subject_lines
from simulator.population import Window


def test_the_wording_moves_the_open_rate_as_the_studies_report():
    effect = subject_lines.text_effect
    short = "Fresh from the roaster"
    assert effect(short) == 1.0
    assert effect(short + " and much more to read past the cut on phones") < 1.0
    assert effect(f"{subject_lines.FIRST_NAME_TAG}, fresh from the roaster") > 1.0
    assert effect("Fresh from the roaster?") > 1.0
    assert effect("Last chance: fresh from the roaster") > 1.0
    assert effect("FRESH from the roaster!") < 1.0


def test_personalised_groups_keep_their_ab_test_and_the_appeal_carries_the_effect():
    window = Window(end_date=dt.date(2026, 3, 1), history_days=365, max_days=0)
    campaigns = plan.build_email_plan(7, window).campaigns
    tagged = campaigns.filter(pl.col("subject_line").str.starts_with(
        subject_lines.FIRST_NAME_TAG))
    assert 0 < tagged["ab_group"].n_unique() < campaigns["ab_group"].n_unique()
    # Both variants of a personalised A/B group carry the tag; promotions and win-backs never.
    groups = campaigns.filter(pl.col("ab_group").is_in(tagged["ab_group"].implode()))
    assert groups.height == tagged.height
    assert not tagged["lapsed_only"].any() and (tagged["code"] == "").all()
    truth = subject_lines.truth(campaigns)
    plain = truth.filter(pl.col("variant") != "B")
    assert (plain["appeal"] - plain["text_effect"]).abs().max() < 1e-12
    assert truth["text_effect"].min() < 1.0 < truth["text_effect"].max()
    # The same seed gives the same sends.
    again = plan.build_email_plan(7, window).campaigns
    assert again.equals(campaigns)
