"""The harness itself: a clean page passes, and each thing it must catch is caught (so the
report's and the quality pages' tests can fail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import harness

pytestmark = pytest.mark.browser

CLEAN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>clean</title>
<style>h1 { color: rgb(0, 128, 0); }</style></head>
<body><h1>Hello</h1><p>No scripts, no requests.</p></body></html>"""


def page(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def test_a_clean_page_has_no_problems_a_render_time_and_a_screenshot(browser, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("MARKETING_TEST_ARTIFACTS", str(tmp_path / "artefacts"))
    visit = browser.visit(page(tmp_path, "clean.html", CLEAN), name="harness-clean")
    assert visit.problems() == []
    assert visit.requests == [visit.url]  # the page's own file, nothing else
    assert 0 < visit.load_ms < 60_000 and visit.first_paint_ms is not None
    assert visit.render_ms == max(visit.load_ms, visit.first_paint_ms)
    assert visit.screenshot == tmp_path / "artefacts" / "harness-clean.png"
    assert visit.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.evaluate("getComputedStyle(document.querySelector('h1')).color") == \
        "rgb(0, 128, 0)"


def test_console_errors_page_errors_and_dialogs_are_caught(browser, tmp_path):
    visit = browser.visit(page(tmp_path, "noisy.html", """<!DOCTYPE html><html><body><p>x</p>
<script>console.error("from console"); console.log("not an error"); alert("hi");</script>
<script>throw new Error("uncaught");</script></body></html>"""), screenshot=False)
    assert visit.console_errors == ["from console"]
    assert visit.page_errors == ["Error: uncaught"]
    assert visit.dialogs == ["alert: hi"]
    assert len(visit.problems()) == 3


def test_requests_off_the_page_are_caught_and_never_reach_the_network(browser, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "elsewhere.css").write_text("p { color: red }")
    (tmp_path / "site" / "own.css").write_text("p { color: blue }")
    path = page(tmp_path / "site", "leaky.html", """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="https://cdn.example.invalid/bootstrap.css">
<link rel="stylesheet" href="../elsewhere.css"><link rel="stylesheet" href="own.css"></head>
<body><img src="http://example.invalid/pixel.png" alt=""><p>text</p></body></html>""")
    visit = browser.visit(path, screenshot=False)
    # own.css is off the page's own file too, unless its folder is allowed.
    assert sorted(visit.foreign_requests) == [
        (tmp_path / "elsewhere.css").as_uri(),
        (tmp_path / "site" / "own.css").as_uri(),
        "http://example.invalid/pixel.png",
        "https://cdn.example.invalid/bootstrap.css",
    ]
    allowed = browser.visit(path, allow=(tmp_path / "site",), screenshot=False)
    assert (tmp_path / "site" / "own.css").as_uri() not in allowed.foreign_requests
    assert len(allowed.foreign_requests) == 3


def test_render_times_refuse_a_page_with_problems(browser, tmp_path):
    clean = page(tmp_path, "clean.html", CLEAN)
    times = browser.render_times(clean, loads=3)
    assert len(times) == 3 and all(t > 0 for t in times)
    noisy = page(tmp_path, "noisy.html", "<p>x</p><script>console.error('x')</script>")
    with pytest.raises(AssertionError, match="console error: x"):
        browser.render_times(noisy, loads=1)


def test_a_missing_chromium_is_named_with_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        harness.chromium_executable()
