"""Great Expectations data docs for an audit: a GX-rendered page per validated suite, an index.

The input is what `validate_frame(..., raw_results=...)` collects: GX's own suite validation
results as JSON dicts. Each is rebuilt into GX's `ExpectationSuiteValidationResult` and rendered
by GX itself (`ValidationResultsPageRenderer` -> `DefaultJinjaPageView`), so the pages look and
read like the data docs GX builds for its own sites. The index is a small page of our own: GX's
index renderer draws its table in JavaScript from a CDN, which would leave it blank offline.

Layout of the output directory::

    index.html                  one row per suite: status, pass/fail counts, link to its page
    validations/<suite>.html    GX's validation results page for that suite
    static/                     Bootstrap's stylesheet and script and jQuery, with their
                                licences, copied from pipelines/quality/static/

The docs read offline (opened from a disk or an e-mail attachment, behind a firewall): GX's
pages load Bootstrap, jQuery, Font Awesome, Vega and a logo from the internet, so every tag that
reaches off the machine is taken out, and Bootstrap's stylesheet and script and jQuery, at the
versions GX's templates ask for, are linked from `static/` instead (vendored byte for byte from
the npm registry's `bootstrap` and `jquery` packages: pipelines/quality/static/README.md). The
scripts are there because a results page's controls need them (GX's "Failed only" filter calls
jQuery, "Show more info..." is a Bootstrap collapse); the other scripts draw widgets these
pages do not show (site index tables, Vega charts, tooltips). The one
thing GX shows only through a font, each expectation's pass/fail icon, gets a text glyph from
an inlined stylesheet (`_OFFLINE_CSS`).
"""

from __future__ import annotations

import copy
import html
import json
import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.quality._gx import import_gx

logger = logging.getLogger(__name__)

