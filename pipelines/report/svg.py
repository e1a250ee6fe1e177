"""The report's charts: matplotlib figures in one style, written as inline SVG.

A chart is drawn by a section from the frames it was given (nothing here reads data) and
written with `to_svg`, which gives markup that is safe to place in the page: matplotlib's SVG
writer escapes every text it draws, text stays text (searchable, readable by a screen reader,
small), a rerun writes the same bytes, and each chart's ids carry its own prefix so several
charts on one page never share one.
"""

from __future__ import annotations

import io
import re
from html import escape

import matplotlib
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# Colours: this period, the comparison (last year, baseline), and a warning; colour-blind safe
# (Okabe-Ito blue, grey, vermillion) and distinct in grey scale print.
THIS = "#0072B2"
BEFORE = "#999999"
ACCENT = "#D55E00"
PALETTE = (THIS, ACCENT, "#009E73", "#E69F00", "#56B4E9", "#CC79A7", BEFORE)

STYLE = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths: escaped, small, selectable
    "svg.hashsalt": "marketing-report",  # clip and marker ids the same on every run
    "text.parse_math": False,  # a campaign called "Save $5 or $10" is text, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.0,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#888888",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
}

CHART_ID = re.compile(r"[a-z][a-z0-9-]*\Z")
_TAG = re.compile(r"<[^>]*>")  # text content never holds a raw '<' or '>' (the writer escapes)
_ID = re.compile(r'(\s?)\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
_REF_ANY = re.compile(r'(?:url\(#|href="#)([^)"]+)')
_FAMILY = re.compile(r"font-family: [^;\"]*; ")
_SIZE = re.compile(r'\swidth="([\d.]+)pt" height="([\d.]+)pt"')


class Chart(Markup):
    """One chart's SVG markup, safe to place in the page as it is (the writer escaped every
    text in it); the page's `svg` filter accepts this type and nothing else."""

    __slots__ = ()


def figure(width_in: float = 7.0, height_in: float = 3.0,
           nrows: int = 1, ncols: int = 1) -> tuple[Figure, Axes]:
    """A figure in the report's style with its axes (an array of axes when `nrows` or
    `ncols` is over 1), laid out so titles and labels never overlap. Not tied to pyplot, so
    nothing is kept after the chart is written."""
    # matplotlib reads its style when each title, label and line is made, after this returns,
    # so the report's style is set for the process (the report is the only thing that draws).
    matplotlib.rcParams.update(STYLE)
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def headline(fig: Figure, text: str) -> None:
    """The chart's title across the whole figure, left-aligned: a long title on an axes that
    starts after long labels would run off the right edge."""
    fig.suptitle(text, x=0.01, ha="left", fontweight="bold", fontsize=STYLE["axes.titlesize"])


def money_axis(ax: Axes, currency: str | None, axis: str = "y") -> None:
    """Money tick labels on `axis` ("1.2k", "3M"), the currency named in the axis title that
    the caller set ("Revenue" becomes "Revenue (GBP)")."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _pos: short_number(value)))
    label = target.get_label_text()
    unit = currency or "mixed currencies"
    if f"({unit})" not in label:
        target.set_label_text(f"{label} ({unit})".strip())


def short_number(value: float) -> str:
    """A tick label: 950, 1.2k, 3.4M (no currency: the axis title names it)."""
    size = abs(value)
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}" if size >= 10 or value == int(value) else f"{value:.1f}"


def chart_title(fig: Figure) -> str:
    """What the chart shows in words: the figure's title, else its axes' titles."""
    if fig.get_suptitle():
        return fig.get_suptitle()
    titles = [ax.get_title() or ax.get_title("left") for ax in fig.axes if ax.get_visible()]
    return "; ".join(t for t in titles if t)


def _check(fig: Figure) -> str:
    """The chart's title; a chart with no title, or an axes without its axis titles, is a
    programming error the tests catch."""
    title = chart_title(fig)
    if not title:
        raise ValueError("chart has no title: set one with ax.set_title or fig.suptitle")
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or ax.get_label() == "<colorbar>":
            continue
        for axis, text in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not text and getattr(ax, f"{axis}axis").get_visible():
                raise ValueError(f"chart {title!r} has no {axis} axis title "
                                 "(say what and in which unit)")
    return title


def to_svg(fig: Figure, chart_id: str) -> Chart:
    """The figure as inline SVG: no XML declaration, width 100% up to its drawn size, a
    <title> for screen readers, ids prefixed with `chart_id` (one per chart on a page), the
    same bytes on every run."""
    if not CHART_ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r} must be lower-case letters, digits and '-'")
    title = _check(fig)
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    raw = buffer.getvalue()
    body = raw[raw.index("<svg"):]
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", body, flags=re.S)

    # Only the ids something points at (clip paths, markers) are kept, prefixed; matplotlib's
    # one id per drawn group is dropped: half the bytes, and nothing left to collide.
    used = set(_REF_ANY.findall(body))

    def prefix(tag: re.Match) -> str:
        text = _ID.sub(lambda m: f'{m.group(1)}id="{chart_id}-{m.group(2)}"'
                       if m.group(2) in used else "", tag.group(0))
        text = text.replace("<g >", "<g>")
        return _REF.sub(lambda m: f"{m.group(1)}{chart_id}-{m.group(2)}", text)

    body = _TAG.sub(prefix, body)
    # Every text repeats one font family; said once in the chart's style rule, a tenth of
    # the bytes goes.
    families = set(_FAMILY.findall(body))
    rule = ""
    if len(families) == 1:
        family = families.pop()
        body = _TAG.sub(lambda tag: tag.group(0).replace(family, ""), body)
        rule = f"#{chart_id} text{{{family.strip().rstrip(';')}}}"
    # matplotlib's one style rule is `*{...}`: inline in a page it would reach every element.
    body = body.replace("*{", f"{rule}#{chart_id} *{{", 1)
    size = _SIZE.search(body)
    if size is None:
        raise RuntimeError("matplotlib's SVG root has no width and height in pt")
    width = size.group(1)
    head = (f' id="{chart_id}" width="100%" style="max-width:{width}pt;height:auto" '
            f'role="img" aria-labelledby="{chart_id}-title"')
    body = body[:size.start()] + head + body[size.end():]
    opened = body.index(">") + 1
    body = (body[:opened] + f'\n <title id="{chart_id}-title">{escape(title)}</title>'
            + body[opened:])
    fig.clear()
    return Chart(body.strip())


def rows_down(ax: Axes, labels: list[str] | None = None) -> None:
    """A horizontal chart's rows read top down (the first row on top), with the value grid
    only: `labels` name the rows where given."""
    if labels is not None:
        ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
