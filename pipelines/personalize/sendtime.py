"""Send-time optimisation: each contact's best local hour and weekday to receive email.

From the email activity (`marts.fct_email_events`) every campaign a contact acted on gives one
*read*: its first click if there was one, else its first open. A click is a person reading for
certain; an open may be a mail client fetching the message (Apple Mail Privacy Protection and
similar prefetchers open every email they receive, minutes after it is sent). So reads weigh:

- a click: `CLICK_WEIGHT`;
- an open more than `PREFETCH_SECONDS` after the send: 1;
- an open within `PREFETCH_SECONDS` of the send: `EARLY_OPEN_WEIGHT`. Such an open says when we
  sent, not when the person reads, whether a machine or a quick reader made it; and when the
  same campaign also has a later open or click, the early one was the machine's and the later
  one is the read.

Each read is placed at its local hour and ISO weekday in the contact's time zone (Mailchimp's
TIMEZONE field, else the address's zone, `personas.localtime`), so daylight saving time moves
the UTC hour of a habit, not the habit.

A contact's reads are few, so their hours are shrunk toward their persona's pattern, and the
persona's toward the whole list's (a Dirichlet-multinomial: the posterior mean is
`(counts + alpha * prior) / (n + alpha)`). `alpha`, the prior's weight in reads, is chosen by
empirical Bayes: the value under which the contacts' own counts are most likely
(`prior_strength`), so it is as strong as people really are alike, not a number picked here.
Hours are then smoothed over neighbouring hours (a habit of reading "around nine" spills over
the hour's edge), and the best hour is the posterior's mode. `weight_own` is n / (n + alpha);
`evidence` says `own` where it is at least one half, else `persona` (or `list` for contacts
without a persona). A contact with no reads gets the persona's hour, and says so.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import polars as pl
from scipy.special import gammaln

from pipelines.config import Settings
from pipelines.personas.features import MACHINE_OPEN_MINUTES
from pipelines.personas.localtime import time_zone

log = logging.getLogger(__name__)

CLICK_WEIGHT = 2.0  # a click is a read for certain; an open only probably
EARLY_OPEN_WEIGHT = 0.25  # an open in the prefetch window: as likely a machine as a reader
# Prefetchers open within minutes of delivery, and delivering a list takes a while: the
# window the persona features leave machine opens out in (personas.features).
PREFETCH_SECONDS = MACHINE_OPEN_MINUTES * 60
HOURS = 24
WEEKDAYS = 7
# Each hour's reads also count half as much for the hours either side (a triangular kernel).
HOUR_KERNEL = (0.25, 0.5, 0.25)
ALPHA_GRID = np.geomspace(0.25, 1000.0, 61)
UNKNOWN_PERSONA = ""

SCHEMA: dict[str, pl.DataType] = {
    "customer_key": pl.String,
    "as_of_date": pl.Date,
    "timezone": pl.String,
    "best_hour_local": pl.Int32,
    "best_weekday": pl.Int32,
    "send_hour_utc": pl.Int32,
    "evidence": pl.String,
    "opens": pl.Float64,
    "clicks": pl.Int32,
    "weight_own": pl.Float64,
    "send_group": pl.String,
}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def contact_zone(mailchimp_timezone: str | None, country_code: str | None,
                 region_code: str | None) -> str:
    """The contact's IANA zone: Mailchimp's TIMEZONE when it is one, else the address's."""
    if mailchimp_timezone and mailchimp_timezone.strip() in _known_zones():
        return mailchimp_timezone.strip()
    return time_zone(country_code, region_code)


def with_zones(contacts: pl.DataFrame) -> pl.DataFrame:
    """`contacts` (customer_key, mailchimp_timezone, country_code, region_code) with `timezone`."""
    keys = ["mailchimp_timezone", "country_code", "region_code"]
    triples = contacts.select(keys).unique()
    zones = triples.with_columns(timezone=pl.Series(
        [contact_zone(*row) for row in triples.iter_rows()], dtype=pl.String))
    return contacts.join(zones, on=keys, how="left", nulls_equal=True)


