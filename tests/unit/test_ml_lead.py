"""Lead conversion: who is an open lead at a cutoff, point-in-time features, the label, the
stage baseline, and a model that learns what the stage alone cannot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ml import lead

CUTOFF = date(2026, 3, 31)
END = datetime(2026, 4, 1, tzinfo=UTC)  # the end of the cutoff day


def leads_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "customer_key": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "original_source": pl.String,
            "converted_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def events_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "customer_key": pl.String,
            "action": pl.String,
            "action_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


LEADS = leads_frame(
    [
        ("a", END - timedelta(days=40), "PAID_SOCIAL", None),
        ("b", END - timedelta(days=10), "ORGANIC_SEARCH", END + timedelta(days=59)),  # converts
        ("c", END - timedelta(days=90), "REFERRALS", END - timedelta(hours=1)),  # already did
        ("d", END + timedelta(hours=1), "DIRECT_TRAFFIC", None),  # created after the cutoff
        ("e", END - timedelta(days=5), "SOMETHING_ELSE", END + timedelta(days=61)),  # too late
    ]
)
EVENTS = events_frame(
    [
        ("a", "open", END - timedelta(days=3)),
        ("a", "click", END - timedelta(days=3)),
        ("a", "click", END - timedelta(days=50)),
        ("a", "click", END - timedelta(days=60)),
        ("b", "open", END - timedelta(days=100)),
        ("a", "click", END + timedelta(days=1)),  # after the cutoff: not known yet
    ]
)


def test_open_leads_and_their_features_at_a_cutoff():
    rows = lead.features_at(LEADS, EVENTS, CUTOFF, click_levels=(1, 3))
    assert rows["customer_key"].to_list() == ["a", "b", "e"]
    a = rows.row(0, named=True)
    assert (a["lead_age_days"], a["click_level"]) == (40, 2)  # three clicks: qualified
    assert (a["email_opens_30d"], a["email_clicks_30d"], a["email_clicks_total"]) == (1, 1, 3)
    assert (a["days_since_last_open"], a["days_since_last_click"]) == (3, 3)
    assert a["source_paid_social"] == 1 and a["source_organic_search"] == 0
    b = rows.row(1, named=True)
    assert (b["click_level"], b["email_opens_90d"], b["email_opens_total"]) == (0, 0, 1)
    assert b["days_since_last_click"] is None
    e = rows.row(2, named=True)
    assert sum(e[f"source_{s.lower()}"] for s in lead.SOURCES) == 0  # an unlisted source


def test_features_as_of_a_cutoff_do_not_change_when_later_data_arrives():
    before = lead.features_at(
        LEADS.filter(pl.col("created_at") < END).with_columns(
            pl.when(pl.col("converted_at") < END).then(pl.col("converted_at")).alias("converted_at")
        ),
        EVENTS.filter(pl.col("action_at") < END),
        CUTOFF,
        click_levels=(1, 3),
    )
    after = lead.features_at(LEADS, EVENTS, CUTOFF, click_levels=(1, 3))
    assert_frame_equal(before.drop("converted_at"), after.drop("converted_at"))


def test_the_label_is_a_conversion_within_the_horizon_after_the_cutoff_day():
    rows = lead.labelled_rows(LEADS, EVENTS, [CUTOFF], horizon_days=60, click_levels=(1, 3))
    assert dict(zip(rows["customer_key"], rows["converted"], strict=True)) == {
        "a": False,
        "b": True,
        "e": False,
    }


def crm_world(seed: int, n: int = 1500) -> tuple[pl.DataFrame, pl.DataFrame, list[date]]:
    """Leads created over two years; each converts at a daily rate that fades with age and
    jumps with each email click; paid search leads are keener."""
    rng = np.random.default_rng(seed)
    day0 = datetime(2024, 11, 1, tzinfo=UTC)
    end = date(2026, 10, 31)
    leads, events = [], []
    for i in range(n):
        created = day0 + timedelta(days=float(rng.uniform(0, 700)))
        source = rng.choice(["PAID_SEARCH", "ORGANIC_SEARCH", "PAID_SOCIAL"])
        keen = 3.0 if source == "PAID_SEARCH" else 1.0
        clicks = np.sort(rng.uniform(0, 700, rng.poisson(2.0))) + 0.0
        converted, day = None, 0.0
        while day < 730:
            recent = np.sum((clicks > day - 14) & (clicks <= day))
            rate = 0.004 * keen * np.exp(-day / 120) * (1 + 4 * recent)
            day += 1
            if rng.random() < rate:
                converted = created + timedelta(days=day)
                break
        leads.append((f"l{i:04d}", created, str(source), converted))
        events += [(f"l{i:04d}", "click", created + timedelta(days=float(c))) for c in clicks]
    cutoffs = [end - timedelta(days=30 * k) for k in range(19)]
    return leads_frame(leads), events_frame(events), cutoffs


def test_the_best_of_the_model_and_its_rivals_publishes(tmp_path):
    """This world's conversion rate is log-linear in the features, the logistic regression's
    own form, so it may rank as well as the trees; either must beat the click-level rate, and
    whichever ranks the holdout better publishes."""
    leads, events, cutoffs = crm_world(1)
    outcome = lead.fit_and_score(leads, events, cutoffs, cutoffs[0], 60, tmp_path, threads=1,
                                 click_levels=(1, 3))
    model, rivals = outcome.evaluation["candidate"], outcome.evaluation["rivals"]
    assert set(rivals) == {"click_level_rate", "logistic_regression"}
    click, logistic = rivals["click_level_rate"]["auc"], rivals["logistic_regression"]["auc"]
    assert model["auc"] > click + 0.05 and logistic > click + 0.05
    winner = outcome.candidate if model["auc"] > logistic else "logistic_regression"
    assert outcome.version == winner, outcome.note
    scores = outcome.scores
    assert scores["model"].unique().to_list() == ["lead"]
    assert scores["score"].is_between(0, 1).all()
    assert scores.height == lead.features_at(leads, events, cutoffs[0], click_levels=(1, 3)).height
    assert scores["reason_1"].is_not_null().all()


def test_without_two_horizons_of_history_every_lead_gets_the_overall_rate(tmp_path):
    leads, events, _ = crm_world(2, n=100)
    outcome = lead.fit_and_score(
        leads, events, [date(2026, 10, 31)], date(2026, 10, 31), 60, tmp_path,
        click_levels=(1, 3),
    )
    assert outcome.version == "click_level_rate" and "120 days of CRM history" in outcome.note
    assert outcome.scores["score"].n_unique() == 1
    assert outcome.scores["reason_1"].is_in(
        ["no email clicks yet", "clicked an email", "engaged by email"]).all()


@pytest.mark.parametrize(("levels", "clicks", "level"), [
    ((1, 3), 0, 0), ((1, 3), 1, 1), ((1, 3), 2, 1), ((1, 3), 3, 2), ((1, 3), 9, 2),
    ((2, 5), 1, 0), ((2, 5), 4, 1), ((2, 5), 5, 2),
])
def test_click_levels_follow_the_business_setting(levels, clicks, level):
    assert pl.select(lead.click_level(pl.lit(clicks), levels)).item() == level


@pytest.mark.parametrize("raw", ["3", "0,2", "3,3", "a,b", "1,2,3"])
def test_a_bad_click_levels_setting_is_refused_with_its_name(monkeypatch, raw):
    from pipelines.config import Settings

    monkeypatch.setenv("MARKETING_LEAD_CLICK_LEVELS", raw)
    with pytest.raises(ValueError, match="MARKETING_LEAD_CLICK_LEVELS"):
        Settings.from_env()


def test_hubspot_time_zone_setting_is_checked(monkeypatch):
    from pipelines.config import Settings

    monkeypatch.setenv("MARKETING_HUBSPOT_TIMEZONE", "Europe/Berlin")
    assert Settings.from_env().hubspot_timezone == "Europe/Berlin"
    monkeypatch.setenv("MARKETING_HUBSPOT_TIMEZONE", "Mars/Olympus'; drop table x")
    with pytest.raises(ValueError, match="MARKETING_HUBSPOT_TIMEZONE"):
        Settings.from_env()