INDEX_NAME = "index.html"
PAGES_DIR = "validations"
STATIC_DIR = "static"
# The Bootstrap and jQuery GX's page templates link (great_expectations/render/view/templates/
# page.j2, js_script_imports.j2); a GX upgrade that moves either fails
# tests/unit/test_quality_docs.py until the new one is vendored.
BOOTSTRAP_VERSION = "4.3.1"
JQUERY_VERSION = "3.7.1"
BOOTSTRAP_CSS = f"bootstrap-{BOOTSTRAP_VERSION}.min.css"
JQUERY_JS = f"jquery-{JQUERY_VERSION}.min.js"
BOOTSTRAP_JS = f"bootstrap-{BOOTSTRAP_VERSION}.min.js"
_VENDORED = Path(__file__).parent / "static"
_VENDORED_FILES = (BOOTSTRAP_CSS, BOOTSTRAP_JS, "bootstrap-LICENSE", JQUERY_JS, "jquery-LICENSE")
# Tags that make the browser fetch something off this machine: the CDN styles and scripts GX's
# templates write, and its navbar logo, fetched from S3 with a timestamp in the address. GX's
# favicon link is relative but points into a site layout these docs do not have.
_REMOTE_TAG = re.compile(
    r"""<link\b[^>]*\bhref=["'](?:https?:)?//[^"']*["'][^>]*>"""
    r"""|<script\b[^>]*\bsrc=["'](?:https?:)?//[^"']*["'][^>]*>\s*</script>"""
    r"""|<img\b[^>]*\bsrc=["'](?:https?:)?//[^"']*["'][^>]*>"""
    r"""|<link\b[^>]*\brel=["']shortcut icon["'][^>]*>""",
    re.IGNORECASE,
)
# GX's inlined styles draw its logo in dark mode from S3 as a CSS background.
_REMOTE_CSS_URL = re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]*\)""", re.IGNORECASE)
_ALT = re.compile(r"""\balt=["']([^"']*)["']""", re.IGNORECASE)
_GX_BOOTSTRAP_HREF = f"bootstrap/{BOOTSTRAP_VERSION}/css/bootstrap.min.css"
_GX_JQUERY_SRC = f"code.jquery.com/jquery-{JQUERY_VERSION}.min.js"
_GX_BOOTSTRAP_SRC = f"bootstrap/{BOOTSTRAP_VERSION}/js/bootstrap.min.js"

# Our severity lives in each expectation's meta (see pipelines.quality.suites); anything other
# than "warning" blocks publishing, so it counts as an error here too.
_WARNING = "warning"
_ERROR = "error"
# GX's section name for expectations without a column, and the columns of its results tables.
_TABLE_LEVEL = "Table-Level Expectations"
_GX_RESULT_COLUMNS = ["Status", "Expectation", "Observed Value"]
# The file name GX's page template inlines into a <style> tag when it is found in the view's
# `custom_styles_directory` (GX's documented hook for custom data docs styles).
_CUSTOM_STYLES_FILE = "data_docs_custom_styles.css"
# GX marks each expectation's status only with an empty Font Awesome <i> icon. Font Awesome is
# not shipped (a font for three icons), so the status column would be blank: give the icons a
# text glyph.
_OFFLINE_CSS = """
.fa-check-circle::before { content: "\\2714"; color: #28a745; }
.fa-times::before { content: "\\2718"; color: #dc3545; }
.fa-exclamation-triangle::before { content: "\\26A0"; color: #c69500; }
"""
_INDEX_CSS = """
td.count { text-align: right; }
.status-passed { color: #1e7e34; font-weight: bold; }
.status-warnings { color: #a07800; font-weight: bold; }
.status-failed { color: #c82333; font-weight: bold; }
"""


@dataclass(frozen=True)
class _Entry:
    """One index row: a suite's counts and where its page is."""

    suite: str
    table: str
    evaluated: int
    failed_errors: int
    failed_warnings: int
    page: str
    rendered_by_gx: bool

    @property
    def status(self) -> str:
        """One of: failed (an error-severity failure), passed with warnings, passed."""
        if self.failed_errors:
            return "failed"
        if self.failed_warnings:
            return "passed with warnings"
        return "passed"

    @property
    def passed(self) -> int:
        """How many expectations passed."""
        return self.evaluated - self.failed_errors - self.failed_warnings


def render_data_docs(results: Sequence[Mapping[str, Any]], out_dir: Path, title: str) -> Path:
    """Write data docs for `results` to `out_dir` and return the path of its `index.html`.

    `results` are the dicts collected by `validate_frame(..., raw_results=...)` (any
    `ExpectationSuiteValidationResult.to_json_dict()` output works), in the order the index
    should list them. `title` heads the index and stands as the run name on each page.

    The docs are built in a temporary sibling directory and then moved into place, replacing
    an existing `out_dir` as a whole, so a reader never sees a half-written set and pages of
    suites from an earlier run do not linger. A result GX cannot render still gets a page (its
    raw JSON) and its row in the index, so one odd result never costs the docs of the others.

    Raises:
        ValueError: an item of `results` is not a suite validation result dict (no `results`
            list), before anything is written.
    """
    import_gx()
    from great_expectations.core.expectation_validation_result import (
        expectationSuiteValidationResultSchema,
    )
    from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer
    from great_expectations.render.view.view import DefaultJinjaPageView

    for position, raw in enumerate(results):
        # Without its results list nothing about a suite can be counted, not even whether it
        # passed; that is a caller's bug, so it fails here rather than as a "passed" row.
        if not isinstance(raw, Mapping) or not isinstance(raw.get("results"), list):
            raise ValueError(
                f"results[{position}] is not a GX suite validation result (no 'results' list)"
            )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of out_dir, so the final rename stays on one filesystem. Made with mkdir rather
    # than mkdtemp, whose 0700 mode would end up on the published directory.
    staging = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex}")
    staging.mkdir()
    try:
        (staging / PAGES_DIR).mkdir()
        (staging / STATIC_DIR).mkdir()
        for name in _VENDORED_FILES:
            shutil.copyfile(_VENDORED / name, staging / STATIC_DIR / name)
        entries: list[_Entry] = []
        used_names: set[str] = set()
        with tempfile.TemporaryDirectory() as styles_dir:
            (Path(styles_dir) / _CUSTOM_STYLES_FILE).write_text(_OFFLINE_CSS, encoding="utf-8")
            view = DefaultJinjaPageView(custom_styles_directory=styles_dir)
            renderer = ValidationResultsPageRenderer()
            for position, raw in enumerate(results):
                suite, table, evaluated, failed_errors, failed_warnings = _summarise(raw, position)
                page = f"{PAGES_DIR}/{_page_name(suite, used_names)}"
                try:
                    loaded = expectationSuiteValidationResultSchema.load(_with_run_id(raw, title))
                    document = renderer.render(loaded)
                    _add_type_and_severity_columns(document, loaded)
                    _escape_plain_cells(document)
                    _unlink_suite_name(document)
                    text = _offline(_link_home_to_index(
                        view.render(document, show_how_to_buttons=False), loaded.suite_name
                    ), f"../{STATIC_DIR}")
                    rendered_by_gx = True
                except Exception:
                    # Mirrors GX's own site builder: log, and keep rendering the other suites.
                    logger.exception("GX could not render the result of suite %s", suite)
                    text = _fallback_page(raw, suite, title)
                    rendered_by_gx = False
                (staging / page).write_text(text, encoding="utf-8")
                entries.append(
                    _Entry(
                        suite=suite,
                        table=table,
                        evaluated=evaluated,
                        failed_errors=failed_errors,
                        failed_warnings=failed_warnings,
                        page=page,
                        rendered_by_gx=rendered_by_gx,
                    )
                )
        (staging / INDEX_NAME).write_text(_index_page(entries, title), encoding="utf-8")
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "data docs for %d suites (%d failed) written to %s",
        len(entries),
        sum(entry.status == "failed" for entry in entries),
        out_dir,
    )
    return out_dir / INDEX_NAME


def _summarise(raw: Mapping[str, Any], position: int) -> tuple[str, str, int, int, int]:
    """Suite, table, evaluated, failed errors and failed warnings, read from the dict itself.

    Counted from the results rather than GX's `statistics`, because the split by severity is
    ours, and read defensively so that even a result GX cannot load gets a truthful index row.
    `raw["results"]` is known to be a list (checked by the caller).
    """
    meta = raw.get("meta") if isinstance(raw.get("meta"), Mapping) else {}
    suite = raw.get("suite_name") or meta.get("expectation_suite_name") or f"result {position}"
    batch_spec = meta.get("batch_spec") if isinstance(meta.get("batch_spec"), Mapping) else {}
    table = meta.get("table") or batch_spec.get("data_asset_name") or ""
    results = raw["results"]
    failed_errors = failed_warnings = 0
    for result in results:
        # Fail closed, as validate_frame does: only an explicit True counts as passed.
        if isinstance(result, Mapping) and result.get("success") is True:
            continue
        config = result.get("expectation_config") if isinstance(result, Mapping) else None
        if _severity(config.get("meta") if isinstance(config, Mapping) else None) == _WARNING:
            failed_warnings += 1
        else:
            failed_errors += 1
    return str(suite), str(table), len(results), failed_errors, failed_warnings


def _page_name(suite: str, used: set[str]) -> str:
    """A safe, unique file name for a suite's page.

    Unique because one suite can be validated more than once in a run (the gate validates a
    suite's run-time checks as a second pass under the same name). Compared case-insensitively
    for filesystems that ignore case.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", suite).strip("._-") or "suite"
    name, counter = stem, 2
    while name.lower() in used:
        name, counter = f"{stem}-{counter}", counter + 1
    used.add(name.lower())
    return f"{name}.html"


def _with_run_id(raw: Mapping[str, Any], title: str) -> dict[str, Any]:
    """A copy of `raw` with a run id, which GX's page shows in its title and info table.

    Results from `validate_frame` have none (no checkpoint ran), so the docs' title stands as
    the run name and the validation time as the run time. A copy, because loading hands nested
    dicts to GX objects that its renderer then modifies.
    """
    data = copy.deepcopy(dict(raw))
    meta = dict(data.get("meta") or {})
    if not meta.get("run_id"):
        batch_markers = meta.get("batch_markers") or {}
        run_time = meta.get("validation_time") or batch_markers.get("ge_load_time") or ""
        meta["run_id"] = {"run_name": title, "run_time": run_time}
    data["meta"] = meta
    return data


def _add_type_and_severity_columns(document: Any, loaded: Any) -> None:
    """Append "Expectation type" and "Severity" columns to each results table of a page.

    GX describes each expectation only in prose ("values must be unique"), while the gate's
    messages and the audit table name it by type, and only our severity says whether a failure
    blocks publishing. (GX's own hook for extra columns, `meta_properties_to_render`, fails in
    GX 1.x: the renderer rebuilds each expectation from its kwargs, which rejects the extra key.)

    GX renders one table per column section, one row per result, in result order, with the
    results grouped as below. A table whose shape does not match is left as GX made it.
    """
    from great_expectations.render import RenderedTableContent

    groups: dict[str, list[Any]] = {}
    for result in loaded.results:
        config = result.expectation_config
        column = config.kwargs.get("column", _TABLE_LEVEL) if config is not None else _TABLE_LEVEL
        groups.setdefault(str(column), []).append(config)

    cell = _text_cell
    for section in getattr(document, "sections", None) or []:
        configs = groups.get(str(getattr(section, "section_name", "")))
        for block in getattr(section, "content_blocks", None) or []:
            if (
                configs is None
                or not isinstance(block, RenderedTableContent)
                or list(block.header_row or [])[:3] != _GX_RESULT_COLUMNS
                or len(block.table) != len(configs)
            ):
                continue
            block.header_row = [*block.header_row, "Expectation type", "Severity"]
            block.table = [
                [
                    *row,
                    cell(config.type if config is not None else ""),
                    cell(_severity(config.meta if config is not None else None)),
                ]
                for row, config in zip(block.table, configs, strict=True)
            ]


def _text_cell(text: str) -> Any:
    """A table cell GX escapes: a string template (plain string cells go out raw)."""
    from great_expectations.render import RenderedStringTemplateContent

    return RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={"template": "$value", "params": {"value": text}},
    )


def _escape_plain_cells(node: Any, seen: set[int] | None = None) -> None:
    """Make every plain string cell of every table in a page (nested tables included, such
    as the sample of unexpected values) a cell GX escapes: those cells hold values from the
    data, and GX's page view writes plain strings into the HTML as they are."""
    seen = set() if seen is None else seen
    if node is None or isinstance(node, str | int | float | dict) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, list):
        for item in node:
            _escape_plain_cells(item, seen)
        return
    table = getattr(node, "table", None)
    if isinstance(table, list):
        node.table = [
            [_text_cell(cell) if isinstance(cell, str) else cell for cell in row]
            if isinstance(row, list) else row
            for row in table
        ]
        _escape_plain_cells(node.table, seen)
    for attribute in ("sections", "content_blocks"):
        _escape_plain_cells(getattr(node, attribute, None), seen)


def _severity(meta: object) -> str:
    """Our severity from an expectation's meta; without one, an expectation blocks (error)."""
    severity = meta.get("severity") if isinstance(meta, Mapping) else None
    return severity if severity == _WARNING else _ERROR


def _unlink_suite_name(document: Any) -> None:
    """Show the suite name in a page's header as text rather than as a link.

    GX links it to the suite's own page in a full data docs site, which these docs do not
    have, so the link would be dead.
    """
    for section in getattr(document, "sections", None) or []:
        for block in getattr(section, "content_blocks", None) or []:
            template = getattr(getattr(block, "subheader", None), "string_template", None)
            styling = template.get("styling") if isinstance(template, dict) else None
            params = styling.get("params") if isinstance(styling, dict) else None
            if isinstance(params, dict):
                params.pop("expectation_suite_name", None)


def _link_home_to_index(page: str, suite_name: str) -> str:
    """Point the page's "Home" links at our index.

    GX's template computes them for its own site layout (validations/<suite parts>/<run name>/
    <run time>/<batch>.html); ours is flat, one level below the index.
    """
    gx_home = "../" * (suite_name.count(".") + 4) + INDEX_NAME
    if f'href="{gx_home}"' not in page:
        logger.debug("no GX home link found on the page of suite %s", suite_name)
    return page.replace(f'href="{gx_home}"', f'href="../{INDEX_NAME}"')


def _offline(page: str, static: str) -> str:
    """`page` with every tag and style that reaches off the machine taken out (an image
    leaves its alt text, already HTML as GX wrote it), and Bootstrap's stylesheet and jQuery
    linked from the docs' own folder `static` where GX linked them from CDNs (the same places,
    so GX's inlined styles after Bootstrap still win). jQuery and Bootstrap's script because
    the page's controls use them (the "Failed only" filter, "Show more info..." panels); the
    rest of GX's scripts draw widgets these pages do not have (Popper is for tooltips and
    dropdowns, which they have none of)."""

    def local(match: re.Match[str]) -> str:
        tag = match.group(0)
        if _GX_BOOTSTRAP_HREF in tag:
            return f'<link rel="stylesheet" href="{html.escape(f"{static}/{BOOTSTRAP_CSS}")}">'
        if _GX_JQUERY_SRC in tag:
            return f'<script src="{html.escape(f"{static}/{JQUERY_JS}")}"></script>'
        if _GX_BOOTSTRAP_SRC in tag:
            return f'<script src="{html.escape(f"{static}/{BOOTSTRAP_JS}")}"></script>'
        if tag[:4].lower() == "<img":  # the logo: its alt text in its place
            alt = _ALT.search(tag)
            return f'<span class="h4">{alt.group(1)}</span>' if alt else ""
        return ""

    offline = _REMOTE_CSS_URL.sub("none", _REMOTE_TAG.sub(local, page))
    for name, version in ((BOOTSTRAP_CSS, BOOTSTRAP_VERSION), (JQUERY_JS, JQUERY_VERSION),
                          (BOOTSTRAP_JS, BOOTSTRAP_VERSION)):
        if f"{static}/{name}" not in offline:
            # GX moved its link: still offline, but unstyled or with dead controls; the unit
            # test says to vendor the new version.
            logger.warning("GX's page no longer links %s at %s", name.split("-")[0], version)
    return offline


def _fallback_page(raw: Mapping[str, Any], suite: str, title: str) -> str:
    """A plain page showing the raw result, for a result GX could not render."""
    body = json.dumps(raw, indent=2, sort_keys=True, default=str)
    return (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="UTF-8">'
        f"<title>{html.escape(suite)}</title>\n"
        f'<link rel="stylesheet" href="../{STATIC_DIR}/{BOOTSTRAP_CSS}">\n'
        '</head>\n<body class="container-fluid p-4">\n'
        f'<p><a href="../{INDEX_NAME}">{html.escape(title)}</a></p>\n'
        f"<h1>{html.escape(suite)}</h1>\n"
        "<p>Great Expectations could not render this validation result; "
        "it is shown as recorded.</p>\n"
        f"<pre>{html.escape(body)}</pre>\n</body>\n</html>\n"
    )


def _index_page(entries: Sequence[_Entry], title: str) -> str:
    """The index: a table with one row per suite, linking to its page."""
    failed = sum(entry.status == "failed" for entry in entries)
    warned = sum(entry.status == "passed with warnings" for entry in entries)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = []
    for entry in entries:
        status_class = "status-" + entry.status.split()[-1]
        note = "" if entry.rendered_by_gx else " (raw result: GX could not render it)"
        cells = [
            f'<td><a href="{html.escape(entry.page)}">{html.escape(entry.suite)}</a>'
            f"{html.escape(note)}</td>",
            f"<td>{html.escape(entry.table)}</td>",
            f'<td class="{status_class}">{html.escape(entry.status)}</td>',
            *(
                f'<td class="count">{count}</td>'
                for count in (
                    entry.evaluated,
                    entry.passed,
                    entry.failed_errors,
                    entry.failed_warnings,
                )
            ),
        ]
        rows.append(f'<tr class="{status_class}">' + "".join(cells) + "</tr>")
    if entries:
        table = (
            '<table class="table table-sm table-striped table-hover">\n'
            "<thead><tr><th>Suite</th><th>Table</th><th>Status</th>"
            "<th>Expectations</th><th>Passed</th><th>Failed (error)</th>"
            "<th>Failed (warning)</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows)
            + "\n</tbody>\n</table>"
        )
    else:
        table = "<p>No suites were validated.</p>"
    summary = (
        f"{len(entries)} suites: {len(entries) - failed - warned} passed, "
        f"{warned} passed with warnings, {failed} failed. "
        "An error-severity failure blocks publishing; a warning does not."
    )
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="UTF-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{STATIC_DIR}/{BOOTSTRAP_CSS}">\n'
        f"<style>{_INDEX_CSS}</style>\n</head>\n"
        '<body class="container-fluid p-4">\n'
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(summary)}</p>\n{table}\n"
        f"<p><small>Generated {generated} with Great Expectations data docs.</small></p>\n"
        "</body>\n</html>\n"
    )


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Move the finished `staging` directory to `out_dir`, replacing what is there.

    Two renames, so readers see the old docs or the new ones, never a mix; the old copy is
    deleted only once the new one is in place, and put back if the second rename fails.
    """
    if not (out_dir.exists() or out_dir.is_symlink()):
        staging.rename(out_dir)
        return
    retired = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex}")
    out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except BaseException:
        retired.rename(out_dir)
        raise
    if retired.is_dir() and not retired.is_symlink():
        shutil.rmtree(retired, ignore_errors=True)
    else:
        retired.unlink()
