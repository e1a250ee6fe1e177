"""The personas section: one card per persona (ported from the old page; the words helper
rewrites the names and cards)."""

from __future__ import annotations

import polars as pl

from pipelines.report.sections import ReportInputs, Section, money, render_part

TITLE = "Personas"


def persona_cards(personas: pl.DataFrame, currency: str | None = "USD") -> list[dict]:
    """The persona cards as the template shows them: figures formatted, traits as a list."""
    cards = []
    for row in personas.to_dicts():
        hour = row["best_send_hour"]
        cards.append({
            "name": row["persona_name"],
            "size": f"{row['customers']:,} customers ({row['customer_share']:.0%})",
            "revenue_share": f"{row['revenue_share']:.0%}",
            "to_date": money(row["avg_revenue_to_date"], currency),
            "ltv": money(row["avg_ltv"], currency),
            "aov": money(row["avg_order_value"] or 0, currency),
            "churn": "n/a" if row["churn_risk"] is None else f"{row['churn_risk']:.0%}",
            "send_hour": "n/a" if hour is None else f"{hour:02d}:00",
            "channels": row["top_channels"] or "n/a",
            "categories": row["top_categories"] or "n/a",
            "nps": "n/a" if row["nps"] is None else f"{row['nps']:+.0f} ({row['nps_responses']})",
            "emailable": f"{row['emailable_share']:.0%}",
            "apart": [t for t in (row["what_sets_it_apart"] or "").split("; ") if t],
        })
    return cards


def personas_note(personas: pl.DataFrame) -> str:
    """How the personas were found, as the find_personas step wrote it (the same on every card)."""
    if personas.is_empty() or "personas_note" not in personas.columns:
        return ""
    return personas.get_column("personas_note")[0] or ""


def section(inputs: ReportInputs) -> Section | None:
    personas = inputs.table("reports.rpt_personas")
    if personas is None or personas.is_empty():
        return None
    personas = personas.sort(["customers", "persona_id"], descending=[True, False])
    html = render_part("personas.html.j2", personas=persona_cards(personas, inputs.currency),
                       note=personas_note(personas))
    return Section(key="personas", title="Personas", order=40, html=html)
