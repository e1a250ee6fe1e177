"""The customers section: the RFM grid (reports.rpt_rfm_grid), and churn risk and expected
spend by persona and by RFM segment (reports.rpt_customer_groups)."""

from __future__ import annotations

import polars as pl

from pipelines.report.plots.customers import churn_and_value, rfm_grid
from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Customers"
# The RFM segments of people who bought often and have gone quiet: worth a word this week.
QUIET = ("at_risk", "cannot_lose_them")


def quiet_sentence(grid: pl.DataFrame) -> str | None:
    """How many frequent buyers have gone quiet, in words; None when none have."""
    n = int(grid.filter(pl.col("rfm_segment").is_in(QUIET))["customers"].sum() or 0)
    if not n:
        return None
    who = "customer who used to buy often has" if n == 1 else "customers who used to buy often have"
    return f"{n:,} {who} gone quiet (RFM segments 'at risk' and 'cannot lose them')."


def section(inputs: ReportInputs) -> Section | None:
    grid = inputs.table("reports.rpt_rfm_grid")
    groups = inputs.table("reports.rpt_customer_groups")
    charts, figures = [], []
    if grid is not None and grid.height:
        charts.append(rfm_grid(grid))
    if groups is not None and groups.height:
        if "expected_value" not in groups.columns:  # a publication from before the column
            groups = groups.with_columns(expected_value=pl.lit(None, pl.Float64))
        for grouping, kind, chart_id in (("persona", "persona", "customers-personas"),
                                         ("rfm_segment", "RFM segment", "customers-segments")):
            rows = groups.filter(pl.col("grouping") == grouping)
            if rows.height:
                charts.append(churn_and_value(rows, kind=kind, currency=inputs.currency,
                                              chart_id=chart_id))
                figures.append({"kind": kind, "rows": rows.sort(
                    "customers", descending=True).to_dicts()})
    if not charts:
        return None
    quiet = quiet_sentence(grid) if grid is not None else None
    return Section(key="customers", title=TITLE, order=30,
                   html=render_part("customers.html.j2", charts=charts, quiet=quiet,
                                     figures=figures),
                   digest=(quiet,) if quiet else ())
