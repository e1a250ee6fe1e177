"""Build `reports/<date>/index.html` from the published warehouse and the day's exports:
inputs -> sections -> page template -> file, plus the weekly digest."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.report.sections import (
    ReportInputs,
    Section,
    actions,
    build_sections,
    render_part,
)
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

REPORTING_CURRENCY_SQL = "select min(reporting_currency) as currency from marts.fct_orders"


def money_currency(reporting: pl.DataFrame, settings: Settings) -> str:
    """The currency of the report's money: customer figures (spend, expected spend, personas)
    and, when every order converts, revenue are in the reporting currency fct_orders names
    (the setting, else the orders' one currency, else the default)."""
    return (reporting.get_column("currency")[0] if reporting.height else None) or (
        settings.reporting_currency or settings.default_currency)


def _currency(con, settings: Settings) -> str:
    present = con.sql("select count(*) from information_schema.tables where table_schema = "
                      "'marts' and table_name = 'fct_orders'").fetchall()[0][0]
    reporting = con.sql(REPORTING_CURRENCY_SQL).pl() if present else pl.DataFrame()
    return money_currency(reporting, settings)


def published_money_currency(settings: Settings) -> str:
    """`money_currency` of the published warehouse."""
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        return _currency(con, settings)
    finally:
        con.close()


def read_manifest(settings: Settings, logical_date: date) -> dict:
    """The day's export manifest ({} when the export step wrote none)."""
    path = settings.exports_dir / logical_date.isoformat() / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def render_page(inputs: ReportInputs, sections: list[Section], missing: list[str]) -> str:
    """The whole page: header, nav, this week's actions, then the sections in order."""
    return render_part("page.html.j2", date=inputs.logical_date.isoformat(),
                       run_id=inputs.run_id, currency=inputs.currency, sections=sections,
                       actions=actions(sections), missing=missing)


def build_report(settings: Settings, logical_date: date, run_id: str) -> Path:
    """Write the day's report (and digest) and return the report's path."""
    from pipelines.report.digest import write_digest

    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        inputs = ReportInputs(settings=settings, logical_date=logical_date, run_id=run_id,
                              currency=_currency(con, settings), con=con,
                              manifest=read_manifest(settings, logical_date))
        sections, missing = build_sections(inputs)
        page = render_page(inputs, sections, missing)
    finally:
        con.close()
    out = settings.reports_dir / logical_date.isoformat() / "index.html"
    _write(out, page)
    write_digest(out.parent, logical_date, sections)
    log.info("report written to %s", out)
    return out


def _write(path: Path, text: str) -> None:
    """Write `text` whole or not at all (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
