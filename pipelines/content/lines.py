"""From inputs to ranked, checked lines: the persona contexts, the candidates of each backend,
the checks and the ranking. Pure logic on frames; reading and writing is in `tasks`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace

import polars as pl

from pipelines.content import backend as http
from pipelines.content.brand import Brand, Offer
from pipelines.content.checks import Checker, ContentSettings
from pipelines.content.generate import PersonaContext, Templates, candidates
from pipelines.content.names import FORMATS, GOALS
from pipelines.content.ranking import Ranker
from pipelines.content.store import SCHEMA

TOP_CATEGORIES = 3
# Formats for the team, which may name a persona; every other format reaches customers.
TEAM_FORMATS = frozenset({"sales_sheet"})
TOP_PRODUCTS = 3
# An offer's last day is worth saying in the copy when it is this close (two weeks).
URGENT_DAYS = 14
# Which history model ranks which format (the Meta models are learnt from the ad's own field).
RANKED_BY = {"email_subject": "email_subject", "meta_headline": "meta_headline",
             "meta_primary_text": "meta_primary_text"}


def best_offer(brand: Brand, day: dt.date, categories: list[str], goal: str) -> Offer | None:
    """The offer valid on `day` for these categories and `goal` giving the most off (percent
    first), or None."""
    offers = brand.offers_on(day, categories, goal)
    if not offers:
        return None
    return max(offers, key=lambda o: (o.discount_percent or 0.0, o.amount or 0.0))


def offer_ends(offer: Offer | None, day: dt.date) -> str:
    """"ends 31 December" when `offer` runs out within `URGENT_DAYS` of `day`, else "": copy
    may only state the deadline brand.yml gives."""
    if offer is None or (offer.valid_to - day).days > URGENT_DAYS:
        return ""
    return f"ends {offer.valid_to.day} {offer.valid_to:%B}"


def contexts(personas: pl.DataFrame, purchases: pl.DataFrame, recommended: pl.DataFrame | None,
             brand: Brand, day: dt.date) -> dict[str, dict[str, PersonaContext]]:
    """Per persona (and `all`) and goal, its context with the goal's best offer. Top categories
    and products are what the persona bought most in the recent window; the products are the
    ones most recommended to its people when recommendations exist."""
    names = [*personas["persona"].to_list()]
    if "all" not in names:
        names.append("all")
    traits = dict(zip(personas["persona"], personas["traits"], strict=True))
    out = {}
    for name in names:
        own = purchases.filter(pl.col("persona") == name)
        categories = (own.group_by("category").agg(pl.col("units").sum())
                      .sort(["units", "category"], descending=[True, False])
                      .head(TOP_CATEGORIES)["category"].to_list())
        products = (own.group_by("product_name").agg(pl.col("units").sum())
                    .sort(["units", "product_name"], descending=[True, False])
                    .head(TOP_PRODUCTS)["product_name"].to_list())
        if recommended is not None and name != "all":
            picks = (recommended.filter(pl.col("persona") == name)
                     .sort(["n", "best", "product_name"], descending=[True, False, False])
                     .head(TOP_PRODUCTS)["product_name"].to_list())
            if picks:
                # The copy leads with the featured products' own categories.
                category_of = dict(purchases.select("product_name", "category").unique(
                    "product_name", keep="first").iter_rows())
                own_categories = [category_of[p] for p in picks if p in category_of]
                categories = list(dict.fromkeys(own_categories + categories))[:TOP_CATEGORIES]
                products = picks
        base = PersonaContext(persona=name if name != "all" else "customers",
                              categories=categories, products=products,
                              traits=traits.get(name, ""))
        out[name] = {}
        for goal in GOALS:
            offer = best_offer(brand, day, categories, goal)
            out[name][goal] = replace(base, offer=offer, offer_ends=offer_ends(offer, day))
    return out


@dataclass
class Result:
    lines: pl.DataFrame
    dropped: Counter[str] = field(default_factory=Counter)
    backend_failures: int = 0
    backend_lines: int = 0


def _offer_code(text: str, offer: Offer | None) -> str | None:
    if offer is None:
        return None
    lowered = text.lower()
    used = offer.code.lower() in lowered or offer.description.lower() in lowered
    return offer.code if used else None


def build(brand: Brand, settings: ContentSettings, templates: Templates, checker: Checker,
          persona_contexts: dict[str, dict[str, PersonaContext]],
          rankers: dict[str, Ranker], day: dt.date, llm: http.LlmConfig | None = None,
          goals: tuple[str, ...] = GOALS, formats: tuple[str, ...] = FORMATS) -> Result:
    """Checked, ranked lines for every persona, goal and format asked; at most
    `keep_per_format` per persona, goal and format."""
    rows: list[dict] = []
    result = Result(lines=pl.DataFrame(schema=SCHEMA))
    for persona, by_goal in persona_contexts.items():
        for goal in goals:
            ctx = by_goal[goal]
            # The persona's traits are the pipeline's own figures (a sales sheet quotes them):
            # their numbers are not prices or percentages the copy invents.
            # The offer's real last day may be said ("ends 31 December"); no other deadline.
            persona_checker = replace(checker, allowed_text=(
                *checker.allowed_text, ctx.traits, ctx.offer_ends))
            label = persona.lower() if persona != "all" else ""
            pool: list[tuple[str, str, str]] = []
            if llm is not None:
                answered = http.generate(llm, brand, ctx, goal, settings)
                if answered is None:
                    result.backend_failures += 1
                else:
                    result.backend_lines += len(answered)
                    pool += [(f, t, "http") for f, t in answered]
            pool += [(f, t, "offline") for f, t in candidates(
                brand, templates, ctx, goal, settings.expansions_per_template)]
            seen: set[tuple[str, str]] = set()
            by_format: dict[str, list[tuple[str, str]]] = {f: [] for f in formats}
            for fmt, text, origin in pool:
                if fmt not in by_format or (fmt, text) in seen:
                    continue
                seen.add((fmt, text))
                why = persona_checker.reason(text, fmt)
                if why is None and fmt not in TEAM_FORMATS and label and label in text.lower():
                    why = "names the persona (a team label)"
                if why is not None:
                    result.dropped[why] += 1
                    continue
                by_format[fmt].append((text, origin))
            for fmt, kept in by_format.items():
                ranker = rankers.get(RANKED_BY.get(fmt, ""))
                scored = (ranker.score([t for t, _ in kept]) if ranker is not None
                          else [(None, "not ranked: no history of this format to learn from; "
                                 "in the generator's order")] * len(kept))
                order = sorted(range(len(kept)), key=lambda i: (
                    -(scored[i][0] if scored[i][0] is not None else 0.0), i))
                for rank, i in enumerate(order[:settings.keep_per_format], start=1):
                    text, origin = kept[i]
                    rows.append({
                        "as_of_date": day, "persona": persona, "goal": goal, "format": fmt,
                        "rank": rank, "text": text, "predicted": scored[i][0],
                        "evidence": scored[i][1], "backend": origin,
                        "offer_code": _offer_code(text, ctx.offer),
                    })
    result.lines = pl.DataFrame(rows, schema=SCHEMA) if rows else result.lines
    return result
