"""Email charts: opens and clicks by campaign, and open rate by local weekday and send hour."""

from __future__ import annotations

import matplotlib
import numpy as np
import polars as pl
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from pipelines.report.plots.customers import short_label
from pipelines.report.svg import ACCENT, THIS, Chart, figure, headline, rows_down, to_svg

# Ten shades: a reader tells no more apart, and the scale stays ten shapes, not 256.
SHADES = matplotlib.colormaps["Blues"].resampled(10)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def campaign_rates(campaigns: pl.DataFrame, *, period: str,
                   chart_id: str = "email-campaigns") -> Chart:
    """`campaigns` (label, sends, opens, clicks), newest first: each campaign's open and
    click rates as paired bars, with the people behind each."""
    labels = [short_label(str(n), 48) for n in campaigns["label"]]
    sends = [float(s or 0) for s in campaigns["sends"]]
    opens, clicks = campaigns["opens"].to_list(), campaigns["clicks"].to_list()
    open_rate = [100 * o / s if s else 0.0 for o, s in zip(opens, sends, strict=True)]
    click_rate = [100 * c / s if s else 0.0 for c, s in zip(clicks, sends, strict=True)]
    y = np.arange(len(labels))
    fig, ax = figure(7.0, 1.0 + 0.42 * len(labels))
    ax.barh(y - 0.2, open_rate, height=0.38, color=THIS, label="Opened")
    ax.barh(y + 0.2, click_rate, height=0.38, color=ACCENT, label="Clicked")
    for i in range(len(labels)):
        ax.text(open_rate[i], i - 0.2, f" {open_rate[i]:.0f}% · {opens[i]:,} of "
                f"{sends[i]:,.0f}", va="center", fontsize=7.5)
        ax.text(click_rate[i], i + 0.2, f" {click_rate[i]:.1f}% · {clicks[i]:,}",
                va="center", fontsize=7.5)
    rows_down(ax, labels)
    ax.set_xlim(0, max([*open_rate, 1]) * 1.45)
    headline(fig, f"Opens and clicks by campaign, {period}")
    ax.set_xlabel("People who opened or clicked (% of emails sent)")
    ax.set_ylabel("Campaign (newest first)")
    fig.legend(loc="outside lower center", ncols=2)
    return to_svg(fig, chart_id)


def open_rate_heatmap(cells: pl.DataFrame, *, period: str, min_sends: float,
                      chart_id: str = "email-send-hours") -> Chart:
    """`cells` (local_send_weekday 1-7, local_send_hour 0-23, sends, opens) as a weekday by
    hour grid of open rate; hours with fewer than `min_sends` emails stay blank."""
    rate = np.full((7, 24), np.nan)
    for row in cells.iter_rows(named=True):
        if row["sends"] >= min_sends:
            rate[row["local_send_weekday"] - 1, row["local_send_hour"]] = (
                100 * row["opens"] / row["sends"])
    fig, ax = figure(7.0, 2.9)
    # One vector square per hour with enough sends (an empty hour draws nothing): no bitmap,
    # and a few kilobytes however sparse the grid.
    shown = ~np.isnan(rate)
    norm = Normalize(vmin=0, vmax=float(np.nanmax(rate)) if shown.any() else 1.0)
    days, hours = np.nonzero(shown)
    ax.add_collection(PatchCollection(
        [Rectangle((h - 0.5, d - 0.5), 1, 1) for d, h in zip(days, hours, strict=True)],
        facecolors=SHADES(norm(rate[shown])), edgecolors="white", linewidths=0.5))
    ax.set_xlim(-0.5, 23.5)
    ax.set_ylim(6.5, -0.5)  # Monday on top
    image = ScalarMappable(norm=norm, cmap=SHADES)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}:00" for h in range(0, 24, 2)], rotation=45,
                  ha="right")
    ax.set_yticks(range(7), WEEKDAYS)
    ax.grid(False)
    ax.set_facecolor("#f4f4f4")  # blank: too few emails sent at that hour to say
    bar = fig.colorbar(image, ax=ax, pad=0.01)
    bar.solids.set_rasterized(False)  # matplotlib would make the scale a bitmap
    bar.set_label("Open rate (%)")
    ax.set_title(f"Open rate by the reader's local send time, {period}")
    ax.set_xlabel("Local hour the email arrived (reader's time zone)")
    ax.set_ylabel("Local weekday")
    return to_svg(fig, chart_id)
