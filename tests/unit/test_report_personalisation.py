"""The report's personalisation section: per persona what to show, when to send, three lines
of copy; every value escaped."""

from __future__ import annotations

import polars as pl

from pipelines.report import personalisation
from pipelines.report.personalisation import personalisation_context, send_time
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs, text


def _rows() -> pl.DataFrame:
    return pl.DataFrame({
        "persona_id": [1, 2], "persona": [HOSTILE, "Regulars"], "customers": [1200, 5],
        "hero_category": ["beans", None], "featured_products": [f"Kenya AA, {HOSTILE}", None],
        "featured_product_ids": ["B,A", None], "offer_code": ["SPRING10", None],
        "offer_description": ["10% off beans", None], "offer_terms": ["Until 31 March.", None],
        "headline": ["Taste something new", None], "best_hour_local": [9, None],
        "best_weekday": [2, None], "contacts_timed": [800, 0],
        "own_evidence_share": [0.25, None], "subject_1": ["New from Kenya", None],
        "subject_2": [HOSTILE, None], "subject_3": ["Your cup, your way", None]})


def test_each_persona_says_what_to_show_when_to_send_and_three_lines():
    first, second = personalisation_context(_rows())
    assert first["show"] == f"beans: Kenya AA, {HOSTILE}"
    assert first["send"] == "Tuesdays at 09:00 (their local time)"
    assert first["send_evidence"] == "800 contacts timed, 25% from their own opens and clicks"
    assert first["offer"] == "SPRING10: 10% off beans (Until 31 March.)"
    assert first["lines"] == ["New from Kenya", HOSTILE, "Your cup, your way"]
    assert second["show"] == "no recommendations yet"
    assert second["send"] == "no send time yet (no contact with a chosen hour)"
    assert second["offer"] is None and second["lines"] == []


def test_send_time_without_a_weekday():
    assert send_time(18, None) == "any day at 18:00 (their local time)"


def test_the_section_is_escaped_and_absent_without_data(settings):
    part = personalisation.section(inputs(settings, {"reports.rpt_personalisation": _rows()}))
    assert HOSTILE not in part.html
    assert ESCAPED in part.html
    assert part.title == "Personalisation: what to show, when to send, what to say"
    assert "Tuesdays at 09:00" in text(part.html)
    assert personalisation.section(inputs(settings)) is None


def test_the_newsletter_goes_out_at_the_hour_of_most_timed_contacts(settings):
    rows = pl.concat([_rows(), _rows().with_columns(
        persona_id=pl.Series([3, 4]), best_hour_local=pl.Series([18, 9]),
        contacts_timed=pl.Series([900, 300]))])
    # 09:00 holds 800 + 300 contacts, 18:00 900: 09:00, with 1,100 of 2,000.
    assert personalisation.newsletter_hour(rows) == (9, 0.55)
    part = personalisation.section(inputs(settings, {"reports.rpt_personalisation": rows}))
    assert [a.text for a in part.actions] == [
        "Send the newsletter at 09:00 local time (the best hour of personas holding 55% of "
        "the contacts with a send time)"]
    untimed = _rows().with_columns(contacts_timed=pl.lit(0))
    assert personalisation.newsletter_hour(untimed) is None
