"""The coverage section: what the run could not cover, and the exports that would cover it."""

from __future__ import annotations

import polars as pl

from pipelines import coverage as data_coverage
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "What this report could not cover"


def coverage_notes(coverage: pl.DataFrame) -> list[dict]:
    """What the run could not cover, as the report lists it: the sentence, and the landing
    folders whose exports would cover it."""
    missing = coverage.filter(~pl.col("is_available"))
    return [
        {"reason": row["missing_reason"], "sources": row["sources"]}
        for row in missing.to_dicts()
    ]


def section(inputs: ReportInputs) -> Section | None:
    table = inputs.table(data_coverage.TABLE)
    if table is None:
        return None
    notes = coverage_notes(data_coverage._ordered(table))
    # Nothing missing is news too: the reader learns every part had the data it needs.
    title = ("What this report could not cover, and why" if notes
             else "What this report covers")
    return Section(key="coverage", title=title, order=95,
                   html=render_part("coverage.html.j2", notes=notes))
