"""Per persona, the checked ad copy (reports.rpt_content) as files the ad platforms import:

- `meta_dynamic_creative/<persona>.csv`: one row per campaign goal, a dynamic creative ad with
  up to 5 bodies (primary texts), 5 titles (headlines), 5 link descriptions and 5 calls to
  action, Meta's limits for an ad's asset feed; columns named as Ads Manager's export names
  the single-creative fields (Campaign Name, Ad Set Name, Ad Name, Body, Title, Link
  Description, Call to Action, Link), numbered for the variants.
- `google_rsa/<persona>.csv`: one row per goal, a responsive search ad in Google Ads Editor's
  CSV layout (Campaign, Ad group, Ad type, Headline 1-15, Description 1-4, Final URL); an ad
  needs at least 3 headlines and 2 descriptions, so a goal with fewer is left out and said.

A persona's own lines come first; the lines written for everyone (`all`) fill the rest. Every
cell goes through `csvsafe`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from pipelines.activation.csvsafe import neutralise_frame
from pipelines.activation.site import manifest_entry

log = logging.getLogger(__name__)

META_PLATFORM = "meta_dynamic_creative"
GOOGLE_PLATFORM = "google_rsa"
META_ASSETS = 5  # bodies, titles, descriptions and CTAs per dynamic creative ad
GOOGLE_HEADLINES, GOOGLE_DESCRIPTIONS = 15, 4
GOOGLE_MIN_HEADLINES, GOOGLE_MIN_DESCRIPTIONS = 3, 2
# Meta's call-to-action button types (Marketing API `call_to_action_type`) a shop's button
# words can name; a brand CTA is used when its words are one of them ("Shop now" -> SHOP_NOW).
META_CTA_TYPES = ("SHOP_NOW", "LEARN_MORE", "SIGN_UP", "SUBSCRIBE", "GET_OFFER", "ORDER_NOW",
                  "BUY_NOW", "SEE_MORE", "CONTACT_US", "BOOK_NOW", "DOWNLOAD", "APPLY_NOW",
                  "GET_QUOTE", "WATCH_MORE", "SEND_MESSAGE")
DEFAULT_META_CTA = "SHOP_NOW"
META_COLUMNS = ("Campaign Name", "Ad Set Name", "Ad Name", "Link",
                *[f"Body {i}" for i in range(1, META_ASSETS + 1)],
                *[f"Title {i}" for i in range(1, META_ASSETS + 1)],
                *[f"Link Description {i}" for i in range(1, META_ASSETS + 1)],
                *[f"Call to Action {i}" for i in range(1, META_ASSETS + 1)])
GOOGLE_COLUMNS = ("Campaign", "Ad group", "Ad type",
                  *[f"Headline {i}" for i in range(1, GOOGLE_HEADLINES + 1)],
                  *[f"Description {i}" for i in range(1, GOOGLE_DESCRIPTIONS + 1)],
                  "Final URL")


def meta_cta_types(ctas: list[str]) -> list[str]:
    """The brand's calls to action that are Meta button types, in the brand's order, without
    repeats; Shop now when none is."""
    wanted = [c.strip().upper().replace(" ", "_").replace("-", "_") for c in ctas]
    types = list(dict.fromkeys(c for c in wanted if c in META_CTA_TYPES))
    return types[:META_ASSETS] or [DEFAULT_META_CTA]


def best_lines(content: pl.DataFrame, persona: str, goal: str, fmt: str, n: int) -> list[str]:
    """Up to `n` distinct lines of `fmt` for `persona` and `goal`: the persona's own by rank,
    then those for everyone."""
    lines = content.filter(pl.col("persona").is_in([persona, "all"]) & (pl.col("goal") == goal)
                           & (pl.col("format") == fmt)).with_columns(
        generic=pl.col("persona") == "all").sort("generic", "rank", "text")
    return list(dict.fromkeys(lines.get_column("text").to_list()))[:n]


def _padded(values: list[str], n: int) -> list[str | None]:
    return [*values, *[None] * (n - len(values))]


def meta_rows(content: pl.DataFrame, persona: str, brand_name: str, url: str,
              ctas: list[str]) -> pl.DataFrame:
    """One dynamic creative ad per goal with at least one body and one title."""
    rows = []
    for goal in sorted(content.get_column("goal").unique().to_list()):
        bodies = best_lines(content, persona, goal, "meta_primary_text", META_ASSETS)
        titles = best_lines(content, persona, goal, "meta_headline", META_ASSETS)
        descriptions = best_lines(content, persona, goal, "meta_description", META_ASSETS)
        if not bodies or not titles:
            continue
        rows.append((f"{brand_name} {goal}", persona, f"{persona} {goal} dynamic creative", url,
                     *_padded(bodies, META_ASSETS), *_padded(titles, META_ASSETS),
                     *_padded(descriptions, META_ASSETS),
                     *_padded(meta_cta_types(ctas), META_ASSETS)))
    return pl.DataFrame(rows, schema=dict.fromkeys(META_COLUMNS, pl.String), orient="row")


def google_rows(content: pl.DataFrame, persona: str, brand_name: str, url: str
                ) -> tuple[pl.DataFrame, list[str]]:
    """One responsive search ad per goal with enough assets, and a warning per goal without."""
    rows, warnings = [], []
    for goal in sorted(content.get_column("goal").unique().to_list()):
        headlines = best_lines(content, persona, goal, "google_headline", GOOGLE_HEADLINES)
        descriptions = best_lines(content, persona, goal, "google_description",
                                  GOOGLE_DESCRIPTIONS)
        if len(headlines) < GOOGLE_MIN_HEADLINES or len(descriptions) < GOOGLE_MIN_DESCRIPTIONS:
            if headlines or descriptions:
                warnings.append(
                    f"google_rsa/{persona}: no {goal} ad; it has {len(headlines)} checked "
                    f"headlines and {len(descriptions)} descriptions, a responsive search ad "
                    f"needs {GOOGLE_MIN_HEADLINES} and {GOOGLE_MIN_DESCRIPTIONS}")
            continue
        rows.append((f"{brand_name} {goal}", persona, "Responsive search ad",
                     *_padded(headlines, GOOGLE_HEADLINES),
                     *_padded(descriptions, GOOGLE_DESCRIPTIONS), url))
    frame = pl.DataFrame(rows, schema=dict.fromkeys(GOOGLE_COLUMNS, pl.String), orient="row")
    return frame, warnings


def write_ad_files(building: Path, personas: pl.DataFrame, content: pl.DataFrame,
                   brand_name: str, url: str, ctas: list[str]) -> tuple[list[dict], list[str]]:
    """Write each persona's Meta and Google files (personas: persona, slug); return their
    manifest entries and the warnings. A persona with no ad copy gets no file."""
    entries, warnings = [], []
    for persona, persona_slug in personas.select("persona", "slug").iter_rows():
        google, missing = google_rows(content, persona, brand_name, url)
        warnings += missing
        for platform, frame in ((META_PLATFORM, meta_rows(content, persona, brand_name, url,
                                                           ctas)),
                                (GOOGLE_PLATFORM, google)):
            if frame.is_empty():
                continue
            relative = Path(platform) / f"{persona_slug}.csv"
            target = building / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            neutralise_frame(frame).write_csv(target)
            entries.append(manifest_entry(target, relative, platform, persona_slug,
                                          frame.height))
    for warning in warnings:
        log.warning("%s", warning)
    return entries, warnings
