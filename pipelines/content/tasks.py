"""The `generate_content` step and the `marketing content` command: checked copy per persona,
campaign goal and format (`ml.content_lines`), ranked by what worked in the shop's history.

Reads the personas (ml.personas, ml.persona_profiles), what each persona buys (marts) and, once
the personalize step has written them, its people's recommendations (ml.recommendations); the
brand file (brand.yml); the Mailchimp and Meta history for the ranking models. Writes only
`ml.content_lines`, replacing the logical date's rows.
"""

from __future__ import annotations

import logging
from datetime import date

import polars as pl

from pipelines.config import Settings
from pipelines.content import backend, inputs, store
from pipelines.content.brand import read_brand
from pipelines.content.checks import Checker, load_settings
from pipelines.content.generate import load_templates
from pipelines.content.lines import Result, build, contexts
from pipelines.content.names import FORMATS, GOALS
from pipelines.content.ranking import Ranker, train_ranker
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)


def _rankers(con, as_of: str) -> tuple[dict[str, Ranker], dict[str, dict]]:
    histories = {
        "email_subject": inputs.email_history(con, as_of),
        "meta_headline": inputs.ad_history(con, "headline", as_of),
        "meta_primary_text": inputs.ad_history(con, "primary_text", as_of),
    }
    rankers, checks = {}, {}
    for kind, history in histories.items():
        rankers[kind], checks[kind] = train_ranker(history, kind)
        log.info("content ranking for %s: %s", kind, rankers[kind].note)
    return rankers, checks


def generate(settings: Settings, logical_date: date, goals: tuple[str, ...] = GOALS,
             formats: tuple[str, ...] = FORMATS, personas: list[str] | None = None
             ) -> tuple[Result, dict]:
    """The day's checked, ranked lines (not written) and what was used to make them: the brand
    file, the backend, the ranking models' holdout figures. `personas` narrows to those names
    (`all` for the whole list); unknown names raise ValueError."""
    brand, brand_path = read_brand(settings)
    content_settings = load_settings()
    llm = backend.config_from_env()
    as_of = logical_date.isoformat()
    with work_connection(settings) as con:
        persona_frame = inputs.personas(con)
        purchases = inputs.persona_purchases(con, as_of)
        recommended = inputs.recommended(con)
        names = inputs.customer_names(con)
        rankers, holdouts = _rankers(con, as_of)
    found = contexts(persona_frame, purchases, recommended, brand, logical_date)
    # The products a line can name: its persona's (a product's own numbers are not prices).
    products = tuple(sorted({p for goals in found.values() for ctx in goals.values()
                             for p in ctx.products}))
    checker = Checker(brand, content_settings, names=names, allowed_text=products)
    if personas:
        unknown = sorted(set(personas) - set(found))
        if unknown:
            raise ValueError(f"no persona named {unknown}; the personas are {sorted(found)}")
        found = {k: v for k, v in found.items() if k in personas}
    result = build(brand, content_settings, load_templates(), checker, found, rankers,
                   logical_date, llm=llm, goals=goals, formats=formats)
    used = {"brand_file": str(brand_path), "backend": llm.endpoint if llm else "offline",
            "recommendations": recommended is not None, "ranking": holdouts}
    return result, used


def run_content(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Generate, check and rank the day's copy and replace its rows of `ml.content_lines`.
    Returns the lines kept per format, the lines dropped by reason, the backend's failures
    and the ranking models' holdout against length alone."""
    result, used = generate(settings, logical_date)
    if result.lines.height == 0:
        raise RuntimeError(f"content for {logical_date}: no line passed the checks "
                           f"(dropped by reason: {dict(result.dropped)}); see the brand file "
                           f"{used['brand_file']}")
    with work_connection(settings) as con:
        store.write(con, logical_date, result.lines)
    kept = result.lines.group_by("format").len().sort("format")
    summary = {
        "lines": result.lines.height,
        "personas": result.lines["persona"].n_unique(),
        "kept_by_format": dict(zip(kept["format"], kept["len"], strict=True)),
        "dropped_by_reason": dict(sorted(result.dropped.items())),
        "backend": used["backend"], "backend_failures": result.backend_failures,
        "backend_lines": result.backend_lines,
        "recommendations_used": used["recommendations"],
        "ranking": used["ranking"],
    }
    log.info("content for %s: %d lines for %d personas; dropped %s", logical_date,
             summary["lines"], summary["personas"], summary["dropped_by_reason"])
    return summary


def lines_for_cli(result: Result) -> pl.DataFrame:
    """The lines as the CLI prints them."""
    return result.lines.select("persona", "goal", "format", "rank", "text", "predicted",
                               "evidence", "backend")
