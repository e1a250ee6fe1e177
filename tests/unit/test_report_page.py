"""The whole page from synthetic inputs: sections in order, this week's actions first, and
every text field from the data (names, campaigns, products, personas, reasons) shown as text."""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest

from pipelines.report.html import render_page
from pipelines.report.sections import (
    SECTIONS,
    Action,
    Section,
    actions,
    build_sections,
    render_part,
)
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs


def hostile_tables() -> dict[str, pl.DataFrame]:
    """A publication in which every text a shop or platform could write is hostile."""
    customers = pl.DataFrame({
        "customer_key": ["k1", "k2", "k3"], "first_name": [HOSTILE] * 3,
        "last_name": [HOSTILE] * 3, "email": ["a@example.com", "b@example.com", None],
        "phone_e164": [None] * 3, "shop_customer_id": ["1", "2", "3"],
        "country_code": ["GB"] * 3, "revenue": [250.0, 90.0, 0.0], "orders_count": [3, 1, 0],
        "is_emailable": [True, True, False],
    })
    scores = pl.DataFrame({
        "customer_key": ["k1", "k2", "k1", "k2"], "model": ["churn", "churn", "ltv", "ltv"],
        "score": [0.9, 0.85, 300.0, 120.0], "decile": [10, 9, 10, 9],
        "reason_1": [HOSTILE] * 4, "reason_2": [HOSTILE] * 4, "reason_3": [None] * 4,
    })
    runs = pl.DataFrame({
        "run_id": ["r1"], "model": ["forecast_units"], "as_of_date": [date(2026, 10, 31)],
        "version": [HOSTILE], "metric": ["wape"], "model_value": [0.2],
        "baseline": [HOSTILE], "baseline_value": [0.3], "previous_value": [None],
        "note": [HOSTILE], "metrics": [json.dumps({"published": {"name": HOSTILE,
                                                                 "why": HOSTILE}})],
    })
    forecast = pl.DataFrame({"model": [HOSTILE] * 2, "product_id": [HOSTILE] * 2,
                             "week_start": [date(2026, 11, 2), date(2026, 11, 9)],
                             "units_forecast": [10.0, 12.0]})
    personas = pl.DataFrame([{
        "persona_id": 1, "persona_name": HOSTILE, "customers": 2, "customer_share": 1.0,
        "revenue_share": 1.0, "avg_revenue_to_date": 100.0, "avg_ltv": 50.0,
        "avg_order_value": 50.0, "churn_risk": 0.5, "best_send_hour": 9,
        "top_channels": HOSTILE, "top_categories": HOSTILE, "nps": None, "nps_responses": 0,
        "emailable_share": 0.5, "what_sets_it_apart": f"{HOSTILE}; {HOSTILE}",
        "personas_note": HOSTILE,
    }])
    personalisation = pl.DataFrame({
        "persona_id": [1], "persona": [HOSTILE], "customers": [2], "hero_category": [HOSTILE],
        "featured_products": [HOSTILE], "featured_product_ids": [HOSTILE],
        "offer_code": [HOSTILE], "offer_description": [HOSTILE], "offer_terms": [HOSTILE],
        "headline": [HOSTILE], "best_hour_local": [10], "best_weekday": [2],
        "contacts_timed": [2], "own_evidence_share": [0.5], "subject_1": [HOSTILE],
        "subject_2": [HOSTILE], "subject_3": [None],
    })
    coverage = pl.DataFrame({"capability": ["crm_contacts"], "is_available": [False],
                             "detail": [HOSTILE], "missing_reason": [HOSTILE],
                             "sources": [HOSTILE]})
    experiments = pl.DataFrame({
        "experiment_id": [HOSTILE], "audience": [HOSTILE], "outcome": ["revenue"],
        "verdict": ["treatment_better"], "treated_n": [100], "holdout_n": [10], "left_n": [0],
        "summary": [HOSTILE],
    })
    return {
        "marts.dim_customers": customers, "ml.scores": scores, "ml.model_runs": runs,
        "ml.forecast": forecast, "reports.rpt_personas": personas,
        "reports.rpt_personalisation": personalisation, "marts.data_coverage": coverage,
        "reports.rpt_experiments": experiments,
    }


def hostile_manifest() -> dict:
    return {"files": [{"platform": HOSTILE, "audience": HOSTILE, "rows": 40,
                       "suppressed": {HOSTILE: 2}, "path": HOSTILE}],
            "warnings": [HOSTILE]}


def test_every_text_field_from_the_data_renders_as_text(settings):
    report = inputs(settings, hostile_tables(), manifest=hostile_manifest())
    sections, missing = build_sections(report)
    page = render_page(report, sections, missing)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "onerror=alert(2)>" not in page
    assert page.count(ESCAPED) >= 20  # every section that shows data shows it escaped
    for section in sections:
        assert f'id="{section.key}"' in page and f'href="#{section.key}"' in page


def part(key: str, order: int, *action: Action) -> Section:
    return Section(key=key, title=key.title(), order=order,
                   html=render_part("coverage.html.j2", notes=[]), actions=action)


def test_actions_come_first_by_rank_and_sections_by_order(settings):
    sections = [part("ads", 60, Action("Move money", "#ads", rank=20)),
                part("winback", 35, Action("Win back 4 customers", "../x.csv", rank=10),
                     Action("Call them", rank=20))]
    assert [a.text for a in actions(sections)] == ["Win back 4 customers", "Move money",
                                                   "Call them"]
    page = render_page(inputs(settings), sorted(sections, key=lambda s: s.order), ["Ads"])
    first = page.index("Win back 4 customers")
    assert first < page.index("Move money") < page.index('id="winback"') < page.index('id="ads"')
    assert '<a href="../x.csv">file</a>' in page and '<a href="#ads">details</a>' in page
    assert "Not on this page today" in page


def test_the_page_is_self_contained(settings):
    report = inputs(settings, hostile_tables(), manifest=hostile_manifest())
    page = render_page(report, *build_sections(report))
    assert not re.search(r"<script|<link|@import|url\(|https?://", page)


@pytest.mark.parametrize("link", ["javascript:alert(1)", "https://example.com/x",
                                  "//example.com/x"])
def test_an_action_links_only_within_the_report(link):
    with pytest.raises(ValueError, match="not relative"):
        Action("x", link)


def test_a_section_body_must_come_from_render_part():
    with pytest.raises(TypeError, match="render_part"):
        Section(key="x", title="x", order=1, html="<b>x</b>")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a-z"):
        Section(key="X_1", title="x", order=1, html=render_part("coverage.html.j2", notes=[]))


def test_every_listed_builder_exists():
    from pipelines.report.sections import builder

    assert all(callable(builder(name)) for name in SECTIONS)
