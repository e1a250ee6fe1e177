"""The report's chart writer: one style, safe markup, the same bytes on a rerun."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from jinja2 import Environment

from pipelines.report.svg import Chart, figure, money_axis, short_number, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def _bars(names: list[str], values: list[float], chart_id: str = "test-bars") -> Chart:
    fig, ax = figure()
    ax.bar(names, values)
    ax.set_title("Revenue by campaign, last 28 days")
    ax.set_xlabel("Campaign")
    ax.set_ylabel("Revenue")
    money_axis(ax, "GBP")
    return to_svg(fig, chart_id)


def _texts(chart: str) -> list[str]:
    root = ET.fromstring(chart)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_a_rerun_writes_the_same_bytes():
    assert _bars(["a", "b"], [1200, 3400]) == _bars(["a", "b"], [1200, 3400])


def test_markup_is_inline_svg_with_a_title_and_a_responsive_width():
    chart = _bars(["a", "b"], [1200, 3400])
    assert chart.startswith("<svg")
    assert "<?xml" not in chart and "<!DOCTYPE" not in chart and "<metadata" not in chart
    root = ET.fromstring(chart)  # well-formed XML on its own
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("viewBox") == "0 0 504 216"  # 7 x 3 inches at 72 points an inch
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Revenue by campaign, last 28 days"
    assert root.get("aria-labelledby") == title.get("id")


def test_every_id_carries_the_chart_prefix_and_every_reference_resolves():
    first, second = _bars(["a"], [1], "sales-one"), _bars(["a"], [1], "sales-two")
    ids_one = re.findall(r'\bid="([^"]+)"', first)
    ids_two = re.findall(r'\bid="([^"]+)"', second)
    assert ids_one and all(i == "sales-one" or i.startswith("sales-one-") for i in ids_one)
    assert not set(ids_one) & set(ids_two)  # two charts on one page never share an id
    refs = re.findall(r'(?:url\(#|href="#)([^)"]+)', first)
    assert refs and set(refs) <= set(ids_one)
    # matplotlib's own style rule reaches this chart only, not the page around it
    assert "#sales-one *{" in first and "\n*{" not in first


def test_data_text_is_escaped_and_kept_as_text():
    hostile = '<script>alert("x")</script> & $5 off'
    chart = _bars([hostile, "plain"], [5, 7])
    assert "<script" not in chart
    assert "&lt;script&gt;" in chart
    assert hostile in _texts(chart)  # read back as text, dollar signs not taken for TeX
    assert "Revenue (GBP)" in _texts(chart)


def test_values_and_units_read_back_from_the_text():
    texts = _texts(_bars(["a", "b"], [1200, 3400]))
    assert "Campaign" in texts and "Revenue (GBP)" in texts
    assert {"1k", "2k", "3k"} <= set(texts)


def test_a_chart_is_small():
    chart = _bars([f"campaign {i}" for i in range(12)], list(range(12)))
    assert len(chart.encode()) < 20_000


def test_markup_is_safe_and_jinja_does_not_escape_it():
    chart = _bars(["a"], [1])
    assert isinstance(chart, Chart) and hasattr(chart, "__html__")
    page = Environment(autoescape=True).from_string("<div>{{ c }}</div>").render(c=chart)
    assert page == f"<div>{chart}</div>"


def test_a_chart_without_a_title_or_axis_titles_is_refused():
    fig, ax = figure()
    ax.plot([1, 2], [3, 4])
    ax.set_xlabel("Week")
    ax.set_ylabel("Orders")
    with pytest.raises(ValueError, match="no title"):
        to_svg(fig, "no-title")
    fig, ax = figure()
    ax.plot([1, 2], [3, 4])
    ax.set_title("Orders by week")
    ax.set_xlabel("Week")
    with pytest.raises(ValueError, match="no y axis title"):
        to_svg(fig, "no-label")


def test_a_bad_chart_id_is_refused():
    fig, _ax = figure()
    with pytest.raises(ValueError, match="chart id"):
        to_svg(fig, 'x" onload="alert(1)')


def test_money_axis_names_the_currency_once():
    _fig, ax = figure()
    ax.set_ylabel("Spend per day")
    money_axis(ax, "EUR")
    money_axis(ax, "EUR")
    assert ax.get_ylabel() == "Spend per day (EUR)"
    _fig, ax = figure()
    ax.set_xlabel("Revenue")
    money_axis(ax, None, axis="x")
    assert ax.get_xlabel() == "Revenue (mixed currencies)"


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (7, "7"), (0.5, "0.5"), (950, "950"), (1200, "1.2k"), (-2000, "-2k"),
    (3_400_000, "3.4M"), (2.5e9, "2.5bn"),
])
def test_short_number(value, text):
    assert short_number(value) == text


def test_a_figure_wide_title_is_the_charts_title():
    from pipelines.report.svg import headline

    fig, (left, right) = figure(ncols=2)
    for ax in (left, right):
        ax.bar(["a"], [1])
        ax.set_xlabel("Group")
        ax.set_ylabel("People")
    left.set_title("Left panel")
    headline(fig, "Both panels, by group")
    root = ET.fromstring(to_svg(fig, "two-panels"))
    assert root.find(f"{SVG}title").text == "Both panels, by group"
    assert "Left panel" in ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_the_font_family_is_said_once_in_the_charts_own_rule():
    chart = _bars(["a", "b"], [1, 2], "fonts")
    assert chart.count("font-family") == 1
    assert "#fonts text{font-family: 'Helvetica', 'Arial', 'DejaVu Sans', sans-serif}" in chart
