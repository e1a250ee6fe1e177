"""The whole page from synthetic inputs: sections in order, this week's actions first, and
every text field from the data (names, campaigns, products, personas, reasons) shown as text."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

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
    forecast = pl.DataFrame({
        "week_start": [date(2026, 10, 25), date(2026, 11, 1)],
        "week_end": [date(2026, 10, 31), date(2026, 11, 7)], "is_forecast": [False, True],
        "units_actual": [9.0, None], "units_forecast": [None, 10.0], "units_low": [None, 8.0],
        "units_high": [None, 13.0], "units_last_year": [7.0, 8.0], "model": [None, HOSTILE],
        "as_of_date": [date(2026, 10, 31)] * 2})
    source_health = pl.DataFrame({
        "source": [HOSTILE], "last_file_path": [f"x/2026-10-31/{HOSTILE}"],
        "last_export_date": [date(2026, 10, 31)], "days_stale": [0], "usual_gap_days": [1.0],
        "is_stale": [False], "files_last_7_days": [1], "rejected_files_last_7_days": [0],
        "rows_read_last_7_days": [10], "rows_loaded_last_7_days": [10],
        "rows_quarantined_last_7_days": [0], "share_quarantined_last_7_days": [0.0],
        "gate_tables": [[HOSTILE]], "as_of_date": [date(2026, 10, 31)]})
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
    from tests.unit.test_report_ads import _plan
    from tests.unit.test_report_customers import tables as customer_groups
    from tests.unit.test_report_email import hours
    from tests.unit.test_report_overview import KPIS

    groups = {name: frame.with_columns(
        [pl.lit(HOSTILE).alias(c) for c in ("rfm_segment", "group_name") if c in frame.columns])
        for name, frame in customer_groups().items()}
    return {
        **groups,
        "reports.rpt_email_send_hours": hours().with_columns(campaign_title=pl.lit(HOSTILE)),
        "reports.rpt_weekly_kpis": KPIS,
        "reports.rpt_budget_plan": _plan({HOSTILE: -10.0, "B": 10.0}).with_columns(
            current_daily_budget=pl.lit(50.0), recommended_daily_budget=pl.lit(40.0),
            expected_change=pl.lit(1.0), expected_low=pl.lit(0.0), expected_high=pl.lit(2.0),
            target_cpa=pl.lit(None, pl.Float64), target_roas=pl.lit(None, pl.Float64),
            recommendation=pl.lit(f"Cut {HOSTILE}")),
        "marts.dim_customers": customers, "ml.scores": scores, "ml.model_runs": runs,
        "reports.rpt_forecast_weekly": forecast, "reports.rpt_source_health": source_health,
        "reports.rpt_personas": personas,
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
    assert {s.key for s in sections} >= {
        "overview", "sales", "customers", "winback", "personas", "email", "personalisation",
        "ads", "experiments", "models", "coverage", "exports"}
    assert actions(sections)  # the ad plan's move is this week's action, escaped above


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


class Tags(HTMLParser):
    """Every tag of a page with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_self_contained(settings):
    report = inputs(settings, hostile_tables(), manifest=hostile_manifest())
    page = render_page(report, *build_sections(report))
    parser = Tags()
    parser.feed(page)
    names = {tag for tag, _ in parser.tags}
    assert "svg" in names and not names & {"script", "link", "img", "iframe", "object"}
    for tag, attrs in parser.tags:
        assert not {a for a in attrs if a.startswith("on")}, tag  # no event handlers
        assert "src" not in attrs, tag
        for name in ("href", "xlink:href"):
            # Only the report's own folders and anchors (the quality pages, export files), or
            # an image inline in a chart (a heat map's cells).
            link = attrs.get(name) or ""
            assert link.startswith("data:image/") or not re.match(
                r"[a-z][a-z0-9+.-]*:|//", link), attrs
    styles = " ".join(re.findall(r"<style>(.*?)</style>", page, re.S))
    assert "@import" not in styles and "@font-face" not in styles and "url(" not in styles
    assert 'id="forecast-units"' in page and 'id="data-health"' in page


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


def test_only_charts_from_svg_py_pass_the_svg_filter(tmp_path):
    from jinja2 import Environment

    from pipelines.report import svg
    from pipelines.report.sections import _ENV

    template = _ENV.from_string("{{ chart | svg }}")
    fig, ax = svg.figure()
    ax.set_title("Orders per week")
    ax.set_xlabel("Week")
    ax.set_ylabel("Orders")
    ax.plot([1, 2], [3, 4])
    chart = svg.to_svg(fig, "c1")
    assert template.render(chart=chart).startswith("<svg")
    with pytest.raises(TypeError, match="Chart"):
        template.render(chart="<svg onload=alert(1)></svg>")
    assert isinstance(_ENV, Environment) and _ENV.autoescape is True


def test_inputs_read_each_table_once_and_say_what_is_missing(settings):
    report = inputs(settings, {"reports.rpt_x": pl.DataFrame({"a": [1, 2]})})
    assert report.has("reports.rpt_x") and not report.has("reports.rpt_y")
    assert report.table("reports.rpt_y") is None
    assert report.table("reports.rpt_x") is report.table("reports.rpt_x")
    assert report.table("reports.rpt_x").get_column("a").to_list() == [1, 2]


def test_number_and_share_filters():
    from pipelines.report.sections import number, pct

    assert (number(1234.5), number(None), number(0.125, 2)) == ("1,234", "n/a", "0.12")
    assert (pct(0.425), pct(0.425, 1), pct(None)) == ("42%", "42.5%", "n/a")
