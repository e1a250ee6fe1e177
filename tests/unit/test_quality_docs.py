"""Data docs from real Great Expectations validation results (no mocks)."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.quality import docs, validate_frame
from pipelines.quality.docs import render_data_docs
from pipelines.quality.suites import SuiteSpec, load_suite

TITLE = "Quality 2024-03-01 run-1"
_EXPECTATIONS = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"}},
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "amount", "min_value": 0, "max_value": 100},
        "meta": {"severity": "error"},
    },
    {
        # GX reports this one's `success` as a numpy bool, which must not reach the JSON.
        "type": "expect_column_quantile_values_to_be_between",
        "kwargs": {
            "column": "amount",
            "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0, 100]]},
        },
        "meta": {"severity": "warning"},
    },
]
CLEAN = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "amount": [10.5, 20.0, 12.0]})
# One amount out of range: only the error-severity range check fails.
DIRTY = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "amount": [10.5, 20.0, 250.0]})


def _suite(directory: Path, name: str) -> SuiteSpec:
    path = directory / f"{name}.json"
    content = {"name": name, "meta": {"table": f"marts.{name}"}, "expectations": _EXPECTATIONS}
    path.write_text(json.dumps(content))
    return load_suite(path)


def _text(page: Path) -> str:
    """The visible text of an HTML page, as a reader without CSS or JavaScript would see it."""
    source = page.read_text(encoding="utf-8")
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def _index_rows(index: Path) -> dict[str, dict[str, Any]]:
    """Suite name -> link, table, status and counts, read from the index's table rows."""
    rows = {}
    for row in re.findall(r"<tr class=[^>]*>(.*?)</tr>", index.read_text(), flags=re.DOTALL):
        link, suite = re.search(r'<a href="([^"]+)">([^<]+)</a>', row).groups()
        cells = [html.unescape(cell) for cell in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
        table, status, evaluated, passed, failed_errors, failed_warnings = cells
        rows[html.unescape(suite)] = {
            "link": link,
            "table": table,
            "status": status,
            "counts": (int(evaluated), int(passed), int(failed_errors), int(failed_warnings)),
        }
    return rows


@pytest.fixture
def raw_results(tmp_path: Path) -> list[dict[str, Any]]:
    """GX results of a clean and a dirty orders table, as `validate_frame` collects them."""
    buffer: list[dict[str, Any]] = []
    validate_frame(CLEAN, _suite(tmp_path, "clean_orders"), raw_results=buffer)
    validate_frame(DIRTY, _suite(tmp_path, "dirty_orders"), raw_results=buffer)
    return buffer


def test_raw_results_are_json_and_leave_the_outcomes_unchanged(tmp_path: Path) -> None:
    suite = _suite(tmp_path, "dirty_orders")
    buffer: list[dict[str, Any]] = []

    with_raw = validate_frame(DIRTY, suite, raw_results=buffer)

    assert with_raw == validate_frame(DIRTY, suite)
    assert len(buffer) == 1
    raw = buffer[0]
    assert json.loads(json.dumps(raw, allow_nan=False)) == raw
    assert raw["suite_name"] == "dirty_orders"
    assert raw["meta"]["expectation_suite_name"] == "dirty_orders"
    assert raw["meta"]["table"] == "marts.dirty_orders"
    assert raw["meta"]["batch_spec"]["data_asset_name"] == "marts.dirty_orders"
    assert raw["success"] is False
    assert len(raw["results"]) == len(_EXPECTATIONS)


def test_docs_list_both_suites_and_show_what_failed(
    tmp_path: Path, raw_results: list[dict[str, Any]]
) -> None:
    out_dir = tmp_path / "reports" / "2024-03-01" / "quality"
    # Through JSON and back, as if the results had been stored between validating and rendering.
    stored = json.loads(json.dumps(raw_results))

    started = time.perf_counter()
    index = render_data_docs(stored, out_dir, TITLE)
    seconds = time.perf_counter() - started

    assert index == out_dir / "index.html"
    assert seconds < 2
    rows = _index_rows(index)
    assert list(rows) == ["clean_orders", "dirty_orders"]
    assert rows["clean_orders"]["status"] == "passed"
    assert rows["clean_orders"]["counts"] == (5, 5, 0, 0)
    assert rows["dirty_orders"]["status"] == "failed"
    assert rows["dirty_orders"]["counts"] == (5, 4, 1, 0)
    assert rows["dirty_orders"]["table"] == "marts.dirty_orders"
    assert TITLE in _text(index)

    clean_page = out_dir / rows["clean_orders"]["link"]
    dirty_page = out_dir / rows["dirty_orders"]["link"]
    assert clean_page.is_file() and dirty_page.is_file()
    assert "Status: Succeeded" in _text(clean_page)
    dirty = _text(dirty_page)
    assert "Status: Failed" in dirty
    assert "Data asset: marts.dirty_orders" in dirty
    assert TITLE in dirty  # the run name GX shows
    # The failed check, with its column and the offending value, readable without any CDN.
    assert "expect_column_values_to_be_between" in dirty
    assert re.search(r"\bamount\b", dirty)
    assert "1 unexpected values found" in dirty
    assert "250.0" in dirty
    # Each page links home to our index, not to GX's deeper site layout.
    source = dirty_page.read_text(encoding="utf-8")
    assert 'href="../index.html"' in source
    assert "expectations/dirty_orders.html" not in source
    assert "\\2714" in source  # the offline glyphs for GX's status icons are inlined


def test_rendering_again_replaces_the_previous_docs(
    tmp_path: Path, raw_results: list[dict[str, Any]]
) -> None:
    out_dir = tmp_path / "quality"
    render_data_docs(raw_results, out_dir, TITLE)

    index = render_data_docs(raw_results[1:], out_dir, "second run")

    assert list(_index_rows(index)) == ["dirty_orders"]
    assert sorted(path.name for path in (out_dir / "validations").iterdir()) == [
        "dirty_orders.html"
    ]
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == ["quality"]


def test_the_same_suite_twice_gets_two_pages(
    tmp_path: Path, raw_results: list[dict[str, Any]]
) -> None:
    index = render_data_docs([raw_results[1], raw_results[1]], tmp_path / "quality", TITLE)

    links = re.findall(r'<a href="([^"]+)">dirty_orders</a>', index.read_text())
    assert links == ["validations/dirty_orders.html", "validations/dirty_orders-2.html"]
    assert all((tmp_path / "quality" / link).is_file() for link in links)


def test_a_result_gx_cannot_load_still_gets_a_page_and_a_row(
    tmp_path: Path, raw_results: list[dict[str, Any]]
) -> None:
    unreadable = {**raw_results[1], "not_a_gx_field": 1}

    index = render_data_docs([raw_results[0], unreadable], tmp_path / "quality", TITLE)

    rows = _index_rows(index)
    assert rows["clean_orders"]["status"] == "passed"
    assert rows["dirty_orders"]["status"] == "failed"
    assert "GX could not render it" in index.read_text()
    page = _text(tmp_path / "quality" / rows["dirty_orders"]["link"])
    assert "could not render" in page and "250.0" in page


def test_a_dict_without_results_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"results\[0\]"):
        render_data_docs([{"suite_name": "x"}], tmp_path / "quality", TITLE)

    assert list(tmp_path.iterdir()) == []


