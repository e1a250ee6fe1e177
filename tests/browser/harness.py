"""Open a page from disk in headless Chromium and record what a careful reader's browser saw.

Playwright's sync API drives Debian's Chromium (`$CHROMIUM`, default /usr/bin/chromium), not a
browser Playwright downloads: the one a user's machine or CI installs with apt. Each `chromium()`
starts it with a fresh profile and the background services that would reach the network off.

`Browser.visit(path)` opens one file and returns a `Visit`: console messages of type error,
uncaught page errors, dialogs (an `alert()` injected through data would open one), every request
the page made (anything outside the allowed files fails `foreign_requests`), the render time
(navigation start to the load event, and the first contentful paint) and a full-page screenshot
under `$MARKETING_TEST_ARTIFACTS` (default build/test-artifacts/, git-ignored). Requests off the
machine are recorded, then aborted: the page is seen as it renders offline.

Also used by `bench/report.py` for the report's render time.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1400, "height": 1000}
# Any scheme that leaves the machine; file:// requests are checked against the allowed files.
_NETWORK = re.compile(r"^(?:https?|wss?|ftp)://", re.IGNORECASE)
# Navigation start is 0 in the Navigation Timing entry. The first contentful paint can be
# recorded after the load event (on a busy machine, a frame later), so it is awaited with a
# buffered observer; a page that paints no content gives none after 5 s.
_TIMING_JS = """
() => new Promise(resolve => {
  const fcp = entries => entries.find(p => p.name === 'first-contentful-paint');
  const done = paint => {
    const poll = () => {
      const nav = performance.getEntriesByType('navigation')[0];
      if (nav && nav.loadEventEnd > 0) resolve({load: nav.loadEventEnd, paint});
      else setTimeout(poll, 10);
    };
    poll();
  };
  new PerformanceObserver((list, observer) => {
    const entry = fcp(list.getEntries());
    if (entry) { observer.disconnect(); done(entry.startTime); }
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => done(null), 5000);
})
"""


def chromium_executable() -> str:
    """The Chromium the tests drive, from `$CHROMIUM`; an error saying how to get one."""
    path = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"no Chromium at {path}: run 'make test' (it installs Debian's chromium), "
            "'sudo apt-get install chromium', or set CHROMIUM=/path/to/chromium"
        )
    return path


def artifacts_dir() -> Path:
    """Where screenshots go: `$MARKETING_TEST_ARTIFACTS`, default build/test-artifacts/."""
    folder = Path(os.environ.get("MARKETING_TEST_ARTIFACTS") or REPO_ROOT / "build" /
                  "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Visit:
    """What one page load did."""

    url: str
    allowed: tuple[Path, ...]
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    load_ms: float | None = None
    first_paint_ms: float | None = None
    screenshot: Path | None = None

    @property
    def render_ms(self) -> float:
        """Navigation start until the page has loaded and shown its first content."""
        times = [t for t in (self.load_ms, self.first_paint_ms) if t is not None]
        if not times:
            raise ValueError(f"{self.url}: the browser recorded no load or paint time")
        return max(times)

    @property
    def foreign_requests(self) -> list[str]:
        """Every request other than the allowed local files: the network, data URLs, files
        elsewhere on the disk."""
        return [url for url in self.requests if not self._allowed(url)]

    def _allowed(self, url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            return False
        path = Path(unquote(parsed.path)).resolve()
        return any(path == root or root in path.parents for root in self.allowed)

    def problems(self) -> list[str]:
        """One line per thing wrong with the load; empty when the page is clean."""
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"dialog: {m}" for m in self.dialogs]
            + [f"request off the page's own files: {u}" for u in self.foreign_requests]
        )


class Browser:
    """A headless Chromium with a fresh profile; `visit` opens pages in it one by one."""

    def __init__(self, context) -> None:
        self._context = context
        self._page = None

    def visit(self, path: Path, name: str | None = None, allow: tuple[Path, ...] = (),
              screenshot: bool = True, color_scheme: str = "light") -> Visit:
        """Open `path` in a new tab and return what happened. Requests may reach `path`
        itself and the files or folders in `allow`. The screenshot is saved as `<name>.png`
        (default: the file's stem) in `artifacts_dir()` unless `screenshot` is False.
        `color_scheme` ("light" or "dark") is the reader's system setting the page sees. The
        tab stays open for `evaluate` until the next visit."""
        path = Path(path).resolve()
        visit = Visit(url=path.as_uri(), allowed=(path, *(Path(p).resolve() for p in allow)))
        if self._page is not None:
            self._page.close()
        page = self._page = self._context.new_page()
        page.emulate_media(color_scheme=color_scheme)
        page.on("console", lambda m: visit.console_errors.append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: visit.page_errors.append(f"{e.name}: {e.message}"))
        page.on("request", lambda r: visit.requests.append(r.url))

        def dialog(d) -> None:
            visit.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(visit.url, wait_until="load")
        timing = page.evaluate(_TIMING_JS)
        visit.load_ms, visit.first_paint_ms = timing["load"], timing["paint"]
        if screenshot:
            visit.screenshot = artifacts_dir() / f"{name or path.stem}.png"
            page.screenshot(path=str(visit.screenshot), full_page=True)
        return visit

    def evaluate(self, script: str, arg=None):
        """Run `script` in the page visited last."""
        if self._page is None:
            raise RuntimeError("no page visited yet")
        return self._page.evaluate(script, arg)

    def click(self, selector: str) -> None:
        """Click what `selector` (a Playwright selector) finds in the page visited last."""
        self._page.click(selector)

    def wait_for(self, predicate: str, timeout_ms: float = 10_000) -> None:
        """Wait until the JavaScript function `predicate` returns true in the page."""
        self._page.wait_for_function(predicate, timeout=timeout_ms)

    def render_times(self, path: Path, loads: int = 5,
                     allow: tuple[Path, ...] = ()) -> list[float]:
        """Render times (ms) of `loads` fresh loads of `path`, each in a new tab; a load with
        a problem (console error, request off the page and `allow`) fails rather than counts."""
        times = []
        for _ in range(loads):
            visit = self.visit(path, allow=allow, screenshot=False)
            if visit.problems():
                raise AssertionError(f"{path}: " + "; ".join(visit.problems()))
            times.append(visit.render_ms)
        return times


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start headless Chromium with a fresh user-data dir; requests off the machine are
    recorded by each visit and then aborted."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,
        )
        try:
            context.route(_NETWORK, lambda route: route.abort())
            yield Browser(context)
        finally:
            context.close()

