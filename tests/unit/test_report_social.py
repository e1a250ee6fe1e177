"""The social media section: themes, formats and hours that engage per platform (items with too
few posts never named best), each persona's best theme and format with its evidence and a
drafted post beside it, every text from the data escaped, one sentence without social data."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import yaml
from report_inputs import ESCAPED, HOSTILE, inputs, text

from pipelines.report import social
from pipelines.report.sections import SECTIONS, build_sections

ROOT = Path(__file__).resolve().parents[2]


def content_row(platform, aspect, item, posts, rate, index, rank):
    reach = 1000 * posts
    return {"platform": platform, "aspect": aspect, "item": item, "posts": posts,
            "reach": reach, "engagements": round(rate * reach), "engagement_rate": rate,
            "rate_index": index, "rank": rank}


def content() -> pl.DataFrame:
    rows = [
        # Facebook: sale is best; the hostile theme has the highest rate but too few posts.
        content_row("facebook", "theme", "sale", 20, 0.06, 1.30, 1),
        content_row("facebook", "theme", "how_to", 15, 0.04, 0.85, 2),
        content_row("facebook", "theme", HOSTILE, 3, 0.20, 4.0, 3),
        content_row("facebook", "format", "reel", 18, 0.055, 1.2, 1),
        content_row("facebook", "format", "photo", 20, 0.045, 0.95, 2),
        # Hours: 07 has the highest rate from 2 posts; the best three with enough are 18, 20, 09.
        content_row("facebook", "hour", "18", 12, 0.08, 1.5, 1),
        content_row("facebook", "hour", "20", 8, 0.07, 1.3, 2),
        content_row("facebook", "hour", "09", 10, 0.05, 1.0, 3),
        content_row("facebook", "hour", "12", 6, 0.03, 0.6, 4),
        content_row("facebook", "hour", "07", 2, 0.10, 2.0, 5),
        content_row("instagram", "theme", "how_to", 9, 0.09, 1.1, 1),
        content_row("instagram", "theme", "sale", 7, 0.07, 0.9, 2),
        content_row("instagram", "format", "carousel", 16, 0.08, 1.0, 1),
        content_row("instagram", "hour", "19", 9, 0.09, 1.1, 1),
        content_row("instagram", "hour", "11", 7, 0.07, 0.9, 2),
    ]
    return pl.DataFrame(rows, schema={
        "platform": pl.String, "aspect": pl.String, "item": pl.String, "posts": pl.Int32,
        "reach": pl.Int64, "engagements": pl.Int64, "engagement_rate": pl.Float64,
        "rate_index": pl.Float64, "rank": pl.Int32})


def persona_content() -> pl.DataFrame:
    rows = [
        # Persona 1: sale and reels, with enough evidence: 40 engagements where its usual
        # rate gives 25 (p 0.003), 35 where it gives 19 (p 0.0007), from 20 and 12 people.
        (1, "theme", "sale", 20, 400, 40, 0.1, 1.6, 1),
        (1, "theme", "how_to", 18, 500, 20, 0.04, 0.6, 2),
        (1, "format", "reel", 12, 300, 35, 0.117, 1.8, 1),
        (1, "format", "photo", 20, 600, 25, 0.042, 0.7, 2),
        # Persona 2: how_to looks best, from 5 engagements of 3 people: too little.
        (2, "theme", "how_to", 3, 60, 5, 0.083, 2.0, 1),
        (2, "theme", "sale", 3, 60, 1, 0.017, 0.4, 2),
        (2, "format", "photo", 3, 80, 4, 0.05, 1.0, 1),
    ]
    return pl.DataFrame(rows, orient="row", schema={
        "persona_id": pl.Int32, "aspect": pl.String, "item": pl.String, "engagers": pl.Int32,
        "opportunities": pl.Int32, "engagements": pl.Int32, "rate": pl.Float64,
        "rate_index": pl.Float64, "rank": pl.Int32})


def personas() -> pl.DataFrame:
    return pl.DataFrame({"persona_id": [1, 2, 3],
                         "persona_name": ["Coffee lovers", HOSTILE, "Gift buyers"],
                         "customers": [300, 200, 100]},
                        schema={"persona_id": pl.Int32, "persona_name": pl.String,
                                "customers": pl.Int32})


def drafts() -> pl.DataFrame:
    rows = [
        (1, "Coffee lovers", "acquisition", "social_post", 1, "Meet your new favourite roast."),
        (1, "Coffee lovers", "promotion", "social_post", 2, "Twenty percent off beans."),
        (1, "Coffee lovers", "promotion", "social_post", 1, f"Sale on {HOSTILE} now"),
        (1, "Coffee lovers", "promotion", "email_subject", 1, "An email subject, not a post"),
        (2, HOSTILE, "launch", "social_post", 1, "First look at the new grinder."),
        (None, "all", "promotion", "social_post", 1, "A post for everyone."),
    ]
    return pl.DataFrame(rows, orient="row", schema={
        "persona_id": pl.Int32, "persona": pl.String, "goal": pl.String, "format": pl.String,
        "rank": pl.Int32, "text": pl.String})


def audience() -> pl.DataFrame:
    rows = [("facebook", "gender_age", "F.25-34", 50, 0.5), ("facebook", "gender_age", "M.25-34",
             30, 0.3), ("facebook", "gender_age", "F.35-44", 15, 0.15),
            ("facebook", "gender_age", "M.45-54", 5, 0.05), ("facebook", "country", "DE", 70, 0.7),
            ("facebook", "country", HOSTILE, 30, 0.3)]  # fmt: skip
    return pl.DataFrame(rows, orient="row", schema={
        "platform": pl.String, "breakdown": pl.String, "segment": pl.String,
        "followers": pl.Int64, "share": pl.Float64}).with_columns(
        export_date=pl.lit(date(2026, 10, 31)))


def tables() -> dict[str, pl.DataFrame]:
    return {"reports.rpt_social_content": content(),
            "reports.rpt_social_persona_content": persona_content(),
            "reports.rpt_personas": personas(), "reports.rpt_content": drafts(),
            "reports.rpt_social_audience": audience()}


def rows_of(html: str) -> list[str]:
    """The text of each table row of the persona table."""
    table = html[html.index("What each persona responds to"):]
    return [text(r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_each_platform_names_its_best_theme_format_and_hours_from_enough_posts(settings):
    part = social.section(inputs(settings, tables()))
    page = text(part.html)
    assert part.key == "social" and part.title == "Social media"
    assert "Facebook (38 posts)" in page and "Instagram (16 posts)" in page
    assert "Best theme: sale (6.0% engagement rate, index 1.30, 20 posts)." in page
    assert "Best format: reel (5.5% engagement rate, index 1.20, 18 posts)." in page
    # 07:00 has the highest rate but two posts: never named among the best hours.
    assert ("Best hours to post: 18:00 (8.0%, 12 posts), 20:00 (7.0%, 8 posts) and "
            "09:00 (5.0%, 10 posts), local time.") in page
    assert "Best hours to post: 19:00 (9.0%, 9 posts) and 11:00 (7.0%, 7 posts)" in page
    # Who follows: the three largest groups of each breakdown; Instagram's export has none.
    assert ("Largest follower groups as of 2026-10-31: age and gender F.25-34 (50%), M.25-34 "
            "(30%), F.35-44 (15%); countries DE (70%), ") in page
    assert page.count("Largest follower groups") == 1
    assert "<script>" not in part.html
    # The figures table marks the item with too few posts.
    assert "3 (too few)" in page and "how to" in page
    charts = re.findall(r'<svg[^>]* id="([^"]+)"', part.html)
    assert charts == ["social-1-content", "social-1-hours", "social-2-content",
                      "social-2-hours"]
    facebook = part.html[part.html.index('id="social-1-content"'):]
    assert "too few posts · 3 posts" in facebook and "index 1.30 · 20 posts" in facebook
    hours = part.html[part.html.index('id="social-1-hours"'):]
    assert "best: 18:00, 20:00, 09:00" in hours
    assert part.digest == ("Social posts that engage most: sale posts on Facebook (index 1.30) "
                           "and how to posts on Instagram (index 1.10).",)


def test_each_persona_gets_its_best_theme_and_format_with_evidence_and_a_draft(settings):
    part = social.section(inputs(settings, tables()))
    header, first, second, third = rows_of(part.html)
    assert header == "Persona Best theme Best format What to post"
    assert first.startswith("Coffee lovers sale (index 1.60) 40 engagements with 400 posts "
                            "seen, from 20 customers reel (index 1.80) 35 engagements")
    assert "Too little evidence" not in first
    assert "Post about sale, as reel posts, at 18:00 on Facebook or 19:00 on Instagram." in first
    # Beside the sale theme, the persona's promotion drafts first; no email line, no line
    # written for everyone.
    drafts = re.findall(r"&ldquo;(.*?)&rdquo; \((\w+) draft\)", first)
    assert drafts == [(f"Sale on {ESCAPED} now", "promotion"),
                      ("Twenty percent off beans.", "promotion")]
    assert "email subject" not in part.html and "A post for everyone" not in part.html
    # Persona 2: 5 engagements from 3 customers is too little evidence to tailor posts.
    assert second.startswith(f"{ESCAPED} how to (index 2.00) 5 engagements with 60 posts seen, "
                             "from 3 customers Too little evidence")
    assert "Too little evidence to tailor posts yet" in second
    assert "First look at the new grinder." in second
    # Persona 3 has no linked customer who engaged: said plainly.
    assert third.startswith("Gift buyers no evidence no evidence No evidence yet")
    assert "No drafted posts for this persona." in third


def test_themes_names_and_drafts_from_the_data_are_text(settings):
    part = social.section(inputs(settings, tables()))
    assert "<script" not in part.html and "<img" not in part.html
    assert part.html.count(ESCAPED) >= 3  # the theme in the table, a persona name, a draft
    # The theme inside the chart, escaped by matplotlib's writer.
    chart = part.html[part.html.index('id="social-1-content"'):part.html.index("</svg>")]
    assert "&lt;script&gt;" in chart


def test_without_social_data_one_sentence_and_nothing_else(settings):
    empty = {name: frame.head(0) for name, frame in tables().items()}
    for given in ({}, empty, {"reports.rpt_personas": personas(),
                              "reports.rpt_content": drafts()}):
        part = social.section(inputs(settings, given))
        assert text(part.html) == social.NO_DATA
        assert "<svg" not in part.html and "<table" not in part.html
        assert part.digest == () and part.actions == ()


def test_the_section_follows_the_personas_and_fails_no_report(settings):
    assert SECTIONS.index("pipelines.report.social:section") == (
        SECTIONS.index("pipelines.report.personas:section") + 1)
    from test_report_personas import personas as persona_cards

    sections, _ = build_sections(inputs(settings, tables() | {
        "reports.rpt_personas": persona_cards()}))
    keys = [s.key for s in sections]
    assert keys.index("social") == keys.index("personas") + 1
    sections, missing = build_sections(inputs(settings))
    assert "social" in [s.key for s in sections] and "Social media" not in missing


def test_too_few_posts_is_the_dbt_var():
    config = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())
    assert config["vars"]["social_min_posts"] == social.MIN_POSTS


def test_evidence_bar_needs_more_than_chance_and_enough_engagers():
    rows = persona_content().filter(pl.col("persona_id") == 1)
    assert social.pick(rows, "theme")["enough"]
    fewer = rows.with_columns(engagers=pl.lit(social.MIN_ENGAGERS - 1, pl.Int32))
    assert not social.pick(fewer, "theme")["enough"]
    # 40 engagements where the usual rate gives 32: p 0.10, chance can do that.
    weaker = rows.with_columns(rate_index=pl.lit(1.25))
    assert not social.pick(weaker, "theme")["enough"]
    # The same 40 against 25 is p 0.003: below 0.05 / 2 items, but not below 0.05 / 20.
    many = pl.concat([rows.filter(pl.col("aspect") == "theme")] * 10)
    assert not social.pick(many, "theme")["enough"]
    assert social.pick(rows.head(0), "theme") is None
