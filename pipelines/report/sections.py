"""The report's extension point: a section is one module with one function `(inputs) ->
Section | None` and its own small template under `pipelines/report/templates/`; adding one is
one module, one template and one line in SECTIONS. Sections only select and format (the SQL
for aggregates is in dbt, `reports.rpt_*`), read only their own tables, and render through
`render_part`, whose autoescape is always on: the only values never escaped are charts from
`pipelines/report/svg.py`, through the `svg` filter."""

from __future__ import annotations

import importlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from pipelines.config import Settings

TEMPLATES = Path(__file__).parent / "templates"

# "module:function", each function (inputs) -> Section | None. A module may name its section
# for the "not covered" list with TITLE (else its key is shown). Keep one line per section,
# in page order (the page sorts by Section.order anyway).
SECTIONS: tuple[str, ...] = (
    "pipelines.report.overview:section",
    "pipelines.report.sales:section",
    "pipelines.report.customers:section",
    "pipelines.report.winback:section",
    "pipelines.report.personas:section",
    "pipelines.report.social:section",
    "pipelines.report.emails:section",
    "pipelines.report.personalisation:section",
    "pipelines.report.ads:section",
    "pipelines.report.experiments:section",
    "pipelines.report.forecast:section",
    "pipelines.report.models:section",
    "pipelines.report.data_health:section",
    "pipelines.report.coverage:section",
    "pipelines.report.exports:section",
)

KEY = re.compile(r"[a-z-]+")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Action:
    """One thing to do this week, shown first on the page and in the digest."""

    text: str  # a plain sentence: "Win back 40 high-value customers at risk"
    link: str | None = None  # relative to the report file, or "#<section key>"
    rank: int = 50  # lower first; money at stake ranks first

    def __post_init__(self) -> None:
        # A relative path or an anchor: the page links nothing outside its own folders.
        if self.link is not None and (SCHEME.match(self.link) or self.link.startswith("//")):
            raise ValueError(f"action link {self.link!r} is not relative to the report file")


@dataclass(frozen=True)
class Section:
    key: str  # html id and nav anchor, [a-z-]+
    title: str
    order: int  # place on the page
    html: Markup  # the body, from render_part(); never hand-concatenated data
    actions: tuple[Action, ...] = ()
    digest: tuple[str, ...] = ()  # headline sentences for the weekly digest

    def __post_init__(self) -> None:
        if not KEY.fullmatch(self.key):
            raise ValueError(f"section key {self.key!r} is not [a-z-]+")
        if not isinstance(self.html, Markup):
            raise TypeError(f"section {self.key!r}: html must come from render_part()")


# The money filter's currency: that of the inputs built last in this context (build_report
# builds one ReportInputs per report, a test one per case).
_currency: ContextVar[str | None] = ContextVar("report_currency", default=None)


@dataclass
class ReportInputs:
    """What every section builder gets; built once per report."""

    settings: Settings
    logical_date: date
    run_id: str
    currency: str | None  # the report's money currency (html.money_currency)
    con: duckdb.DuckDBPyConnection  # read-only, the PUBLISHED file, open for the whole build
    manifest: dict  # the day's export manifest.json ({} when none)
    _tables: set[str] | None = field(default=None, repr=False)
    _frames: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        _currency.set(self.currency)

    def has(self, name: str) -> bool:
        """Whether the publication holds `schema.table`."""
        if self._tables is None:
            rows = self.con.sql("select table_schema || '.' || table_name "
                                "from information_schema.tables").fetchall()
            self._tables = {r[0] for r in rows}
        return name in self._tables

    def table(self, name: str) -> pl.DataFrame | None:
        """All rows of `schema.table` ("reports.rpt_x"), None when the publication lacks it."""
        if not self.has(name):
            return None
        if name not in self._frames:
            # The name is one the publication holds, so quoting it as an identifier is safe.
            schema, table = name.split(".", 1)
            self._frames[name] = self.con.sql(f'select * from "{schema}"."{table}"').pl()
        return self._frames[name]


def money(value: float | None, currency: str | None, decimals: int = 0) -> str:
    """An amount with its ISO currency code ("GBP 1,234"), never a symbol that could name
    another currency; `currency` None means the orders hold several, which the figure says."""
    if value is None:
        return "n/a"
    amount = f"{float(value):,.{decimals}f}"
    return f"{currency} {amount}" if currency else f"{amount} (mixed currencies)"


def number(value: float | None, decimals: int = 0) -> str:
    """A count or figure with thousands separators; "n/a" when unknown."""
    return "n/a" if value is None else f"{float(value):,.{decimals}f}"


def pct(value: float | None, decimals: int = 0) -> str:
    """A share (0.42) as a percentage ("42%"); "n/a" when unknown."""
    return "n/a" if value is None else f"{float(value):.{decimals}%}"


def _svg(chart) -> Markup:
    """Marks a chart drawn by pipelines/report/svg.py as safe, and nothing else."""
    from pipelines.report.svg import Chart

    if not isinstance(chart, Chart):
        raise TypeError(f"the svg filter takes a Chart from pipelines.report.svg, "
                        f"not {type(chart).__name__}")
    return Markup(str(chart))


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = lambda value, decimals=0: money(value, _currency.get(), decimals)
    env.filters["number"] = number
    env.filters["pct"] = pct
    env.filters["svg"] = _svg
    return env


_ENV = _environment()


def render_part(template: str, **context) -> Markup:
    """`templates/<template>` rendered with `context`, every value escaped."""
    return Markup(_ENV.get_template(template).render(**context))


def builder(name: str):
    """The function SECTIONS names "module:function"."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def not_covered_title(name: str) -> str:
    """What the page calls a section that had nothing to show."""
    module = importlib.import_module(name.partition(":")[0])
    return getattr(module, "TITLE", module.__name__.rsplit(".", 1)[-1].replace("_", " "))


def build_sections(inputs: ReportInputs, names: tuple[str, ...] = SECTIONS
                   ) -> tuple[list[Section], list[str]]:
    """Every section, in page order, and the titles of those with nothing to show. A builder
    that raises is a bug, and the report step fails with it."""
    built, missing = [], []
    for name in names:
        section = builder(name)(inputs)
        if section is None:
            missing.append(not_covered_title(name))
        else:
            built.append(section)
    keys = [s.key for s in built]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two sections share a key: {sorted(keys)}")
    return sorted(built, key=lambda s: (s.order, s.key)), missing


def actions(sections: list[Section]) -> list[Action]:
    """All sections' actions, lowest rank first (page order breaks ties)."""
    return [a for _, _, a in sorted(
        ((a.rank, i, a) for i, s in enumerate(sections) for a in s.actions),
        key=lambda t: (t[0], t[1]))]