def reads(events: pl.DataFrame) -> pl.DataFrame:
    """One read per contact and campaign from `events` (customer_key, campaign_id, sent_at,
    action `open`/`click`, action_at; times UTC): customer_key, campaign_id, read_at, kind
    (`click`, `open`, `early_open`), weight, opened (the open's weight the campaign counts:
    1, or EARLY_OPEN_WEIGHT when its only opens came in the prefetch window, 0 without an open).
    """
    delay = (pl.col("action_at") - pl.col("sent_at")).dt.total_seconds()
    marked = events.filter(pl.col("action").is_in(["open", "click"])).with_columns(
        early=(pl.col("action") == "open") & delay.is_not_null() & (delay < PREFETCH_SECONDS))
    per = marked.group_by("customer_key", "campaign_id").agg(
        first_click=pl.col("action_at").filter(pl.col("action") == "click").min(),
        first_open=pl.col("action_at").filter((pl.col("action") == "open") & ~pl.col("early"))
        .min(),
        first_early=pl.col("action_at").filter(pl.col("early")).min(),
    )
    kind = (pl.when(pl.col("first_click").is_not_null()).then(pl.lit("click"))
            .when(pl.col("first_open").is_not_null()).then(pl.lit("open"))
            .otherwise(pl.lit("early_open")))
    return per.with_columns(
        read_at=pl.coalesce("first_click", "first_open", "first_early"),
        kind=kind,
        weight=pl.when(kind == "click").then(CLICK_WEIGHT).when(kind == "open").then(1.0)
        .otherwise(EARLY_OPEN_WEIGHT),
        opened=pl.when(pl.col("first_open").is_not_null()).then(1.0)
        .when(pl.col("first_early").is_not_null()).then(EARLY_OPEN_WEIGHT).otherwise(0.0),
    ).select("customer_key", "campaign_id", "read_at", "kind", "weight", "opened")