def test_values_from_the_data_are_escaped_on_the_quality_pages(tmp_path: Path) -> None:
    hostile = {
        "product_title": '<img src=x onerror=alert("product")>',
        "campaign_name": "<script>alert('campaign')</script>",
        "survey_comment": '"><svg onload=alert(1)>',
        "email": "<b>x</b>@example.com",
    }
    frame = pl.DataFrame({column: ["fine", value] for column, value in hostile.items()})
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"name": "hostile", "meta": {"table": "marts.hostile"},
                                "expectations": [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": column, "value_set": ["fine"]}} for column in hostile]}))
    buffer: list[dict[str, Any]] = []
    validate_frame(frame, load_suite(path), raw_results=buffer)
    index = render_data_docs(buffer, tmp_path / "quality", TITLE)
    page = (tmp_path / "quality" / _index_rows(index)["hostile"]["link"]).read_text()
    for value in hostile.values():
        assert value not in page  # never as markup
    for marker in ("<img src=x", "<script>alert", "<svg onload", "<b>x</b>"):
        assert marker not in page
    visible = _text(tmp_path / "quality" / _index_rows(index)["hostile"]["link"])
    assert "onerror=alert" in visible and "alert('campaign')" in visible  # shown, as text


def test_the_docs_reach_nothing_off_the_machine_and_ship_their_stylesheet(
    tmp_path: Path, raw_results: list[dict[str, Any]]
) -> None:
    out_dir = tmp_path / "quality"
    index = render_data_docs(raw_results, out_dir, TITLE)
    vendored = Path(docs.__file__).parent / "static"
    shipped = {"bootstrap-4.3.1.min.css", "bootstrap-4.3.1.min.js", "bootstrap-LICENSE",
               "jquery-3.7.1.min.js", "jquery-LICENSE"}
    assert {f.name for f in (out_dir / "static").iterdir()} == shipped
    for name in shipped:
        assert (out_dir / "static" / name).read_bytes() == (vendored / name).read_bytes()
    # The npm packages' files as published (pipelines/quality/static/README.md).
    for name, sha256 in (
        ("bootstrap-4.3.1.min.css",
         "60b19e5da6a9234ff9220668a5ec1125c157a268513256188ee80f2d2c8d8d36"),
        ("jquery-3.7.1.min.js", "fc9a93dd241f6b045cbff0481cf4e1901becd0e12fb45166a8f17f95823f0b1a"),
        ("bootstrap-4.3.1.min.js",
         "0a34a87842c539c1f4feec56bba982fd596b73500046a6e6fe38a22260c6577b"),
    ):
        assert hashlib.sha256((vendored / name).read_bytes()).hexdigest() == sha256
    for licence in ("bootstrap-LICENSE", "jquery-LICENSE"):
        assert "Permission is hereby granted" in (out_dir / "static" / licence).read_text()
    pages = [index, *sorted((out_dir / "validations").glob("*.html"))]
    assert len(pages) == 3
    for page in pages:
        source = page.read_text(encoding="utf-8")
        # No tag of GX's CDN list is left, nor anything else the page would fetch from off
        # the machine (links a reader may click, such as GX's newsletter, stay).
        remote = r"""<(?:link|script|img)\b[^>]*\b(?:href|src)=["'](?:https?:)?//"""
        assert not re.search(remote, source), page
        assert "favicon" not in source
        assert "amazonaws" not in source  # GX's logo (an <img>, a dark-mode background)
        href = "static/" if page == index else "../static/"
        assert f'<link rel="stylesheet" href="{href}bootstrap-4.3.1.min.css">' in source
        if page != index:  # GX's controls need jQuery and Bootstrap's script; the index none
            assert f'<script src="{href}jquery-3.7.1.min.js"></script>' in source
            assert f'<script src="{href}bootstrap-4.3.1.min.js"></script>' in source


def test_gx_still_links_the_bootstrap_and_jquery_we_ship() -> None:
    """GX's templates ask for the versions vendored here; an upgrade that moves one fails
    here: vendor the new one (pipelines/quality/static/README.md)."""
    from great_expectations.render.view import view

    templates = Path(view.__file__).parent / "templates"
    assert (f"bootstrap/{docs.BOOTSTRAP_VERSION}/css/bootstrap.min.css"
            in (templates / "page.j2").read_text())
    scripts = (templates / "js_script_imports.j2").read_text()
    assert f"code.jquery.com/jquery-{docs.JQUERY_VERSION}.min.js" in scripts
    assert f"bootstrap/{docs.BOOTSTRAP_VERSION}/js/bootstrap.min.js" in scripts


def test_a_page_whose_bootstrap_link_moved_stays_offline_and_says_so(caplog) -> None:
    page = ('<head><link rel="stylesheet" href="https://cdn.example/bootstrap/9.9/x.css"/>'
            '<script src="https://code.jquery.com/jquery.js"></script></head>')
    assert docs._offline(page, "../static") == "<head></head>"
    assert "no longer links bootstrap at 4.3.1" in caplog.text
    assert "no longer links jquery at 3.7.1" in caplog.text
