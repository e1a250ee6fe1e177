"""The exports section: a short list per platform (audience, people, held back and why, file
link), the manifest's warnings, and every path collapsed."""

from __future__ import annotations

from pipelines.report import exports
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs, text


def manifest() -> dict:
    return {
        "audiences": {"churn_risk": {"audience": "churn_risk", "members": 60,
                                     "experiment": {"held_out": 6, "treated": 54}}},
        "files": [
            {"platform": "mailchimp", "audience": "churn_risk", "kind": "full", "rows": 40,
             "path": "mailchimp/churn_risk.csv",
             "suppressed": {"no_email_consent": 10, "unsubscribed": 3, "cleaned": 0,
                            "erasure_request": 1}},
            {"platform": "mailchimp", "audience": "churn_risk", "kind": "adds", "rows": 4,
             "path": "mailchimp/churn_risk__adds.csv", "suppressed": {}},
            {"platform": "meta", "audience": HOSTILE, "kind": "full", "rows": 10000,
             "path": "meta/x_part1.csv", "suppressed": {}},
            {"platform": "meta", "audience": HOSTILE, "kind": "full", "rows": 1,
             "path": "meta/x_part2.csv", "suppressed": {}},
            {"platform": "meta_ads_budget", "audience": "budget", "kind": "plan", "rows": 3,
             "path": "meta_ads_budget/budget_plan.csv"},
        ],
        "warnings": [f"meta/{HOSTILE}: 40 people, fewer than the 100 Meta needs"],
    }


def test_each_platform_lists_its_audiences_with_people_held_back_and_the_file(settings):
    lists = exports.platform_lists(inputs(settings, manifest=manifest()))
    assert [p["platform"] for p in lists] == ["Mailchimp", "Meta"]
    mailchimp, = lists[0]["audiences"]
    assert mailchimp["people"] == 40
    assert mailchimp["held_back"] == ("14 people: 10 no consent to e-mail, 3 unsubscribed, "
                                      "1 asked to be erased; 6 held out to measure the "
                                      "campaign")
    assert mailchimp["files"] == ["../../exports/2026-10-31/mailchimp/churn_risk.csv"]
    meta, = lists[1]["audiences"]
    assert meta["people"] == 10001 and len(meta["files"]) == 2 and meta["held_back"] == "nobody"


def test_paths_are_collapsed_and_everything_is_escaped(settings):
    part = exports.section(inputs(settings, manifest=manifest()))
    page = part.html
    summary = page.index("<details>")
    assert page.index("mailchimp/churn_risk__adds.csv") > summary  # paths only when opened
    assert 'href="../../exports/2026-10-31/meta/x_part2.csv">part 2</a>' in page
    assert "10,001 people" in text(page) and "1 person" not in text(page)
    assert "<script" not in page and page.count(ESCAPED) == 2  # the audience and the warning
    assert exports.section(inputs(settings, manifest={"files": [], "warnings": []})) is None
