"""The personas section: one card per persona, largest first, with the share of its customers
having each trait its name claims, its size, value and churn risk, and a small picture of its
habits (when its customers shop, what they buy, how they arrive) and what they talk about (the
keywords and feeling of their comments, messages and survey answers). Reads
reports.rpt_personas and reports.rpt_persona_habits; names and every other text from data go
out as text."""

from __future__ import annotations

import polars as pl

from pipelines.report import svg
from pipelines.report.sections import ReportInputs, Section, money, render_part

TITLE = "Personas"
KEY, ORDER = "personas", 40
HABITS = (
    ("hour", "When they shop", "Local hour of the day", "Customers (%)"),
    ("category", "What they buy", "Share of their spend (%)", "Category"),
    ("channel", "How they arrive", "Share of their visits (%)", "Channel"),
)


def habits_chart(name: str, persona_id: int, habits: pl.DataFrame) -> svg.Chart | None:
    """Three small panels for one persona from its rpt_persona_habits rows: customers by usual
    local shopping hour, its top product categories by spend and its top visit channels, as
    percentages; None when it has no habit rows."""
    if habits.is_empty():
        return None
    # Panels stacked: the cards stand side by side, each a third of the page wide.
    fig, axes = svg.figure(3.4, 4.6, nrows=3)
    fig.suptitle(f"{_short(name, 40)}: habits to date", fontsize=9.5, x=0.02, ha="left")
    for ax, (habit, title, xlabel, ylabel) in zip(axes, HABITS, strict=True):
        rows = habits.filter(pl.col("habit") == habit).sort("position")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if rows.is_empty():
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        shares = [100 * s for s in rows.get_column("share").to_list()]
        if habit == "hour":
            by_hour = dict(zip(rows.get_column("position").to_list(), shares, strict=True))
            ax.bar(range(24), [by_hour.get(h, 0.0) for h in range(24)], color=svg.THIS,
                   width=0.8)
            ax.set_xticks([0, 6, 12, 18, 23], ["0", "6", "12", "18", "23"])
            ax.set_xlim(-0.7, 23.7)
        else:
            items = rows.get_column("item").to_list()
            positions = list(range(len(items)))[::-1]
            ax.barh(positions, shares, color=svg.THIS, height=0.7)
            ax.set_yticks(positions, [_short(i) for i in items])
            ax.grid(axis="x", color="#e4e4e4")
            ax.grid(axis="y", visible=False)
    return svg.to_svg(fig, f"persona-{persona_id}-habits")


TOPICS = 6  # keywords shown per card
FEELINGS = ("positive", "neutral", "negative")


def talk(habits: pl.DataFrame) -> dict | None:
    """What the persona's customers write about (comments, messages, survey answers): up to
    TOPICS keywords with the share of its texts using each ("delivery (16%)"), and how they
    feel ("62% positive, 30% neutral, 8% negative", a feeling without texts at 0%); None when
    the persona has no texts."""
    topics = habits.filter(pl.col("habit") == "topic").sort("position").head(TOPICS)
    feelings = habits.filter(pl.col("habit") == "feeling")
    if topics.is_empty() and feelings.is_empty():
        return None
    share = dict(zip(feelings["item"].to_list(), feelings["share"].to_list(), strict=True))
    texts = int(feelings["amount"].sum() or 0) if feelings.height else 0
    return {
        "topics": [f"{r['item']} ({r['share']:.0%})" for r in topics.iter_rows(named=True)],
        "feeling": ", ".join(f"{share.get(f) or 0:.0%} {f}" for f in FEELINGS)
        if feelings.height else None,
        "texts": texts,
    }


def _short(text: str, limit: int = 18) -> str:
    """A tick label short enough for a small panel (the card lists the full names)."""
    text = text.replace("_", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claims(text: str | None) -> list[str]:
    """rpt_personas.name_claims as a list ("92% live in Europe", ...)."""
    return [t for t in (text or "").split("; ") if t]


def card(row: dict, currency: str | None, habits: pl.DataFrame) -> dict:
    """One persona's card as the template shows it: every figure formatted with its period."""
    hour = row["best_send_hour"]
    churn = row["churn_risk"]
    nps = row["nps"]
    return {
        "key": f"persona-{row['persona_id']}",
        "name": row["persona_name"],
        "claims": claims(row.get("name_claims")),
        "customers": row["customers"],
        "customer_share": row["customer_share"],
        "revenue_share": row["revenue_share"],
        "to_date": money(row["avg_revenue_to_date"], currency),
        "ltv": None if row["avg_ltv"] is None else money(row["avg_ltv"], currency),
        "aov": None if row["avg_order_value"] is None else money(row["avg_order_value"],
                                                                 currency),
        "churn": churn,
        "send_hour": None if hour is None else f"{hour:02d}:00",
        "emailable": row["emailable_share"],
        "nps": None if nps is None else f"{nps:+.0f}",
        "nps_responses": row["nps_responses"],
        "apart": [t for t in (row["what_sets_it_apart"] or "").split("; ") if t],
        "chart": habits_chart(row["persona_name"], row["persona_id"],
                              habits.filter(pl.col("habit").is_in([h[0] for h in HABITS]))),
        "talk": talk(habits),
    }


def digest(personas: pl.DataFrame) -> tuple[str, ...]:
    """Headlines: the largest persona and, when churn risk is known, the riskiest."""
    largest = personas.row(0, named=True)
    lines = [f"{personas.height} personas; the largest, {largest['persona_name']}, is "
             f"{largest['customer_share']:.0%} of customers and {largest['revenue_share']:.0%} "
             "of revenue to date."]
    risky = personas.filter(pl.col("churn_risk").is_not_null())
    if risky.height > 1:
        top = risky.sort(["churn_risk", "persona_id"], descending=[True, False]).row(0, named=True)
        lines.append(f"{top['persona_name']} is the persona likeliest to leave: on average a "
                     f"{top['churn_risk']:.0%} chance of no order in the next 90 days.")
    return tuple(lines)


def section(inputs: ReportInputs) -> Section | None:
    personas = inputs.table("reports.rpt_personas")
    if personas is None or personas.is_empty():
        return None
    personas = personas.sort(["customers", "persona_id"], descending=[True, False])
    habits = inputs.table("reports.rpt_persona_habits")
    if habits is None:
        habits = pl.DataFrame(schema={"persona_id": pl.Int32, "habit": pl.String,
                                      "item": pl.String, "position": pl.Int32,
                                      "amount": pl.Float64, "share": pl.Float64})
    cards = [card(row, inputs.currency, habits.filter(pl.col("persona_id") == row["persona_id"]))
             for row in personas.to_dicts()]
    first = personas.row(0, named=True)
    html = render_part(
        "personas.html.j2", personas=cards, date=inputs.logical_date.isoformat(),
        note=first.get("personas_note") or "", version=first.get("model_version") or "",
        source=first.get("persona_source") or "",
    )
    return Section(key=KEY, title=TITLE, order=ORDER, html=html, digest=digest(personas))
