"""Social media charts: engagement rate by post theme and format, and by local hour, for one
platform. Bars of items with too few posts are grey and say so; every bar says how many posts
back it."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.report.plots.customers import short_label
from pipelines.report.svg import ACCENT, BEFORE, THIS, Chart, figure, headline, rows_down, to_svg


def item_label(item: str) -> str:
    """A theme or format as words ("behind_the_scenes" is "behind the scenes")."""
    return str(item).replace("_", " ")


def _posts(n: int) -> str:
    return f"{n:,} post" if n == 1 else f"{n:,} posts"


def content_rates(themes: pl.DataFrame, formats: pl.DataFrame, *, platform: str,
                  averages: dict[str, float | None], min_posts: int, chart_id: str) -> Chart:
    """Two panels, engagement rate by theme and by format, rows in rank order (best on top),
    each bar labelled with its rate's index against the platform's and its posts; the
    platform's rate over all items is a dotted line. Frames are rpt_social_content rows of one
    platform and aspect; `averages` holds the platform's rate per aspect."""
    panels = (("Themes", "Theme", themes, averages.get("theme")),
              ("Formats", "Format", formats, averages.get("format")))
    rows = max(themes.height, formats.height, 1)
    fig, axes = figure(7.0, 1.2 + 0.34 * rows, ncols=2)
    for ax, (title, label, frame, average) in zip(axes, panels, strict=True):
        ordered = frame.sort("rank")
        ax.set_title(title, fontsize=9.5)
        ax.set_xlabel("Engagements per person reached (%)")
        ax.set_ylabel(label)
        if ordered.is_empty():
            ax.text(0.5, 0.5, "no posts", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        rates = [100 * float(v or 0) for v in ordered["engagement_rate"]]
        posts = [int(v or 0) for v in ordered["posts"]]
        index = ordered["rate_index"].to_list()
        colours = [THIS if n >= min_posts else BEFORE for n in posts]
        y = np.arange(len(rates))
        ax.barh(y, rates, color=colours, height=0.7)
        rows_down(ax, [short_label(item_label(i), 20) for i in ordered["item"]])
        for i, (rate, n, idx) in enumerate(zip(rates, posts, index, strict=True)):
            parts = [f"{rate:.1f}%"]
            if n < min_posts:
                parts.append("too few posts")
            elif idx is not None:
                parts.append(f"index {idx:.2f}")
            parts.append(_posts(n))
            ax.text(rate, i, " " + " · ".join(parts), va="center", fontsize=7,
                    color="#333333" if n >= min_posts else BEFORE)
        if average:
            ax.axvline(100 * average, color="#333333", linewidth=0.8, linestyle=":")
        ax.set_xlim(0, max([*rates, 1e-9]) * 1.9)
    headline(fig, f"{platform}: engagement rate by post theme and format "
                  f"(dotted: the platform's rate)")
    return to_svg(fig, chart_id)


def hour_rates(hours: pl.DataFrame, *, platform: str, best: list[str], min_posts: int,
               average: float | None, chart_id: str) -> Chart:
    """Engagement rate by the local hour a post went out, one bar per hour with its posts
    written above it; the `best` hours (items "00"-"23") stand out, hours with too few posts
    are grey, the platform's rate is a dotted line."""
    fig, ax = figure(7.0, 2.8)
    # Items are "00"-"23" (the table's contract); anything else is left out, never a failure.
    by_hour = {int(r["item"]): r for r in hours.iter_rows(named=True)
               if str(r["item"]).isdigit() and int(r["item"]) < 24}
    top = max([100 * float(r["engagement_rate"] or 0) for r in by_hour.values()] + [1e-9])
    for hour, row in sorted(by_hour.items()):
        rate = 100 * float(row["engagement_rate"] or 0)
        n = int(row["posts"] or 0)
        colour = BEFORE if n < min_posts else ACCENT if f"{hour:02d}" in best else THIS
        ax.bar(hour, rate, color=colour, width=0.8)
        ax.text(hour, rate + top * 0.02, f"{n:,}", ha="center", va="bottom", fontsize=6.5,
                color="#555555")
    if average:
        ax.axhline(100 * average, color="#333333", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
    ax.set_xlim(-0.7, 23.7)
    ax.set_ylim(0, top * 1.2)
    ax.set_xlabel("Local hour the post went out (number above a bar: its posts)")
    ax.set_ylabel("Engagements per person reached (%)")
    named = ", ".join(f"{h}:00" for h in best)
    headline(fig, f"{platform}: engagement rate by posting hour"
                  + (f" (best: {named})" if named else ""))
    return to_svg(fig, chart_id)
