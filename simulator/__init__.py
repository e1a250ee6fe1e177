"""A seeded synthetic marketing world written in real vendor export formats, with hidden truth.

`simulate` draws a population with hidden personas and traits, plans ads and emails, plays
every day out (web sessions, email, ads, orders, CRM, surveys, churn) through a year past the
last day the world can be continued to, and writes what the vendors would export on the end
date into `landing/<source>/<end date>/`: Shopify customers and orders (or a generic orders
file), a Mailchimp audience with campaigns and activity, HubSpot contacts and deals, the GA4
BigQuery export, Conversions API events, Meta Ads Insights and Typeform NPS responses, with
defects at configurable rates. The ground truth goes to `truth/` and the world to
`truth/state/`, so `continue_days` can write the next days' folders without replaying.
Same seed, scale and end date give byte-identical files.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
from pathlib import Path

import polars as pl

from pipelines.config import SCALES, Settings
from simulator import campaigns, creative, derive, experiment_truth, plan, population, state, truth
from simulator import context as seasonal
from simulator import identity_noise as _identity_noise
from simulator.defects import DefectLog, Defects
from simulator.engine import Engine
from simulator.exports import Exporter, Tables
from simulator.personas import world_personas

logger = logging.getLogger(__name__)

__all__ = [
    "Defects", "continue_days", "landing_is_empty", "simulate", "truth_dir", "world_exists",
]

ORDERS_FORMATS: tuple[str, ...] = ("shopify", "generic")


def truth_dir(settings: Settings) -> Path:
    """Where the hidden truth and the world's state live: `truth/` under the home.

    Only the simulator, the benchmark and tests know this folder; the pipeline never reads it,
    so it is not a setting of `pipelines.config`.
    """
    return settings.home / "truth"


def simulate(
    settings: Settings,
    scale: str = "xs",
    seed: int = 42,
    end_date: dt.date = dt.date(2026, 10, 31),
    history_days: int = 730,
    *,
    orders_format: str = "shopify",
    defects: Defects | None = None,
    max_days: int = 60,
    personas: int = 7,
    identity_noise: bool = False,
) -> dict[str, int]:
    """Create a world at `scale` and write its full-history exports dated `end_date`.

    Writes one export-date folder per source under `settings.landing_dir` (the generic
    `orders/<end_date>/orders.csv` instead of the Shopify files when `orders_format` is
    "generic"), the truth tables under `truth_dir(settings)` and the world's state, which
    `continue_days` extends by up to `max_days` days. The world has `personas` hidden
    behaviour groups (3-10; 7 are the reference ones, see `simulator.personas`). With
    `identity_noise` the exports hold what real ones do beyond one clean name, email and
    phone per person and system (nicknames, typos, email and phone variants, moves, second
    shop accounts: `simulator.identity_noise`), and the truth has `identity_variations.parquet`;
    without it (the default) the world is byte for byte the one before the option. Returns
    rows written per file kind (customers, orders, order_lines, mailchimp_members,
    mailchimp_<status>, email_campaigns, email_activity, hubspot_contacts, hubspot_deals,
    typeform_responses, ga4_events, ga4_files, capi_events, ads_insights_rows) and per truth
    table (truth_customers, truth_identifiers, truth_ad_sets, truth_defects, and
    truth_identity_variations with identity noise).
    Raises ValueError for an unknown scale or orders format, a non-positive history or a
    persona count outside 3-10.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    if history_days < 1:
        raise ValueError(f"history_days must be at least 1, got {history_days}")
    if orders_format not in ORDERS_FORMATS:
        raise ValueError(f"orders_format must be one of {ORDERS_FORMATS}, got {orders_format!r}")
    if max_days < 0:
        raise ValueError(f"max_days must not be negative, got {max_days}")
    groups = world_personas(personas, seed)
    defects = defects or Defects()
    window = population.Window(end_date=end_date, history_days=history_days, max_days=max_days)
    n = SCALES[scale]
    logger.info("simulating scale=%s (%d people) seed=%d end_date=%s personas=%d%s", scale, n,
                seed, end_date, len(groups),
                " with identity noise" if identity_noise else "")  # fmt: skip

    people = population.build_population(n, seed, window, groups)
    devices, mpp = population.build_devices(seed, people)
    people = people.with_columns(mpp=pl.Series(mpp))
    ads = plan.build_ad_plan(seed, n, window)
    people, ads = plan.assign_arrivals(seed, people, window, ads)
    emails = plan.build_email_plan(seed, window)
    world = Engine(
        seed, window, people, devices, ads, emails,
        refund_rate=defects.refund_rate, partial_refund_share=defects.partial_refund_share,
        cancel_rate=defects.cancel_rate, test_order_rate=defects.test_order_rate,
    ).run()  # fmt: skip
    people_e, orders_e, deals_e = derive.enrich(world)
    variations = None
    if identity_noise:
        people_e, orders_e, variations = _identity_noise.apply(seed, window, people_e, orders_e)
    tables = Tables(
        window=window, seed=seed, people=people_e, devices=world.devices, orders=orders_e,
        lines=world.lines, sessions=world.sessions.lazy(), activity=world.email_activity,
        campaigns=world.campaigns, list_id=world.list_id, mc_events=world.mc_events,
        crm_events=world.crm_events, deals=deals_e, surveys=world.surveys,
        attribution=world.attribution, adsets=ads.adsets, ads=ads.ads,
        # The play-out ran on the clicks before fatigue; the Insights report the worn ones.
        ads_daily=creative.fatigued_delivery(seed, ads.ads, ads.daily), variations=variations,
    )  # fmt: skip
    meta = state.Meta(
        seed=seed, scale=scale, n_people=n, end_date=end_date, history_days=history_days,
        max_days=max_days, current_end=end_date, orders_format=orders_format,
        currency=settings.default_currency, defects=defects, personas=len(groups),
        identity_noise=identity_noise,
    )  # fmt: skip
    # Save the world first, then read the sessions back lazily by day: the biggest table
    # need not stay in memory while the exports are written.
    state.save(truth_dir(settings), meta, tables, world.hazard)
    tables.sessions = state.scan_sessions(truth_dir(settings))
    hazard = world.hazard
    del world
    _release_memory()
    log = DefectLog()
    exporter = Exporter(settings.landing_dir, tables, defects, orders_format,
                        settings.default_currency, log)  # fmt: skip
    counts = exporter.export(end_date, backfill=True)
    counts.update(truth.write_truth(truth_dir(settings), tables, hazard, end_date,
                                    orders_format, log.frame()))  # fmt: skip
    counts.update(experiment_truth.write(truth_dir(settings), state.state_dir(truth_dir(settings)),
                                         tables, end_date))  # fmt: skip
    counts.update(seasonal.write_truth(truth_dir(settings)))
    logger.info("simulation written: %s", counts)
    return counts


