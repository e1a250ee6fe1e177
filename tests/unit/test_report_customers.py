"""The customers section from synthetic report tables: the RFM grid with each cell's count,
churn risk and expected spend by persona and segment with their people and the currency."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl

from pipelines.report.customers import quiet_sentence, section
from tests.unit.report_inputs import ESCAPED, HOSTILE, inputs

SVG = "{http://www.w3.org/2000/svg}"


def tables() -> dict[str, pl.DataFrame]:
    grid = pl.DataFrame({
        "rfm_recency_score": [5, 5, 2, 1], "rfm_frequency_monetary_score": [5, 1, 4, 1],
        "rfm_segment": ["champions", "new", "at_risk", "lost"], "customers": [120, 7, 33, 1],
    })
    groups = pl.DataFrame({
        "grouping": ["persona", "persona", "rfm_segment", "rfm_segment"],
        "group_name": [HOSTILE, "Weekend bakers", "champions", "at_risk"],
        "customers": [40, 1, 120, 33], "revenue": [1.0, 2.0, 3.0, 4.0],
        "avg_order_value": [1.0, 2.0, 3.0, 4.0], "churn_risk": [0.25, 0.5, 0.1, 0.7],
        "expected_value": [310.0, 1250.0, 400.0, 90.0], "emailable_share": [0.5] * 4,
    })
    return {"reports.rpt_rfm_grid": grid, "reports.rpt_customer_groups": groups}


def test_cells_are_vector_shapes_not_an_embedded_image(settings):
    html = str(section(inputs(settings, tables())).html)
    assert "<image" not in html and "data:image" not in html


def _charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def _texts(chart: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in chart.iter(f"{SVG}text")]


def test_section_draws_the_grid_and_both_groupings(settings):
    built = section(inputs(settings, tables(), currency="EUR"))
    assert built is not None and built.key == "customers" and built.order == 30
    grid, personas, segments = _charts(str(built.html))
    assert grid.find(f"{SVG}title").text.startswith("Customers by recency")
    words = _texts(grid)
    assert {"120", "7", "33", "1", "champions", "at risk", "lost"} <= set(words)
    assert words.count("0") >= 21  # the 21 empty cells say so
    assert {"Recency score (5 = ordered most recently)",
            "Frequency and spend score (5 = most orders and spend)"} <= set(words)
    words = _texts(personas)
    assert personas.find(f"{SVG}title").text == (
        "Churn risk and expected spend next year, by persona")
    assert {"Churn risk", "Expected spend next year",
            "Average churn risk (%)", "Average per customer (EUR)", "Persona"} <= set(words)
    assert " 25% · 40 people" in words and " 50% · 1 person" in words
    assert " 1.2k" in words and " 310" in words
    assert HOSTILE[:31] + "…" in words  # drawn as text, cut to fit
    assert "<script>" not in str(built.html) and ESCAPED.split(";")[0] in str(built.html)
    assert {"RFM segment", " 70% · 33 people", "at risk"} <= set(_texts(segments))


def test_quiet_customers_in_the_digest(settings):
    built = section(inputs(settings, tables()))
    assert built.digest == ("33 customers who used to buy often have gone quiet "
                            "(RFM segments 'at risk' and 'cannot lose them').",)
    one = pl.DataFrame({"rfm_segment": ["cannot_lose_them"], "customers": [1]})
    assert quiet_sentence(one).startswith("1 customer who used to buy often has gone quiet")
    assert quiet_sentence(one.with_columns(rfm_segment=pl.lit("lost"))) is None


def test_a_publication_without_expected_value_still_draws(settings):
    old = tables()
    old["reports.rpt_customer_groups"] = old["reports.rpt_customer_groups"].drop(
        "expected_value")
    built = section(inputs(settings, old))
    assert len(_charts(str(built.html))) == 3


def test_nothing_to_show(settings):
    assert section(inputs(settings, {})) is None


def test_the_figures_table_names_each_group_whole_and_in_the_currency(settings):
    page = str(section(inputs(settings, tables(), currency="EUR")).html)
    assert ESCAPED in page  # the whole hostile name, escaped
    assert "EUR 1,250" in page and "40" in page and "25%" in page
