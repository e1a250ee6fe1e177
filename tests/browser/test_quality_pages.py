"""The quality pages (GX data docs) in headless Chromium, offline: styled by the Bootstrap
shipped beside them, no request off their folder, no console error, data shown as text."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.quality import validate_frame
from pipelines.quality.docs import render_data_docs
from pipelines.quality.suites import load_suite

pytestmark = pytest.mark.browser

HOSTILE = {
    "product_title": '<img src=x onerror=alert("product")>',
    "campaign_name": "<script>alert('campaign')</script>",
}


def suite(folder: Path, name: str, expectations: list[dict]):
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "meta": {"table": f"marts.{name}"},
                                "expectations": expectations}))
    return load_suite(path)


@pytest.fixture(scope="module")
def quality_dir(tmp_path_factory) -> Path:
    """Docs of a passing suite and a failing one whose values hold HTML and script."""
    folder = tmp_path_factory.mktemp("quality-docs")
    results: list[dict] = []
    orders = pl.DataFrame({"order_id": ["o1", "o2"], "amount": [10.0, 20.0]})
    validate_frame(orders, suite(folder, "orders", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "amount", "min_value": 0, "max_value": 100}},
    ]), raw_results=results)
    hostile = pl.DataFrame({column: ["fine", value] for column, value in HOSTILE.items()})
    validate_frame(hostile, suite(folder, "hostile", [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": column, "value_set": ["fine"]}} for column in HOSTILE
    ]), raw_results=results)
    out = folder / "reports" / "2026-10-31" / "quality"
    render_data_docs(results, out, "Quality 2026-10-31")
    return out


def test_the_index_is_styled_offline_and_links_every_page(browser, quality_dir):
    visit = browser.visit(quality_dir / "index.html", name="quality-index",
                          allow=(quality_dir,))
    assert visit.problems() == []
    assert (quality_dir / "static" / "bootstrap-4.3.1.min.css").as_uri() in visit.requests
    # Bootstrap's `.table` rule applies (a browser default table has no bottom margin).
    assert browser.evaluate(
        "getComputedStyle(document.querySelector('table.table')).marginBottom") == "16px"
    links = browser.evaluate("[...document.querySelectorAll('td a')].map(a => a.href)")
    assert sorted(links) == sorted((quality_dir / "validations" / f"{name}.html").as_uri()
                                   for name in ("orders", "hostile"))
    assert visit.screenshot.is_file()


@pytest.mark.parametrize("name", ["orders", "hostile"])
def test_each_suite_page_is_styled_offline_and_shows_data_as_text(browser, quality_dir, name):
    visit = browser.visit(quality_dir / "validations" / f"{name}.html",
                          name=f"quality-{name}", allow=(quality_dir,))
    assert visit.problems() == []  # hostile values fire no dialog, no error
    # GX's layout comes from Bootstrap's spacing utilities: `.pl-5` is 3rem.
    assert browser.evaluate(
        "getComputedStyle(document.querySelector('.container-fluid.pl-5')).paddingLeft"
    ) == "48px"
    # Each expectation's status shows without Font Awesome: the inlined glyph.
    glyph = "✘" if name == "hostile" else "✔"
    icon = ".fa-times" if name == "hostile" else ".fa-check-circle"
    assert browser.evaluate(
        f"getComputedStyle(document.querySelector('{icon}'), '::before').content"
    ) == f'"{glyph}"'
    if name == "hostile":
        text = browser.evaluate("document.body.innerText")
        assert all(value in text for value in HOSTILE.values())
        assert browser.evaluate("document.querySelectorAll('img[onerror]').length") == 0
        assert browser.evaluate("[...document.scripts].filter(s => s.text.includes('alert'))"
                                ".length") == 0


def test_dark_mode_fetches_nothing_either(browser, quality_dir):
    """GX's styles draw its logo from S3 for a reader whose system is in dark mode."""
    visit = browser.visit(quality_dir / "validations" / "orders.html", name="quality-dark",
                          allow=(quality_dir,), color_scheme="dark")
    assert browser.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is True
    assert visit.problems() == []


def test_the_pages_controls_work_offline(browser, quality_dir):
    """GX's controls on a results page, run by the jQuery and Bootstrap shipped beside it."""
    page = quality_dir / "validations" / "orders.html"
    visit = browser.visit(page, screenshot=False, allow=(quality_dir,))
    assert visit.problems() == []
    passed_rows = "document.querySelectorAll('.hide-succeeded-validation-target-child')"
    visible = f"[...{passed_rows}].filter(e => e.offsetParent !== null).length"
    assert browser.evaluate(visible) == 2  # both checks of `orders` passed
    browser.click("text=Failed Only")
    browser.wait_for(f"() => {visible} === 0")  # jQuery fades them out
    # "Show more info..." opens its panel (a Bootstrap collapse).
    panel = "document.querySelector('a[data-toggle=collapse]').getAttribute('href')"
    shown = f"() => document.querySelector({panel}).classList.contains('show')"
    assert browser.evaluate(shown) is False
    browser.click("text=Show more info...")
    browser.wait_for(shown)
    assert visit.page_errors == [] and visit.console_errors == []
