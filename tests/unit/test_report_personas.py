"""The personas section: cards largest first with the share behind each word of the name,
size, value and churn risk with their periods, a habits picture per persona, names as text."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from report_inputs import ESCAPED, HOSTILE, inputs, text

from pipelines.config import Settings
from pipelines.report.personas import digest, section


def personas(**changes) -> pl.DataFrame:
    rows = [
        {"persona_id": 1, "persona_name": "European early-bird shoppers", "customers": 120,
         "customer_share": 0.6, "revenue_share": 0.7, "avg_revenue_to_date": 210.0,
         "avg_ltv": 95.5, "avg_order_value": 42.0, "churn_risk": 0.31, "emailable_share": 0.8,
         "top_channels": "email 40%", "top_categories": "Coffee Beans 50%",
         "best_send_hour": 7, "usual_shop_hour": 7, "nps": 35.0, "nps_responses": 1,
         "what_sets_it_apart": "live in Europe 92% vs 20%",
         "name_claims": "92% live in Europe; 71% usually shop between 04:00 and 09:00 local "
                        "time",
         "weakest_claim_share": 0.71, "model_version": "abc123", "as_of_date": None,
         "persona_source": "model", "personas_note": "4 personas from a latent class model"},
        {"persona_id": 2, "persona_name": HOSTILE, "customers": 80, "customer_share": 0.4,
         "revenue_share": 0.3, "avg_revenue_to_date": 90.0, "avg_ltv": None,
         "avg_order_value": None, "churn_risk": 0.55, "emailable_share": 0.5,
         "top_channels": None, "top_categories": None, "best_send_hour": None,
         "usual_shop_hour": None, "nps": None, "nps_responses": 0,
         "what_sets_it_apart": HOSTILE, "name_claims": f"60% have {HOSTILE} as most of their "
         "lead items", "weakest_claim_share": 0.6, "model_version": "abc123",
         "as_of_date": None, "persona_source": "model",
         "personas_note": "4 personas from a latent class model"},
    ]
    return pl.DataFrame([r | changes for r in rows])


HABITS = pl.DataFrame({
    "persona_id": [1, 1, 1, 1, 2, 2],
    "habit": ["hour", "hour", "category", "channel", "category", "channel"],
    "item": ["07", "08", "Coffee Beans", "email", HOSTILE, "paid_social"],
    "position": [7, 8, 1, 1, 1, 1],
    "amount": [60.0, 40.0, 1000.0, 300.0, 500.0, 100.0],
    "share": [0.6, 0.4, 0.5, 0.4, 1.0, 1.0],
})


def build(tables):
    return section(inputs(Settings(home=Path("/nonexistent")), tables))


def test_cards_say_the_share_behind_each_claimed_trait_and_each_figure_its_period():
    part = build({"reports.rpt_personas": personas(), "reports.rpt_persona_habits": HABITS})
    page = text(part.html)
    assert part.key == "personas" and part.order == 40
    assert ("Why this name: 92% live in Europe; 71% usually shop between 04:00 and 09:00 "
            "local time.") in page
    assert "120 customers (60% of customers)" in page and "70% of revenue to date" in page
    assert "GBP 210 to date; GBP 96 expected in the next year (average order GBP 42)" in page
    assert "31% average chance of no order in the next 90 days" in page
    assert "07:00 local time" in page and "+35 from 1 answer (latest" in page
    # The largest persona first.
    assert page.index("European early-bird shoppers") < page.index(ESCAPED)
    # Jargon (the model note, its version) only for analysts.
    analysts = part.html[part.html.index("<details"):]
    assert "latent class" in analysts and "abc123" in analysts
    assert "latent class" not in part.html[: part.html.index("<details")]


def test_each_persona_gets_its_own_habits_picture_with_ids_of_its_own():
    part = build({"reports.rpt_personas": personas(), "reports.rpt_persona_habits": HABITS})
    charts = re.findall(r'<svg[^>]* id="([^"]+)"', part.html)
    assert charts == ["persona-1-habits", "persona-2-habits"]
    assert "When they shop" in part.html and "Local hour of the day" in part.html
    assert "Share of their spend (%)" in part.html and "Coffee Beans" in part.html


def test_names_categories_and_traits_from_the_data_are_text():
    part = build({"reports.rpt_personas": personas(), "reports.rpt_persona_habits": HABITS})
    assert "<script>" not in part.html and "<img" not in part.html
    assert ESCAPED in part.html  # name, traits and claims
    # The category name inside the chart, escaped by matplotlib's writer (and shortened).
    assert "&lt;script&gt;" in part.html[part.html.index('id="persona-2-habits"'):]


def test_no_personas_is_nothing_to_show_and_no_habits_is_no_picture():
    assert build({}) is None
    assert build({"reports.rpt_personas": personas().head(0)}) is None
    part = build({"reports.rpt_personas": personas()})
    assert "<svg" not in part.html and "European early-bird shoppers" in part.html


def test_digest_names_the_largest_and_the_riskiest_persona():
    lines = digest(personas())
    assert lines[0] == ("2 personas; the largest, European early-bird shoppers, is 60% of "
                        "customers and 70% of revenue to date.")
    assert lines[1].startswith(HOSTILE) and "55% chance of no order in the next 90 days" in lines[1]


TALK = pl.DataFrame({
    "persona_id": [1] * 10 + [2],
    "habit": ["topic"] * 7 + ["feeling"] * 3 + ["topic"],
    "item": ["delivery", "roast", "beans", "gift", "office", "reply", "waiting",
             "positive", "neutral", "negative", HOSTILE],
    "position": [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 1],
    "amount": [16.0, 12.0, 9.0, 8.0, 5.0, 4.0, 3.0, 62.0, 30.0, 8.0, 1.0],
    "share": [0.16, 0.12, 0.09, 0.08, 0.05, 0.04, 0.03, 0.62, 0.30, 0.08, 1.0],
})


def test_cards_say_what_the_persona_talks_about_and_how_it_feels():
    part = build({"reports.rpt_personas": personas(),
                  "reports.rpt_persona_habits": pl.concat([HABITS, TALK])})
    first = text(part.html[: part.html.index('id="persona-2"')])
    assert ("What they talk about (from 100 texts: comments, messages and survey answers; the "
            "words that set them apart first) : delivery (16%), roast (12%), beans (9%), "
            "gift (8%), office (5%), reply (4%). How it feels: 62% positive, 30% neutral, "
            "8% negative.") in first
    assert "waiting" not in first  # six keywords at most
    # Keywords only, no feeling rows: the keyword, escaped, and no feeling line.
    second = part.html[part.html.index('id="persona-2"'):]
    assert f"What they talk about</b>: {ESCAPED} (100%).</p>" in second
    assert "How it feels" not in second and "<script" not in part.html
    # The new habits stay out of the habits picture.
    assert "delivery" not in part.html[part.html.index('id="persona-1-habits"'):]


def test_a_persona_without_texts_shows_no_talk():
    part = build({"reports.rpt_personas": personas(), "reports.rpt_persona_habits": HABITS})
    assert "What they talk about" not in part.html and "How it feels" not in part.html
