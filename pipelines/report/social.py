"""The social media section: which post themes and formats engage on each platform and at which
local hours (reports.rpt_social_content), which theme and format each persona responds to best
(reports.rpt_social_persona_content, names from reports.rpt_personas), and beside it the social
posts the content step drafted for that persona (reports.rpt_content, format `social_post`);
who follows each platform (reports.rpt_social_audience) in a line.
A business without social exports gets one sentence saying so. Every text from the data
(platforms, themes, names, drafts) goes out as text."""

from __future__ import annotations

import polars as pl
from scipy.stats import poisson

from pipelines.report.plots.social import content_rates, hour_rates, item_label
from pipelines.report.sections import ReportInputs, Section, pct, render_part

TITLE = "Social media"
KEY, ORDER = "social", 45  # right after the personas, whose names it uses

# The dbt var `social_min_posts` (dbt_project.yml): rpt_social_content ranks items with fewer
# posts last; the section greys them out and names no such item as best. A test checks the two
# agree.
MIN_POSTS = 5
# A persona's best theme or format is a finding only when chance cannot explain it: its
# engagements must be more than the persona's usual rate would give on as many posts, at a
# one-sided Poisson p below ALPHA divided by the items compared (the best of seven themes is
# always above average by luck alone, so each comparison gets its share of ALPHA:
# Bonferroni), and from at least 10 customers (fewer are a few people's taste, not the
# persona's). Judged on the best item's own row.
ALPHA = 0.05
MIN_ENGAGERS = 10
TOP_HOURS = 3  # best hours named in words per platform
DRAFTS = 2  # drafted posts shown per persona
# The content step drafts posts per campaign goal, not per theme: where a theme is plainly one
# goal's, that goal's drafts are shown first.
THEME_GOALS = {"sale": "promotion", "new_arrivals": "launch"}
PLATFORMS = {"facebook": "Facebook", "instagram": "Instagram"}
NO_DATA = ("No social media data yet: there are no Facebook Page or Instagram exports "
           "(landing/social/), so there is nothing to show about posts.")


def read_social(inputs: ReportInputs) -> dict[str, pl.DataFrame]:
    """The section's tables; an empty frame for each the publication lacks."""
    names = {"content": "reports.rpt_social_content",
             "personas_content": "reports.rpt_social_persona_content",
             "personas": "reports.rpt_personas", "drafts": "reports.rpt_content",
             "audience": "reports.rpt_social_audience"}
    data = {}
    for key, name in names.items():
        frame = inputs.table(name)
        data[key] = pl.DataFrame() if frame is None else frame
    if not data["drafts"].is_empty():
        data["drafts"] = data["drafts"].filter(pl.col("format") == "social_post")
    return data


def platform_name(platform: str) -> str:
    return PLATFORMS.get(platform, str(platform))


def average_rate(rows: pl.DataFrame) -> float | None:
    """The platform's engagement rate over all items of an aspect (what index 1 means)."""
    reach = float(rows["reach"].sum() or 0) if rows.height else 0.0
    return float(rows["engagements"].sum() or 0) / reach if reach else None


def best(rows: pl.DataFrame, n: int = 1) -> list[dict]:
    """The `n` best items of one platform's aspect with enough posts, best first."""
    if rows.is_empty():
        return []
    return rows.filter(pl.col("posts") >= MIN_POSTS).sort("rank").head(n).to_dicts()


def _posts(n: int) -> str:
    return f"{n:,} post" if n == 1 else f"{n:,} posts"


def _index(row: dict) -> str:
    return "n/a" if row["rate_index"] is None else f"{row['rate_index']:.2f}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# The follower groups a platform reports (Facebook gives age and gender together), and how
# many of each the followers line names.
AUDIENCE_GROUPS = (("gender_age", "age and gender"), ("age", "age"), ("gender", "gender"),
                   ("country", "countries"), ("city", "cities"))  # fmt: skip
TOP_SEGMENTS = 3


