"""The data-health section: per source its newest export and age, the last 7 days' rows set
aside against its error budget, the quality gate's result for the tables built from it, and
an action for a stale source or one over its budget; source text is escaped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from html import unescape

import polars as pl

from pipelines.report import data_health
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs, text

DAY = date(2026, 10, 31)


def health(**changes) -> pl.DataFrame:
    base = {
        "source": ["shop", "mailchimp", "typeform"],
        "last_file_path": ["shop/2026-10-31/orders_export.csv",
                           "mailchimp/2026-10-27/campaigns.csv", "typeform/2026-10-24/nps.csv"],
        "last_export_date": [DAY, date(2026, 10, 27), date(2026, 10, 24)],
        "days_stale": [0, 4, 7],
        "usual_gap_days": [1.0, 1.0, 7.0],
        "is_stale": [False, True, False],
        "files_last_7_days": [7, 3, 1],
        "rejected_files_last_7_days": [0, 0, 1],
        "rows_read_last_7_days": [1000, 200, 100],
        "rows_loaded_last_7_days": [990, 200, 0],
        "rows_quarantined_last_7_days": [10, 0, 100],
        "share_quarantined_last_7_days": [0.01, 0.0, 1.0],
        "gate_tables": [["marts.fct_orders", "marts.dim_customers"], ["marts.fct_email_events"],
                        []],
        "as_of_date": [DAY] * 3,
    }
    return pl.DataFrame(base | changes)


def runs(validation: dict) -> pl.DataFrame:
    return pl.DataFrame({"run_id": ["r1"], "logical_date": [DAY],
                         "published_at": [datetime(2026, 10, 31, 6, tzinfo=UTC)],
                         "validation": [json.dumps(validation)]})


VALIDATION = {"marts.fct_orders": {"checks": 20, "failed_errors": 0, "failed_warnings": 0},
              "marts.dim_customers": {"checks": 12, "failed_errors": 0, "failed_warnings": 0},
              "marts.fct_email_events": {"checks": 9, "failed_errors": 0, "failed_warnings": 2}}


def test_stale_and_over_budget_sources_are_actions_and_the_table_says_why(settings):
    part = data_health.section(inputs(settings, {"reports.rpt_source_health": health(),
                                                 "meta.runs": runs(VALIDATION)}))
    assert part.key == "data-health" and part.order == 90
    texts = [a.text for a in part.actions]
    assert texts == [
        "Check the Mailchimp export: its newest file is from 27 Oct 2026, 4 days old (it "
        "usually arrives daily); figures from it stop there.",
        "Fix the Typeform surveys export: 100.0% of its rows in the last 7 days were set aside "
        "as bad, over its budget of 5%.",
    ]
    assert all(a.link == "#data-health" for a in part.actions)
    page = unescape(text(part.html))
    # A weekly source 7 days old is not stale; the gate's results per source's tables.
    assert "passed (32 checks, 2 tables)" in page
    assert "passed, 2 warnings (1 table)" in page
    assert "no checked tables" in page
    assert "1 file rejected" in page and "(over the 5% budget)" in page
    assert part.digest == ("Data health: stale: Mailchimp; over the error budget: Typeform "
                           "surveys.",)
    assert 'id="data-health-chart"' in str(part.html) and ">Age of the newest export<" in part.html


def test_a_budget_set_for_the_source_is_the_one_compared(settings):
    settings.error_budgets["typeform"] = 1.0
    part = data_health.section(inputs(settings, {"reports.rpt_source_health": health()}))
    assert [a.text.split(":")[0] for a in part.actions] == ["Check the Mailchimp export"]


def test_all_fresh_and_within_budget_has_no_action(settings):
    fresh = health(is_stale=[False] * 3, share_quarantined_last_7_days=[0.0, 0.0, 0.01])
    part = data_health.section(inputs(settings, {"reports.rpt_source_health": fresh}))
    assert part.actions == ()
    assert part.digest == ("Data health: all 3 sources fresh and within their error budgets "
                           "over the 7 days to 31 Oct 2026.",)


def test_file_names_from_the_ledger_are_escaped(settings):
    hostile = health(last_file_path=[f"shop/2026-10-31/{HOSTILE}.csv", None, None],
                     source=["shop", HOSTILE, "typeform"])
    part = data_health.section(inputs(settings, {"reports.rpt_source_health": hostile}))
    assert ESCAPED in part.html and "<img" not in part.html and "<script" not in part.html


def test_no_ledger_table_is_nothing_to_show(settings):
    assert data_health.section(inputs(settings, {})) is None
