"""Customer charts: the RFM grid, and churn risk and expected spend by group."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.report.svg import (
    ACCENT,
    THIS,
    Chart,
    figure,
    headline,
    money_axis,
    rows_down,
    short_number,
    to_svg,
)

SCORES = range(1, 6)
LABEL_CHARS = 32  # a longer name would squeeze the bars; the table under the chart has it whole


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    """A name cut to `limit` characters with an ellipsis."""
    return name if len(name) <= limit else name[:limit - 1].rstrip() + "…"


def rfm_grid(grid: pl.DataFrame, *, chart_id: str = "customers-rfm") -> Chart:
    """`grid` (rfm_recency_score, rfm_frequency_monetary_score, rfm_segment, customers) as a
    5 x 5 grid shaded by customers, each cell's count and segment written in it."""
    counts = np.zeros((5, 5))
    names: dict[tuple[int, int], str] = {}
    for row in grid.iter_rows(named=True):
        r, fm = row["rfm_recency_score"], row["rfm_frequency_monetary_score"]
        counts[r - 1, fm - 1] = row["customers"]
        names[(r, fm)] = row["rfm_segment"].replace("_", " ")
    fig, ax = figure(7.0, 4.2)
    # Vector cells (pcolormesh), not imshow's embedded bitmap: crisp at any size, and the
    # page holds no image.
    edges = np.arange(6) - 0.5
    ax.pcolormesh(edges, edges, counts, cmap="Blues", vmin=0, vmax=max(counts.max(), 1))
    top = counts.max() or 1
    for r in SCORES:
        for fm in SCORES:
            n = int(counts[r - 1, fm - 1])
            colour = "white" if n > 0.6 * top else "#222222"
            ax.text(fm - 1, r - 1 + 0.12, f"{n:,}", ha="center", va="center", color=colour,
                    fontsize=10, fontweight="bold")
            ax.text(fm - 1, r - 1 - 0.22, names.get((r, fm), ""), ha="center", va="center",
                    color=colour, fontsize=7)
    ax.set_xticks(range(5), [str(s) for s in SCORES])
    ax.set_yticks(range(5), [str(s) for s in SCORES])
    ax.grid(False)
    ax.set_title("Customers by recency and by frequency and spend (RFM), people per cell")
    ax.set_xlabel("Frequency and spend score (5 = most orders and spend)")
    ax.set_ylabel("Recency score (5 = ordered most recently)")
    return to_svg(fig, chart_id)


def churn_and_value(groups: pl.DataFrame, *, kind: str, currency: str | None,
                    chart_id: str) -> Chart:
    """`groups` (group_name, customers, churn_risk, expected_value), one bar per group in
    two panels: average churn risk and average expected spend next year, each bar labelled
    with its number of people. `kind` names the groups ("persona", "RFM segment")."""
    ordered = groups.sort("customers", descending=True)
    labels = [short_label(str(n).replace("_", " ")) for n in ordered["group_name"]]
    people = ordered["customers"].to_list()
    churn = [100 * (v or 0) for v in ordered["churn_risk"].to_list()]
    value = [float(v or 0) for v in ordered["expected_value"].to_list()]
    y = np.arange(len(labels))
    fig, (left, right) = figure(7.0, 0.9 + 0.32 * len(labels), ncols=2)
    left.barh(y, churn, color=ACCENT)
    right.barh(y, value, color=THIS)
    left.set_yticks(y, labels)
    right.set_yticks(y, [""] * len(labels))
    for ax in (left, right):
        rows_down(ax)
    for i, (c, v, n) in enumerate(zip(churn, value, people, strict=True)):
        noun = "person" if n == 1 else "people"
        left.text(c, i, f" {c:.0f}% · {n:,} {noun}", va="center", fontsize=7.5)
        right.text(v, i, f" {short_number(v)}", va="center", fontsize=7.5)
    limit = max([*churn, 1]) * 1.6  # room for the labels
    left.set_xlim(0, limit)
    # A risk is at most 100%: no tick past it, though the labels need the room.
    left.set_xticks([t for t in (0, 25, 50, 75, 100) if t <= limit])
    right.set_xlim(0, max([*value, 1]) * 1.25)
    headline(fig, f"Churn risk and expected spend next year, by {kind}")
    left.set_title("Churn risk", fontsize=9.5)
    right.set_title("Expected spend next year", fontsize=9.5)
    left.set_xlabel("Average churn risk (%)")
    left.set_ylabel(kind[0].upper() + kind[1:])
    right.set_xlabel("Average per customer")
    right.set_ylabel("")
    right.yaxis.set_visible(False)
    money_axis(right, currency, axis="x")
    return to_svg(fig, chart_id)
