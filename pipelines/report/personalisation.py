"""The report's personalisation section: per persona what to show, when to send and three
ready lines of copy (reports.rpt_personalisation). Read from the published warehouse; the
template escapes every value."""

from __future__ import annotations

import polars as pl

from pipelines.report.sections import Action, ReportInputs, Section, render_part

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def read_personalisation(inputs: ReportInputs) -> pl.DataFrame:
    """reports.rpt_personalisation; an empty frame when the publication lacks it."""
    frame = inputs.table("reports.rpt_personalisation")
    return pl.DataFrame() if frame is None else frame.sort("persona_id")


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


TITLE = "Personalisation"


def newsletter_hour(personalisation: pl.DataFrame) -> tuple[int, float] | None:
    """The local hour to send one newsletter to everyone: the best hour of the personas that
    hold the most timed contacts, and those contacts' share of all timed; None before any
    contact has a send time."""
    timed = personalisation.filter(pl.col("best_hour_local").is_not_null()
                                   & (pl.col("contacts_timed") > 0))
    if timed.is_empty():
        return None
    by_hour = (timed.group_by("best_hour_local").agg(pl.col("contacts_timed").sum())
               .sort(["contacts_timed", "best_hour_local"], descending=[True, False]))
    hour, contacts = by_hour.row(0)
    return int(hour), contacts / by_hour.get_column("contacts_timed").sum()


def section(inputs: ReportInputs) -> Section | None:
    frame = read_personalisation(inputs)
    cards = personalisation_context(frame)
    if not cards:
        return None
    best = newsletter_hour(frame)
    actions = ()
    if best is not None:
        hour, share = best
        actions = (Action(f"Send the newsletter at {hour:02d}:00 local time (the best hour "
                          f"of personas holding {share:.0%} of the contacts with a send time)",
                          link="#personalisation", rank=40),)
    return Section(key="personalisation",
                   title="Personalisation: what to show, when to send, what to say", order=55,
                   html=render_part("personalisation.html.j2", personalisation=cards),
                   actions=actions, digest=tuple(a.text + "." for a in actions))
