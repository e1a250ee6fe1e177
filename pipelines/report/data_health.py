"""The data-health section: per export source, how fresh its newest file is, what share of the
last 7 days' rows went to quarantine against its error budget, and whether the tables built
from it passed the quality gate (`reports.rpt_source_health`, and the gate's results of the
run as the publication records them in `meta.runs`). A stale source or one over its budget
is an action."""

from __future__ import annotations

import json
from pathlib import PurePath

import numpy as np
import polars as pl
from matplotlib.ticker import MaxNLocator

from pipelines.report import svg
from pipelines.report.sections import Action, ReportInputs, Section, render_part

TITLE = "Data health"
TABLE = "reports.rpt_source_health"
KEY = "data-health"

SOURCE_NAMES = {
    "shop": "Shopify shop",
    "orders": "orders file",
    "ga4": "Google Analytics 4",
    "meta_ads": "Meta ads",
    "meta_capi": "Meta conversions",
    "mailchimp": "Mailchimp",
    "hubspot": "HubSpot",
    "typeform": "Typeform surveys",
    "social": "Facebook and Instagram",
    "fx": "exchange rates",
    "experiments": "experiment readouts",
}
# A stale or over-budget source ranks after the money actions: it is why figures may be
# wrong, not a way to make money this week.
RANK = 30


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def gate_results(con, run_id: str) -> dict[str, dict]:
    """The quality gate's figures per table (checks, failed_errors, failed_warnings) from the
    publication of `run_id`, or the newest one when this run published nothing new."""
    if not con.sql("select count(*) from information_schema.tables "
                   "where table_schema = 'meta' and table_name = 'runs'").fetchall()[0][0]:
        return {}
    rows = con.execute(
        "select validation from meta.runs order by (run_id = ?) desc, published_at desc "
        "limit 1", [run_id]).fetchall()
    return json.loads(rows[0][0]) if rows else {}


def gate_status(tables: list[str], results: dict[str, dict]) -> str:
    """The quality gate in words for a source's tables."""
    checked = [results[t] for t in tables if t in results]
    if not checked:
        return "no checked tables"
    errors = sum(int(r.get("failed_errors") or 0) for r in checked)
    warnings = sum(int(r.get("failed_warnings") or 0) for r in checked)
    checks = sum(int(r.get("checks") or 0) for r in checked)
    if errors:
        return f"failed ({_plural(errors, 'check')} of {checks:,})"
    tables_word = _plural(len(checked), "table")
    if warnings:
        return f"passed, {_plural(warnings, 'warning')} ({tables_word})"
    return f"passed ({_plural(checks, 'check')}, {tables_word})"


def rows(health: pl.DataFrame, budgets: dict[str, float], results: dict[str, dict]
         ) -> list[dict]:
    out = []
    for r in health.sort("source").iter_rows(named=True):
        share = r["share_quarantined_last_7_days"]
        budget = budgets[r["source"]]
        out.append({
            **r,
            "name": SOURCE_NAMES.get(r["source"], r["source"]),
            "file": PurePath(r["last_file_path"]).name if r["last_file_path"] else None,
            "budget": budget,
            "over_budget": share is not None and share > budget,
            "gate": gate_status(list(r["gate_tables"] or []), results),
        })
    return out


def actions(sources: list[dict]) -> tuple[Action, ...]:
    found = []
    for s in sources:
        if s["is_stale"]:
            if s["last_export_date"] is None:
                text = f"Check the {s['name']} export: no file of it has loaded yet."
            else:
                usual = s["usual_gap_days"]
                every = "daily" if usual <= 1 else f"every {usual:g} days"
                text = (f"Check the {s['name']} export: its newest file is from "
                        f"{s['last_export_date']:%d %b %Y}, {_plural(s['days_stale'], 'day')} "
                        f"old (it usually arrives {every}); figures from it stop there.")
            found.append(Action(text, link=f"#{KEY}", rank=RANK))
        if s["over_budget"]:
            found.append(Action(
                f"Fix the {s['name']} export: {s['share_quarantined_last_7_days']:.1%} of its "
                f"rows in the last 7 days were set aside as bad, over its budget of "
                f"{s['budget']:.0%}.", link=f"#{KEY}", rank=RANK))
    return tuple(found)


def chart(sources: list[dict]) -> svg.Chart:
    """Two panels, one bar per source: days since its newest export (stale ones in the warning
    colour), and the share of the last 7 days' rows quarantined beside its budget."""
    names = [s["name"] for s in sources]
    y = np.arange(len(sources))
    fig, (left, right) = svg.figure(7.0, 0.9 + 0.32 * len(sources), ncols=2)
    days = [s["days_stale"] if s["days_stale"] is not None else 0 for s in sources]
    left.barh(y, days, color=[svg.ACCENT if s["is_stale"] else svg.THIS for s in sources])
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_title("Age of the newest export")
    # A week at least, so a day-old export reads as small, not as a full bar.
    left.set_xlim(0, max(7, *days) * 1.1)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("Days before the report date")
    left.set_ylabel("Source")
    left.grid(axis="x")
    shares = [100 * (s["share_quarantined_last_7_days"] or 0.0) for s in sources]
    right.barh(y, shares, color=[svg.ACCENT if s["over_budget"] else svg.THIS
                                 for s in sources])
    budgets = [100 * s["budget"] for s in sources]
    right.scatter(budgets, y, marker="|", s=120, color="#333333", zorder=3)
    right.set_yticks(y, [""] * len(sources))
    right.invert_yaxis()
    right.set_title("Rows set aside, last 7 days")
    right.set_xlim(0, max(*budgets, *shares) * 1.1)
    right.set_xlabel("Share of rows read (%); | is the error budget")
    right.set_ylabel("")
    right.yaxis.set_visible(False)
    right.grid(axis="x")
    return svg.to_svg(fig, f"{KEY}-chart")  # not KEY: the section holds that id


def section(inputs: ReportInputs) -> Section | None:
    health = inputs.table(TABLE)
    if health is None or health.is_empty():
        return None
    budgets = {s: inputs.settings.error_budget_for(s) for s in health["source"].to_list()}
    sources = rows(health, budgets, gate_results(inputs.con, inputs.run_id))
    todo = actions(sources)
    stale = [s["name"] for s in sources if s["is_stale"]]
    over = [s["name"] for s in sources if s["over_budget"]]
    if stale or over:
        headline = "Data health: " + "; ".join(
            part for part in (
                f"stale: {', '.join(stale)}" if stale else "",
                f"over the error budget: {', '.join(over)}" if over else "") if part) + "."
    else:
        headline = (f"Data health: all {_plural(len(sources), 'source')} fresh and within "
                    f"their error budgets over the 7 days to {inputs.logical_date:%d %b %Y}.")
    html = render_part("data_health.html.j2", chart=chart(sources), sources=sources,
                       headline=headline, day=inputs.logical_date)
    return Section(key=KEY, title="Data freshness and quality", order=90, html=html,
                   actions=todo, digest=(headline,))