def local_parts(frame: pl.DataFrame, at: str, zones: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `local_hour` (0-23) and `local_weekday` (ISO 1-7) of the UTC time `at` in
    each contact's zone (`zones`: customer_key, timezone). Rows of contacts without one go."""
    joined = frame.join(zones.select("customer_key", "timezone"), on="customer_key")
    parts = [
        part.with_columns(
            local_hour=pl.col(at).dt.convert_time_zone(zone).dt.hour().cast(pl.Int32),
            local_weekday=pl.col(at).dt.convert_time_zone(zone).dt.weekday().cast(pl.Int32),
        )
        for (zone,), part in joined.partition_by("timezone", as_dict=True).items()
    ]
    if not parts:
        return joined.with_columns(local_hour=pl.lit(None, pl.Int32),
                                   local_weekday=pl.lit(None, pl.Int32))
    return pl.concat(parts)


def smooth_hours(counts: np.ndarray) -> np.ndarray:
    """Circular smoothing of hour counts (last axis, 24) with HOUR_KERNEL."""
    left, mid, right = HOUR_KERNEL
    return left * np.roll(counts, 1, axis=-1) + mid * counts + right * np.roll(counts, -1, axis=-1)


def prior_strength(counts: np.ndarray, prior: np.ndarray, grid: np.ndarray = ALPHA_GRID) -> float:
    """The Dirichlet weight alpha (in reads) under which `counts` (contacts x bins, weighted
    reads) are most likely when each contact's shares are drawn from Dirichlet(alpha * prior)
    (`prior`: contacts x bins, rows summing to 1): the empirical-Bayes choice. Contacts with
    fewer than two reads say nothing about how alike people are and are left out."""
    n = counts.sum(axis=1)
    informative = n >= 2
    if not informative.any():
        return float(np.median(grid))
    c, p, n = counts[informative], prior[informative], n[informative]
    best, best_ll = grid[0], -np.inf
    for alpha in grid:
        a = alpha * p
        ll = (gammaln(alpha) - gammaln(alpha + n)
              + (gammaln(a + c) - gammaln(a)).sum(axis=1)).sum()
        if ll > best_ll:
            best, best_ll = alpha, ll
    return float(best)


def _counts(frame: pl.DataFrame, keys: list[str], column: str, bins: int, offset: int
            ) -> np.ndarray:
    """contacts x bins matrix of summed `weight` by `column` (values offset..offset+bins-1)."""
    index = {k: i for i, k in enumerate(keys)}
    out = np.zeros((len(keys), bins))
    if frame.height:
        rows = np.array([index[k] for k in frame["customer_key"].to_list()], dtype=np.int64)
        np.add.at(out, (rows, frame[column].to_numpy() - offset), frame["weight"].to_numpy())
    return out


def shrink(counts: np.ndarray, groups: np.ndarray, smooth: bool,
           pattern_counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior mean shares per contact (rows of `counts`), shrunk toward their group's pattern
    (`groups`: a label per contact; UNKNOWN_PERSONA: the list's), each group's toward the list's.
    The patterns are made of `pattern_counts` (default `counts`): a group has reads to spare,
    so it can leave out the ambiguous ones a person cannot. Returns (posterior, weight_own,
    alpha)."""
    bins = counts.shape[1]
    pattern_counts = counts if pattern_counts is None else pattern_counts
    total = pattern_counts.sum(axis=0)
    list_pattern = (total + 0.5) / (total.sum() + 0.5 * bins)  # never a zero share
    if smooth:
        list_pattern = smooth_hours(list_pattern)
    labels, inverse = np.unique(groups, return_inverse=True)
    group_counts = np.zeros((len(labels), bins))
    np.add.at(group_counts, inverse, pattern_counts)
    # First pass: the groups' patterns shrunk to the list's with the strength the contacts
    # show; a group is many contacts, so its own reads nearly always dominate.
    alpha = prior_strength(counts, np.broadcast_to(list_pattern, counts.shape))
    patterns = (group_counts + alpha * list_pattern) / (
        group_counts.sum(axis=1, keepdims=True) + alpha)
    patterns[labels == UNKNOWN_PERSONA] = list_pattern
    prior = patterns[inverse]
    alpha = prior_strength(counts, prior)
    n = counts.sum(axis=1, keepdims=True)
    posterior = (counts + alpha * prior) / (n + alpha)
    if smooth:
        posterior = smooth_hours(posterior)
    return posterior, (n / (n + alpha))[:, 0], alpha


def send_hour_utc(zone: str, local_hour: int, day: date) -> int:
    """The UTC hour of `local_hour` in `zone` on `day` (the offset in force that day)."""
    local = datetime(day.year, day.month, day.day, local_hour, tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).hour


def send_group(hour_utc: int) -> str:
    """The Mailchimp tag of the contacts to send to at `hour_utc`, e.g. `send-09utc`."""
    return f"send-{hour_utc:02d}utc"


def best_send_times(contacts: pl.DataFrame, events: pl.DataFrame, as_of: date
                    ) -> tuple[pl.DataFrame, dict]:
    """`ml.send_times` rows for `contacts` (customer_key, mailchimp_timezone, country_code,
    region_code, persona_name or null) from their email `events` up to `as_of`, and a summary.
    """
    contacts = with_zones(contacts.unique("customer_key").sort("customer_key"))
    keys = contacts["customer_key"].to_list()
    read = reads(events.filter(pl.col("customer_key").is_in(keys)))
    local = local_parts(read, "read_at", contacts)
    hour_counts = _counts(local, keys, "local_hour", HOURS, 0)
    day_counts = _counts(local, keys, "local_weekday", WEEKDAYS, 1)
    groups = contacts["persona_name"].fill_null(UNKNOWN_PERSONA).to_numpy().astype(str)
    # The persona's and the list's patterns leave out opens in the prefetch window: they show
    # when we sent, and a group has enough reads without them.
    sure = local.filter(pl.col("kind") != "early_open")
    hour_post, weight_own, hour_alpha = shrink(
        hour_counts, groups, smooth=True,
        pattern_counts=_counts(sure, keys, "local_hour", HOURS, 0))
    day_post, _, day_alpha = shrink(
        day_counts, groups, smooth=False,
        pattern_counts=_counts(sure, keys, "local_weekday", WEEKDAYS, 1))
    tally = read.group_by("customer_key").agg(
        opens=pl.col("opened").sum(), clicks=(pl.col("kind") == "click").sum().cast(pl.Int32))
    best_hour = hour_post.argmax(axis=1).astype(np.int32)
    has_persona = groups != UNKNOWN_PERSONA
    evidence = np.where(weight_own >= 0.5, "own", np.where(has_persona, "persona", "list"))
    frame = contacts.select("customer_key", "timezone").with_columns(
        as_of_date=pl.lit(as_of, pl.Date),
        best_hour_local=pl.Series(best_hour, dtype=pl.Int32),
        best_weekday=pl.Series(day_post.argmax(axis=1) + 1, dtype=pl.Int32),
        evidence=pl.Series(evidence, dtype=pl.String),
        weight_own=pl.Series(np.round(weight_own, 6), dtype=pl.Float64),
    ).join(tally, on="customer_key", how="left").with_columns(
        opens=pl.col("opens").fill_null(0.0), clicks=pl.col("clicks").fill_null(0))
    # Mailchimp sends at a UTC hour: the offset of the day the exports are for (the day after
    # the data), so the hour follows daylight saving time as it changes.
    send_day = as_of + timedelta(days=1)
    pairs = frame.select("timezone", "best_hour_local").unique()
    hours = [send_hour_utc(z, h, send_day) for z, h in pairs.iter_rows()]
    utc = pairs.with_columns(send_hour_utc=pl.Series(hours, dtype=pl.Int32),
                             send_group=pl.Series([send_group(h) for h in hours], dtype=pl.String))
    frame = frame.join(utc, on=["timezone", "best_hour_local"], how="left")
    out = frame.select(list(SCHEMA)).cast(SCHEMA).sort("customer_key")
    summary = {
        "contacts": out.height,
        "reads": read.height,
        "evidence": dict(sorted(out["evidence"].value_counts().iter_rows())),
        "prior_strength_hours": round(hour_alpha, 2),
        "prior_strength_weekdays": round(day_alpha, 2),
        "early_opens": int((read["kind"] == "early_open").sum()),
    }
    return out, summary


def run(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Learn every contact's send time from the email activity up to the end of
    `logical_date` and write `ml.send_times`. A shop with no email activity writes no rows
    and says so: an hour learnt from nothing would be a guess."""
    from pipelines.personalize import sendtime_store as store
    from pipelines.warehouse import work_connection

    before = logical_date + timedelta(days=1)
    with work_connection(settings) as con:
        contacts = store.read_contacts(con)
        events = store.read_events(con, before)
    if events.is_empty() or contacts.is_empty():
        why = ("no email opens or clicks of known customers" if contacts.height
               else "no customer with an email")
        with work_connection(settings) as con:
            store.write(con, pl.DataFrame(schema=SCHEMA))
        log.warning("send times: %s up to %s; ml.send_times is empty", why, logical_date)
        return {"contacts": 0, "skipped": f"{why} up to {logical_date}"}
    frame, summary = best_send_times(contacts, events, logical_date)
    with work_connection(settings) as con:
        store.write(con, frame)
    log.info("send times for %d contacts (%s); prior strength %.1f reads (hours), "
             "%.1f (weekdays)", summary["contacts"], summary["evidence"],
             summary["prior_strength_hours"], summary["prior_strength_weekdays"])
    return summary