def followers(audience: pl.DataFrame) -> str | None:
    """Who follows one platform, in a sentence: its largest groups by breakdown, with shares."""
    if audience.is_empty():
        return None
    said = []
    for breakdown, words in AUDIENCE_GROUPS:
        rows = (audience.filter(pl.col("breakdown") == breakdown)
                .sort(["followers", "segment"], descending=[True, False]).head(TOP_SEGMENTS))
        if rows.height:
            said.append(f"{words} " + ", ".join(f"{r['segment']} ({pct(r['share'], 0)})"
                                                for r in rows.iter_rows(named=True)))
    day = audience["export_date"].max()
    return f"Largest follower groups as of {day}: " + "; ".join(said) + "." if said else None


def platform_context(platform: str, rows: pl.DataFrame, number: int,
                     audience: pl.DataFrame | None = None) -> dict:  # fmt: skip
    """One platform's findings in words, its two charts and the figures behind them."""
    name = platform_name(platform)
    aspects = {a: rows.filter(pl.col("aspect") == a) for a in ("theme", "format", "hour")}
    lines = []
    who = followers(audience) if audience is not None else None
    if who:
        lines.append(who)
    for aspect in ("theme", "format"):
        top = best(aspects[aspect])
        if top:
            r = top[0]
            lines.append(f"Best {aspect}: {item_label(r['item'])} ({pct(r['engagement_rate'], 1)} "
                         f"engagement rate, index {_index(r)}, {_posts(r['posts'])}).")
        elif aspects[aspect].height:
            lines.append(f"No {aspect} has {MIN_POSTS} posts yet: too few to name the best.")
    hours = best(aspects["hour"], TOP_HOURS)
    if hours:
        said = [f"{h['item']}:00 ({pct(h['engagement_rate'], 1)}, {_posts(h['posts'])})"
                for h in hours]
        lines.append(f"Best hours to post: {_and(said)}, local time.")
    elif aspects["hour"].height:
        lines.append(f"No hour has {MIN_POSTS} posts yet: too few to name the best hours.")
    averages = {a: average_rate(aspects[a]) for a in aspects}
    charts = [content_rates(aspects["theme"], aspects["format"], platform=name,
                            averages=averages, min_posts=MIN_POSTS,
                            chart_id=f"social-{number}-content")]
    if aspects["hour"].height:
        charts.append(hour_rates(aspects["hour"], platform=name,
                                 best=[h["item"] for h in hours], min_posts=MIN_POSTS,
                                 average=averages["hour"], chart_id=f"social-{number}-hours"))
    order = {"theme": 0, "format": 1, "hour": 2}
    figures = (rows.with_columns(o=pl.col("aspect").replace_strict(order, default=3))
               .sort("o", "rank").drop("o").to_dicts())
    for f in figures:
        f["label"] = f"{f['item']}:00" if f["aspect"] == "hour" else item_label(f["item"])
        f["too_few"] = f["posts"] < MIN_POSTS
    return {"name": name, "posts": int(aspects["theme"]["posts"].sum() or 0),
            "lines": lines, "charts": charts, "figures": figures,
            "best_hour": hours[0]["item"] if hours else None,
            "best_theme": best(aspects["theme"])}


def pick(rows: pl.DataFrame, aspect: str) -> dict | None:
    """A persona's best item of an aspect (rank 1) with its evidence and whether the evidence
    clears the bar; None when the persona has no rows for the aspect."""
    ranked = rows.filter(pl.col("aspect") == aspect).sort("rank")
    if ranked.is_empty():
        return None
    r = ranked.row(0, named=True)
    engagers, engagements = int(r["engagers"] or 0), int(r["engagements"] or 0)
    people = "customer" if engagers == 1 else "customers"
    # rate_index is rate / the persona's usual rate: at the usual rate, these posts would
    # have had engagements / rate_index.
    usual = engagements / r["rate_index"] if r["rate_index"] else None
    chance = float(poisson.sf(engagements - 1, usual)) if usual else 1.0
    return {"item": r["item"], "label": item_label(r["item"]), "index": _index(r),
            "evidence": (f"{engagements:,} engagement{'' if engagements == 1 else 's'} with "
                         f"{_posts(int(r['opportunities'] or 0))} seen, from {engagers:,} "
                         f"{people}"),
            "enough": engagers >= MIN_ENGAGERS and chance < ALPHA / ranked.height}