def continue_days(settings: Settings, days: int) -> dict[str, int]:
    """Append the next `days` days to the saved world, each in its own export folder.

    First the campaigns the pipeline published in `exports/` up to the current end date and
    not applied yet change the world's future (`simulator.campaigns`). Every continued day D
    gets folder D per source with that day's new data (and the GA4 and Ads Insights rewrites
    of recent days); the truth is rewritten as of the new end date.
    Returns rows written per file kind summed over the days, plus `days` and the truth
    counts. Raises FileNotFoundError when no world is saved and ValueError when the world
    was not planned that far (see `simulate(max_days=...)`).
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    meta, tables, hazard = state.load(truth_dir(settings))
    last = meta.end_date + dt.timedelta(days=meta.max_days)
    target = meta.current_end + dt.timedelta(days=days)
    if target > last:
        raise ValueError(
            f"the world was planned up to {last} (max_days={meta.max_days}); it is at "
            f"{meta.current_end} and cannot go {days} more days"
        )
    # The campaigns the business ran since: their effects go into the world's future first.
    root = state.state_dir(truth_dir(settings))
    tables, treated = campaigns.apply_published(
        settings.exports_dir, root, tables, meta.current_end, meta.window.day_of(last)
    )
    if treated:
        state.save_tables(truth_dir(settings), tables, campaigns.CHANGED_TABLES)
        tables.sessions = state.scan_sessions(truth_dir(settings))
    defects_path = truth_dir(settings) / truth.DEFECTS_FILE
    previous = pl.read_parquet(defects_path) if defects_path.exists() else None
    log = DefectLog()
    if previous is not None and previous.height:
        log.frames.append(previous)
    exporter = Exporter(settings.landing_dir, tables, meta.defects, meta.orders_format,
                        meta.currency, log)  # fmt: skip
    totals: dict[str, int] = {"days": days}
    for k in range(1, days + 1):
        date = meta.current_end + dt.timedelta(days=1)
        for name, value in exporter.export(date, backfill=False).items():
            totals[name] = totals.get(name, 0) + value
        meta.current_end = date
        state.write_meta(truth_dir(settings), meta)
        logger.info("continued day %d/%d: %s", k, days, date)
    totals.update(truth.write_truth(truth_dir(settings), tables, hazard, meta.current_end,
                                    meta.orders_format, log.frame()))  # fmt: skip
    totals.update(experiment_truth.write(truth_dir(settings), root, tables, meta.current_end))
    totals["campaign_people"] = treated
    return totals


def _release_memory() -> None:
    """Hand freed heap memory back to the system where the C library allows it (glibc).

    The play-out frees many small per-day arrays; glibc keeps that memory in the process
    unless asked, and the exports would then run on top of it at scale l.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def world_exists(settings: Settings) -> bool:
    """True when `simulate` has saved a world under `truth_dir(settings)`."""
    return state.exists(truth_dir(settings))


def landing_is_empty(settings: Settings) -> bool:
    """True when the landing folder is missing or holds no files at any depth."""
    root = settings.landing_dir
    if not root.exists():
        return True
    return not any(p.is_file() for p in root.rglob("*"))
