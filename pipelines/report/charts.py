"""Small inline SVG charts, so the report is one file that opens anywhere."""

from __future__ import annotations

from html import escape


def bar_chart(labels: list[str], values: list[float], title: str, width: int = 520,
              height: int = 180, value_format: str = "{:,.0f}") -> str:
    """A vertical bar chart with a value over each bar."""
    if not values:
        return f'<p class="muted">{escape(title)}: no data</p>'
    top = max(max(values), 1e-9)
    n = len(values)
    gap = 6
    bar_w = (width - gap * (n + 1)) / n
    plot_h = height - 40
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = gap + i * (bar_w + gap)
        y = 20 + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="#3b6ea5"><title>{escape(label)}: {value_format.format(value)}'
                     f'</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="10" '
                     f'text-anchor="middle">{escape(value_format.format(value))}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