def drafts_for(drafts: pl.DataFrame, persona_id: int, theme: str | None) -> list[dict]:
    """Up to DRAFTS of the persona's drafted social posts: the goal matching its best theme
    first (THEME_GOALS), then the content step's own order; the same text once."""
    if drafts.is_empty():
        return []
    goal = THEME_GOALS.get(theme or "")
    mine = (drafts.filter(pl.col("persona_id") == persona_id)
            .with_columns(first=(pl.col("goal") != goal) if goal else pl.lit(False))
            .sort("first", "rank", "goal")
            .unique("text", keep="first", maintain_order=True).head(DRAFTS))
    return [{"goal": r["goal"], "text": r["text"]} for r in mine.iter_rows(named=True)]


def when(platforms: list[dict]) -> str:
    """Each platform's best hour: "at 15:00 on Facebook or 18:00 on Instagram"."""
    said = [f"{p['best_hour']}:00 on {p['name']}" for p in platforms if p["best_hour"]]
    return "" if not said else "at " + " or ".join(said)


def plan(theme: dict | None, fmt: dict | None, at: str) -> str:
    """What to post for one persona, in a sentence."""
    if theme is None:
        return ("No evidence yet: none of its customers with a linked social account has "
                "engaged with a post. Post what works on each platform (above)"
                + (f", {at}." if at else "."))
    at = f", {at}" if at else ""
    if not theme["enough"]:
        return ("Too little evidence to tailor posts yet: post what works on each platform "
                f"(above){at}.")
    how = f", as {fmt['label']} posts" if fmt and fmt["enough"] else ""
    return f"Post about {theme['label']}{how}{at}."


def persona_rows(data: dict[str, pl.DataFrame], platforms: list[dict]) -> list[dict]:
    """One row per persona, largest first (every persona of rpt_personas, and any other the
    social table names): its best theme and format with their evidence, the plan and its
    drafted posts."""
    content, personas = data["personas_content"], data["personas"]
    names: list[tuple[int, str]] = []
    if not personas.is_empty():
        names = [(r["persona_id"], r["persona_name"]) for r in personas.sort(
            ["customers", "persona_id"], descending=[True, False]).iter_rows(named=True)]
    known = {pid for pid, _ in names}
    if not content.is_empty():
        names += [(pid, f"Persona {pid}") for pid in
                  sorted(set(content["persona_id"].to_list()) - known)]
    at = when(platforms)
    rows = []
    for pid, name in names:
        mine = (content.filter(pl.col("persona_id") == pid) if not content.is_empty()
                else content)
        theme = pick(mine, "theme") if mine.height else None
        fmt = pick(mine, "format") if mine.height else None
        rows.append({"name": name, "theme": theme, "format": fmt,
                     "plan": plan(theme, fmt, at),
                     # A theme without enough evidence puts no goal's drafts first.
                     "drafts": drafts_for(data["drafts"], pid, theme["item"]
                                          if theme and theme["enough"] else None)})
    return rows


def social_context(data: dict[str, pl.DataFrame]) -> dict:
    """What the template shows; only `empty` (the one sentence) without social data."""
    content = data["content"]
    if content.is_empty():
        return {"empty": NO_DATA}
    audience = data["audience"]
    platforms = [platform_context(p, content.filter(pl.col("platform") == p), i + 1,
                                  audience.filter(pl.col("platform") == p)
                                  if not audience.is_empty() else None)
                 for i, p in enumerate(sorted(content["platform"].unique().to_list()))]
    return {"empty": None, "platforms": platforms, "min_posts": MIN_POSTS,
            "alpha": ALPHA, "min_engagers": MIN_ENGAGERS,
            "personas": persona_rows(data, platforms),
            "has_drafts": not data["drafts"].is_empty()}


def digest(context: dict) -> tuple[str, ...]:
    """The best theme per platform, in one headline."""
    said = [f"{item_label(p['best_theme'][0]['item'])} posts on {p['name']} (index "
            f"{_index(p['best_theme'][0])})" for p in context.get("platforms", [])
            if p["best_theme"]]
    return (f"Social posts that engage most: {_and(said)}.",) if said else ()


def section(inputs: ReportInputs) -> Section:
    context = social_context(read_social(inputs))
    return Section(key=KEY, title=TITLE, order=ORDER,
                   html=render_part("social.html.j2", social=context,
                                    date=inputs.logical_date.isoformat()),
                   digest=digest(context))
