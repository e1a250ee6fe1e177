"""The report's personalisation section: per persona what to show, when to send and three
ready lines of copy (reports.rpt_personalisation). Read from the published warehouse; the
template escapes every value."""

from __future__ import annotations

import polars as pl

from pipelines.config import Settings
from pipelines.warehouse import connect

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def read_personalisation(settings: Settings) -> pl.DataFrame:
    """reports.rpt_personalisation; an empty frame when the publication lacks it."""
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        present = con.sql("select count(*) from information_schema.tables where table_schema "
                          "= 'reports' and table_name = 'rpt_personalisation'").fetchall()
        if not present[0][0]:
            return pl.DataFrame()
        return con.sql("select * from reports.rpt_personalisation order by persona_id").pl()
    finally:
        con.close()


def send_time(hour: int | None, weekday: int | None) -> str:
    """"Tuesdays at 09:00 (their local time)", or what is known of it."""
    if hour is None:
        return "no send time yet (no contact with a chosen hour)"
    day = f"{WEEKDAYS[weekday - 1]}s" if weekday else "any day"
    return f"{day} at {hour:02d}:00 (their local time)"


def personalisation_context(personalisation: pl.DataFrame) -> list[dict]:
    """One card per persona: the headline, what to show, when to send, the offer and up to
    three email subjects; an empty list when there is nothing to show."""
    cards = []
    for row in personalisation.iter_rows(named=True):
        lines = [s for s in (row["subject_1"], row["subject_2"], row["subject_3"]) if s]
        show = row["featured_products"] or "no recommendations yet"
        if row["hero_category"]:
            show = f"{row['hero_category']}: {show}"
        offer = None
        if row["offer_code"]:
            offer = f"{row['offer_code']}: {row['offer_description']} ({row['offer_terms']})"
        timed = row["contacts_timed"]
        own = row["own_evidence_share"]
        evidence = (f"{timed:,} contacts timed, {own:.0%} from their own opens and clicks"
                    if timed and own is not None else "")
        cards.append({"persona": row["persona"], "customers": row["customers"],
                      "headline": row["headline"], "show": show,
                      "send": send_time(row["best_hour_local"], row["best_weekday"]),
                      "send_evidence": evidence, "offer": offer, "lines": lines})
    return cards
