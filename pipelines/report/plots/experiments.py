"""Experiment charts: each holdout's effect with its interval, each A/B variant's rate with
its interval."""

from __future__ import annotations

import polars as pl

from pipelines.report.plots.customers import short_label
from pipelines.report.svg import ACCENT, BEFORE, THIS, Chart, figure, headline, rows_down, to_svg

COLOURS = {"treatment_better": THIS, "holdout_better": ACCENT}


def _point_and_interval(ax, y: float, point: float, low: float, high: float, colour: str) -> None:
    """The estimate as a dot and its interval as a capped line at height `y`. Drawn apart, not
    as an error bar: a Bayesian interval need not hold the observed rate (0 of 40 converted has
    an interval above 0), and the dot must still show where the rate is."""
    ax.hlines(y, low, high, color=colour, linewidth=1.5)
    ax.plot([low, high], [y, y], linestyle="none", marker="|", markersize=7, color=colour)
    ax.plot([point], [y], linestyle="none", marker="o", markersize=5, color=colour)


def _right_ends(points: list[float], highs: list[float]) -> list[float]:
    """Where each row's drawing ends on the right: its interval's end, or its dot where the dot
    lies past it. Labels start there and the axis reaches it, so neither covers nor cuts a
    dot."""
    return [max(p, h) for p, h in zip(points, highs, strict=True)]


def relative_effects(lifts: pl.DataFrame) -> pl.DataFrame:
    """Each readout's lift and its interval as a share of the holdout's mean (the base the
    readout used: lift_abs / lift_rel, else the raw holdout mean); rows with no base dropped."""
    base = (pl.when(pl.col("lift_rel").is_not_null() & (pl.col("lift_rel") != 0))
            .then(pl.col("lift_abs") / pl.col("lift_rel"))
            .otherwise(pl.col("holdout_mean")))
    return (lifts.with_columns(base=base)
            .filter(pl.col("base").is_not_null() & (pl.col("base") != 0),
                    pl.col("lift_low").is_not_null(), pl.col("lift_high").is_not_null())
            .with_columns(effect=pl.col("lift_abs") / pl.col("base").abs(),
                          low=pl.col("lift_low") / pl.col("base").abs(),
                          high=pl.col("lift_high") / pl.col("base").abs()))


def holdout_effects(effects: pl.DataFrame, *, chart_id: str = "experiments-holdouts") -> Chart:
    """`effects` (label, effect, low, high, verdict) as points with their 90% interval around
    a zero line: right of it the campaign did more than holding back."""
    labels = [short_label(str(n), 40) for n in effects["label"]]
    mid = [100 * v for v in effects["effect"]]
    low = [100 * v for v in effects["low"]]
    high = [100 * v for v in effects["high"]]
    right = _right_ends(mid, high)
    fig, ax = figure(7.0, 1.1 + 0.38 * len(labels))
    ax.axvline(0, color="#333333", linewidth=0.9)
    for i, verdict in enumerate(effects["verdict"]):
        _point_and_interval(ax, i, mid[i], low[i], high[i], COLOURS.get(verdict, BEFORE))
        ax.text(right[i], i, f"  {mid[i]:+.0f}% ({low[i]:+.0f}% to {high[i]:+.0f}%)",
                va="center", fontsize=7.5)
    rows_down(ax, labels)
    span = max([abs(v) for v in low + mid + right] + [5])
    ax.set_xlim(-span * 1.15, span * 1.9)
    headline(fig, "What each campaign changed against the people held back (90% interval)")
    ax.set_xlabel("Change in the outcome per person (% of the held-back group's)")
    ax.set_ylabel("Experiment · outcome")
    return to_svg(fig, chart_id)


def ab_rates(variants: pl.DataFrame, *, chart_id: str = "experiments-ab") -> Chart:
    """`variants` (label, rate, rate_low, rate_high, is_winner), grouped by test in order:
    each variant's rate with its interval, the winner coloured."""
    labels = [short_label(str(n), 44) for n in variants["label"]]
    rate = [100 * v for v in variants["rate"]]
    low = [100 * v for v in variants["rate_low"]]
    high = [100 * v for v in variants["rate_high"]]
    right = _right_ends(rate, high)
    fig, ax = figure(7.0, 1.1 + 0.34 * len(labels))
    for i, winner in enumerate(variants["is_winner"]):
        _point_and_interval(ax, i, rate[i], low[i], high[i], THIS if winner else BEFORE)
        ax.text(right[i], i, f"  {rate[i]:.1f}%" + (" best" if winner else ""), va="center",
                fontsize=7.5)
    rows_down(ax, labels)
    ax.set_xlim(0, max([*right, 1]) * 1.3)
    headline(fig, "A/B tests of creative: each variant's rate (90% interval)")
    ax.set_xlabel("Rate of the test's metric (%)")
    ax.set_ylabel("Test · metric · variant")
    return to_svg(fig, chart_id)
