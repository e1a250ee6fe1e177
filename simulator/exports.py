"""What lands in each export folder: the backfill on the world's end date and each continued
day's new files, for every source, with defects injected and recorded.

`Tables` is the world as the exporter reads it (from memory right after the play-out, or from
the saved state when a world is continued). `Exporter.export(date, backfill)` writes one
export-date folder per source and returns rows written per file kind.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from simulator import identity_noise, social
from simulator import writers as w
from simulator.defects import DefectLog, Defects, Emitter, FilePlan, stable_key
from simulator.population import DAY, STREAM_DEFECTS, Window, rng_for
from simulator.webexport import (
    MAX_LATE_DAYS,
    WebContext,
    ad_creatives,
    ads_insights,
    ads_insights_placements,
    capi_events,
    ga4_events,
    late_days,
)

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = (
    "shop", "orders", "mailchimp", "hubspot", "ga4", "meta_capi", "meta_ads", "typeform",
    "social",
)  # fmt: skip
DAILY_FILE_SOURCES: tuple[str, ...] = ("ga4", "meta_capi", "meta_ads")
GA4_BATCH_SESSIONS = 20_000  # sessions expanded to events at a time in the backfill
PART_ROWS = 100_000  # input rows formatted at a time for the big CSV files
CUSTOMER_FIELDS: tuple[str, ...] = (
    "person_id", "account_ts", "shop_customer_id", "first_name", "last_name", "shop_email",
    "accepts_flip", "company", "address1", "address2", "city_idx", "country_code", "zip_raw",
    "address_phone", "phone", "accepts_sms", "note", "tax_exempt", "role", "shop_tags",
)  # fmt: skip
CONTACT_FIELDS: tuple[str, ...] = (
    "person_id", "hs_create_ts", "hubspot_record_id", "hs_first_name", "hs_last_name",
    "hs_email", "hs_additional_emails", "hs_phone", "hs_mobile", "channel",
)  # fmt: skip


@dataclass
class Tables:
    """The world's tables as the exporter reads them (see `engine.World`); `people`,
    `orders` and `deals` carry the derived identifiers (and, in a world with identity noise,
    the columns `identity_noise.apply` adds)."""

    window: Window
    seed: int
    people: pl.DataFrame
    devices: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    sessions: pl.LazyFrame
    activity: pl.DataFrame
    campaigns: pl.DataFrame
    list_id: str
    mc_events: pl.DataFrame
    crm_events: pl.DataFrame
    deals: pl.DataFrame
    surveys: pl.DataFrame
    attribution: pl.DataFrame
    adsets: pl.DataFrame
    ads: pl.DataFrame
    ads_daily: pl.DataFrame
    # A world with identity noise: the person-level variations (`identity_noise.apply`).
    variations: pl.DataFrame | None = None
    # The social world (`social.build`), drawn on first use: it is a pure function of the
    # seed, the people and the window, so it is never saved.
    social_cache: social.SocialWorld | None = None

    def social_world(self) -> social.SocialWorld:
        """The social world of these tables, drawn once."""
        if self.social_cache is None:
            self.social_cache = social.build(self.seed, self.people, self.window)
        return self.social_cache


def empty_file_days(seed: int, window: Window, count: int) -> set[tuple[str, int]]:
    """The (source, day) files that come out empty: half of them in the history (so the
    backfill has some), the rest in the days a world can be continued by."""
    rng = rng_for(seed, STREAM_DEFECTS)
    chosen: set[tuple[str, int]] = set()
    in_history = (count + 1) // 2
    while len(chosen) < count:
        source = DAILY_FILE_SOURCES[int(rng.integers(0, len(DAILY_FILE_SOURCES)))]
        if len(chosen) < in_history:
            day = int(rng.integers(min(7, window.history_days - 1), window.history_days - 1))
        else:
            day = int(rng.integers(window.history_days, window.reveal_days))
        chosen.add((source, day))
    return chosen


class Exporter:
    """Writes export folders for one world."""

    def __init__(
        self,
        landing: Path,
        tables: Tables,
        defects: Defects,
        orders_format: str,
        currency: str,
        log: DefectLog,
    ) -> None:
        self.t, self.defects, self.format, self.currency = tables, defects, orders_format, currency
        self.log = log
        self.social_empty: set[tuple[str, int]] | None = None
        self.emit = Emitter(landing, log, tables.seed)
        self.win = tables.window
        self.empty = empty_file_days(tables.seed, tables.window, defects.empty_files)
        self.web = WebContext.build(
            tables.people, tables.devices, tables.orders, tables.lines,
            campaigns=tables.campaigns, ads=tables.ads, adsets=tables.adsets, seed=tables.seed,
            orders_format=orders_format, currency=currency,
        )  # fmt: skip
        self.epoch0 = self.win.history_start_ts // DAY

    # ----------------------------------------------------------------- helpers
    def _as_of(self, date: dt.date) -> int:
        return self.win.history_start_ts + (self.win.day_of(date) + 1) * DAY

    def _offset(self, date: dt.date) -> int:
        return (date - self.win.end_date).days

    def _plan(self, source: str, name: str, date: dt.date, **kw: object) -> FilePlan:
        latin1 = (
            self.defects.latin1_file == (source, name)
            and self._offset(date) == self.defects.latin1_day
        )
        plan = FilePlan(
            duplicate_rate=self.defects.duplicate_row_rate,
            malformed_rate=self.defects.malformed_row_rate,
            latin1=latin1,
        )
        for k, v in kw.items():
            setattr(plan, k, v)
        return plan

    def _header(self, source: str, name: str, date: dt.date, columns: list[str]) -> str:
        """The header line, with the world's one renamed column on its day."""
        rename = self.defects.renamed_column
        if (
            rename
            and (rename[0], rename[1]) == (source, name)
            and self._offset(date) == self.defects.renamed_column_day
            and rename[2] in columns
        ):
            columns = [rename[3] if c == rename[2] else c for c in columns]
            self.log.add(source, date, f"{source}/{date.isoformat()}/{name}", "renamed_column",
                         detail=f"{rename[2]} -> {rename[3]}")  # fmt: skip
        return ",".join(columns)

    def _csv(
        self,
        source: str,
        date: dt.date,
        name: str,
        frames: pl.DataFrame | Iterator[pl.DataFrame],
        marks: list[tuple[str, np.ndarray]] | None = None,
    ) -> int:
        """Write one CSV from a frame or from its consecutive parts (big files are
        formatted a part at a time; the first part, possibly empty, gives the header)."""
        parts = iter([frames]) if isinstance(frames, pl.DataFrame) else frames
        first = next(parts)
        header = self._header(source, name, date, first.columns)
        plan = self._plan(source, name, date)
        return self.emit.write(source, date, name, itertools.chain([first], parts), header,
                               plan, marks or [])  # fmt: skip

    @staticmethod
    def _parts(frame: pl.DataFrame, size: int = PART_ROWS) -> Iterator[pl.DataFrame]:
        """Consecutive slices of `frame` (one empty slice for an empty frame)."""
        yield frame.slice(0, size)
        for lo in range(size, frame.height, size):
            yield frame.slice(lo, size)

    # ----------------------------------------------------------------- the folders
    def export(self, date: dt.date, backfill: bool) -> dict[str, int]:
        """Write every source's files for export `date`: the full history when `backfill`,
        else that day's new data. Returns rows written per file kind."""
        counts: dict[str, int] = {}
        as_of = self._as_of(date)
        d = self.win.day_of(date)
        lo = 0 if backfill else d
        logger.info("export %s (%s)", date, "backfill" if backfill else "daily")
        steps = (
            ("shop", lambda: self._shop(date, as_of, lo, d, backfill, counts)),
            ("mailchimp", lambda: self._mailchimp(date, as_of, lo, d, backfill, counts)),
            ("hubspot", lambda: self._hubspot(date, as_of, lo, d, backfill, counts)),
            ("typeform", lambda: self._typeform(date, as_of, lo, d, counts)),
            ("ga4", lambda: self._ga4(date, d, backfill, counts)),
            ("meta_capi", lambda: self._capi(date, d, backfill, counts)),
            ("meta_ads", lambda: self._meta_ads(date, d, backfill, counts)),
            ("social", lambda: self._social(date, d, backfill, counts)),
        )
        for name, step in steps:
            step()
            logger.debug("export %s: %s written", date, name)
        return counts

    def _between(self, frame: pl.DataFrame, col: str, lo: int, d: int) -> pl.DataFrame:
        start = self.win.history_start_ts
        return frame.filter(pl.col(col).is_between(start + lo * DAY, start + (d + 1) * DAY,
                                                   closed="left"))  # fmt: skip

    def _shop(self, date: dt.date, as_of: int, lo: int, d: int, backfill: bool,
              counts: dict[str, int]) -> None:  # fmt: skip
        t = self.t
        orders = self._between(t.orders, "ts", lo, d)
        people = t.people
        counts["orders"] = orders.height
        if self.format == "generic":
            kept = orders.filter(~((pl.col("cancel_ts") >= 0) & (pl.col("cancel_ts") < as_of)))
            marks = self._order_marks(kept, as_of)[:1]
            frames = (w.generic_orders(part, t.lines, people, as_of, self.currency)
                      for part in self._parts(kept.sort("order_idx")))  # fmt: skip
            counts["order_lines"] = self._csv("orders", date, "orders.csv", frames, marks)
            return
        # Only the columns the export shows: the full people table is wide.
        status = w.member_status(t.mc_events, as_of).select(
            "person_id", (pl.col("status") == 0).alias("mc_subscribed")
        )
        # A noisy world's accounts: a second account is a row of its own, and a move shows.
        noisy = identity_noise.is_noisy(people)
        accounts = (
            identity_noise.shop_accounts(people, as_of, CUSTOMER_FIELDS) if noisy
            else people.select(CUSTOMER_FIELDS).filter(pl.col("account_ts") < as_of)
        ).join(status, on="person_id", how="left").with_columns(
            pl.col("mc_subscribed").fill_null(False))  # fmt: skip
        if not backfill:
            start = self.win.history_start_ts
            touched = pl.concat([
                orders["person_id"],
                self._between(t.mc_events, "ts", lo, d)["person_id"],
                self._between(accounts, "account_ts", lo, d)["person_id"],
                *([identity_noise.changed_between(people, start + lo * DAY,
                                                  start + (d + 1) * DAY)] if noisy else []),
            ]).unique()  # fmt: skip
            accounts = accounts.filter(pl.col("person_id").is_in(touched.implode()))
        totals = w.customer_totals(t.orders, as_of,
                                   ("person_id", "account2") if noisy else ("person_id",))
        accounts = accounts.sort(pl.col("shop_customer_id").cast(pl.Int64))
        frames = (w.shopify_customers(part, totals) for part in self._parts(accounts))
        counts["customers"] = self._csv("shop", date, "customers_export.csv", frames)

        added = self.defects.added_column
        extra = None
        if (added and (added[0], added[1]) == ("shop", "orders_export.csv")
                and self._offset(date) >= self.defects.added_column_day):  # fmt: skip
            extra = added
            self.log.add("shop", date, f"shop/{date.isoformat()}/orders_export.csv",
                         "added_column", detail=added[2])  # fmt: skip
        marks = self._order_marks(orders, as_of)
        frames = (w.shopify_orders(part, t.lines, people, as_of, self.currency,
                                   extra[2] if extra else None, extra[3] if extra else None)
                  for part in self._parts(orders.sort("order_idx"), PART_ROWS // 2))  # fmt: skip
        counts["order_lines"] = self._csv("shop", date, "orders_export.csv", frames, marks)

    def _order_marks(self, orders: pl.DataFrame, as_of: int) -> list[tuple[str, np.ndarray]]:
        """Clean row positions (one per line item) of test orders, and of the first row of
        orders refunded or cancelled by the export instant."""
        per_order = orders.sort("order_idx").join(
            self.t.lines.group_by("order_idx").len(), on="order_idx", how="left",
            maintain_order="left",
        )
        n_lines = per_order["len"].fill_null(0).to_numpy()
        first_row = np.cumsum(n_lines) - n_lines
        test = per_order["test"].to_numpy()
        test_rows = np.concatenate([first_row[i] + np.arange(n_lines[i])
                                    for i in np.flatnonzero(test)] or [np.zeros(0, np.int64)])
        refunded = ((per_order["refund_ts"] >= 0) & (per_order["refund_ts"] < as_of)).to_numpy()
        cancelled = ((per_order["cancel_ts"] >= 0) & (per_order["cancel_ts"] < as_of)).to_numpy()
        return [
            ("test_order", test_rows.astype(np.int64)),
            ("refund", first_row[refunded & ~cancelled]),
            ("cancellation", first_row[cancelled]),
        ]

    def _mailchimp(self, date: dt.date, as_of: int, lo: int, d: int, backfill: bool,
                   counts: dict[str, int]) -> None:  # fmt: skip
        t = self.t
        changed = self._between(t.mc_events, "ts", lo, d)
        if backfill or changed.height:
            status = w.member_status(t.mc_events, as_of)
            members = status.join(t.people.select("person_id", "leid"), on="person_id",
                                  how="left").sort("leid").drop("leid")  # fmt: skip
            total = 0
            for k, (status_name, file_name) in enumerate(w.MAILCHIMP_FILES.items()):
                mine = members.filter(pl.col("status") == k)
                frames = (w.mailchimp_members(t.people, part, t.campaigns)[status_name]
                          for part in self._parts(mine))  # fmt: skip
                n = self._csv("mailchimp", date, file_name, frames)
                counts[f"mailchimp_{status_name}"] = n
                total += n
            counts["mailchimp_members"] = total
        campaigns = self._between(t.campaigns, "send_ts", lo, d)
        counts["email_campaigns"] = self._csv(
            "mailchimp", date, "campaigns.csv", w.mailchimp_campaigns(campaigns, t.list_id)
        )
        activity = self._between(t.activity, "ts", lo, d)
        frames = (w.mailchimp_activity(part, t.people, t.campaigns)
                  for part in self._parts(activity, 5 * PART_ROWS))  # fmt: skip
        counts["email_activity"] = self._csv("mailchimp", date, "email_activity.csv", frames)

    def _hubspot(self, date: dt.date, as_of: int, lo: int, d: int, backfill: bool,
                 counts: dict[str, int]) -> None:  # fmt: skip
        t = self.t
        contacts = t.people.select(CONTACT_FIELDS).filter(pl.col("hs_create_ts") < as_of)
        deals = t.deals.filter(pl.col("create_ts") < as_of)
        if not backfill:
            touched = self._between(t.crm_events, "ts", lo, d)["person_id"].unique()
            contacts = contacts.filter(pl.col("person_id").is_in(touched.implode()))
            start = self.win.history_start_ts + d * DAY
            changed = pl.any_horizontal(
                pl.col(c).is_between(start, start + DAY, closed="left")
                for c in ("create_ts", "qualified_ts", "presentation_ts", "decision_ts",
                          "contract_ts", "close_ts")
            )  # fmt: skip
            deals = deals.filter(changed)
        state = w.crm_state(t.crm_events, as_of)
        contacts = contacts.sort(pl.col("hubspot_record_id").cast(pl.Int64))
        frames = (w.hubspot_contacts(part, state, t.deals, as_of)
                  for part in self._parts(contacts))  # fmt: skip
        counts["hubspot_contacts"] = self._csv("hubspot", date, "contacts.csv", frames)
        counts["hubspot_deals"] = self._csv(
            "hubspot", date, "deals.csv", w.hubspot_deals(deals, t.people, as_of)
        )

    def _typeform(self, date: dt.date, as_of: int, lo: int, d: int,
                  counts: dict[str, int]) -> None:  # fmt: skip
        del as_of
        t = self.t
        surveys = self._between(t.surveys, "submit_ts", lo, d)
        frame = w.typeform_responses(surveys, t.people, stable_key(t.seed, "typeform"))
        counts["typeform_responses"] = self._csv("typeform", date, "responses.csv", frame)

    # ----------------------------------------------------------------- web and ads
    def _sessions(self, lo: int, hi: int) -> pl.DataFrame:
        """Sessions of window days [lo, hi]."""
        return self.t.sessions.filter(pl.col("day").is_between(lo, hi)).collect()

    def _json(self, source: str, date: dt.date, name: str, lines: pl.DataFrame, day: int,
              first_write: bool, dup: float, dup_kind: str) -> int:  # fmt: skip
        plan = self._plan(source, name, date, json=True, duplicate_rate=dup,
                          malformed_rate=self.defects.malformed_json_rate, dup_kind=dup_kind,
                          bad_kind="malformed_json",
                          empty=first_write and (source, day) in self.empty)  # fmt: skip
        return self.emit.write(source, date, name, lines.select("line"), None, plan, [])

    def _ga4(self, date: dt.date, d: int, backfill: bool, counts: dict[str, int]) -> None:
        """GA4 day D lands in the export of D + 1; late events rewrite it in the next two."""
        rate = self.defects.ga4_late_session_rate
        if backfill:
            days = list(range(0, d))  # every day before the export date, as arrived by then
        else:
            days = [x for x in range(d - 1 - MAX_LATE_DAYS, d) if x >= 0]
        if not days:
            return
        total, files = 0, 0
        for lo, hi in self._batches(days, by_month=backfill):
            sessions = self._sessions(lo - 1, hi)
            events = ga4_events(self.web, sessions)
            delay = late_days(self.t.seed, events["session_uid"].to_numpy(), rate)
            events = events.with_columns(delay=pl.Series(delay, dtype=pl.Int64))
            if backfill:
                # Everything that had arrived by the export date, one file per range of days.
                arrived = events.filter(
                    (pl.col("delay") <= d - (pl.col("day") - self.epoch0 + 1))
                    & pl.col("day").is_between(self.epoch0 + lo, self.epoch0 + hi))
                total += self._json("ga4", date, self._range_name("events", lo, hi), arrived,
                                    -1, True, self.defects.ga4_duplicate_event_rate,
                                    "duplicate_event")
                files += 1 + self._empty_days("ga4", date, "events", lo, hi)
                continue
            by_day = events.partition_by("day", as_dict=True)
            empty = events.clear()
            for day in range(lo, hi + 1):
                allowed = d - (day + 1)
                mine = by_day.get((self.epoch0 + day,), empty)
                arriving = mine.filter(pl.col("delay") == allowed)
                if not backfill and day < d - 1 and arriving.is_empty():
                    continue  # no late events for that day today: no rewrite
                part = mine.filter(pl.col("delay") <= allowed)
                name = f"events_{self.win.date_of(day):%Y%m%d}.ndjson"
                first = allowed == 0 or backfill
                n = self._json("ga4", date, name, part, day, first,
                               self.defects.ga4_duplicate_event_rate, "duplicate_event")
                if allowed > 0 and not backfill:
                    self.log.add("ga4", date, f"ga4/{date.isoformat()}/{name}", "late_rewrite",
                                 detail=f"{arriving.height} late events")  # fmt: skip
                total += n
                files += 1
        counts["ga4_events"] = total
        counts["ga4_files"] = files

    def _batches(self, days: list[int], by_month: bool = False) -> list[tuple[int, int]]:
        """Consecutive day ranges [lo, hi] holding about GA4_BATCH_SESSIONS sessions each
        (and, with `by_month`, never crossing a month)."""
        per_day = (
            self.t.sessions.filter(pl.col("day").is_between(days[0], days[-1]))
            .group_by("day").len().collect()
        )  # fmt: skip
        sizes = dict(zip(per_day["day"].to_list(), per_day["len"].to_list(), strict=True))
        out, lo, acc = [], days[0], 0
        for day in days:
            acc += sizes.get(day, 0)
            month_ends = by_month and self._month(day + 1) != self._month(day)
            if acc >= GA4_BATCH_SESSIONS or day == days[-1] or month_ends:
                out.append((lo, day))
                lo, acc = day + 1, 0
        return out

    def _month(self, day: int) -> str:
        return f"{self.win.date_of(day):%Y%m}"

    def _range_name(self, prefix: str, lo: int, hi: int) -> str:
        """A backfill file holds a range of days, as a date-range export or query writes."""
        return f"{prefix}_{self.win.date_of(lo):%Y%m%d}_{self.win.date_of(hi):%Y%m%d}.ndjson"

    def _empty_days(self, source: str, date: dt.date, prefix: str, lo: int, hi: int) -> int:
        """Empty-file defects that fall in a backfill range: an export of that day came out
        empty beside the range file (the day's data is in the range file). Returns how many."""
        written = 0
        for day in range(lo, hi + 1):
            if (source, day) in self.empty:
                name = f"{prefix}_{self.win.date_of(day):%Y%m%d}.ndjson"
                self._json(source, date, name, pl.DataFrame(schema={"line": pl.String}), day,
                           True, 0.0, "duplicate_row")
                written += 1
        return written

    def _capi(self, date: dt.date, d: int, backfill: bool, counts: dict[str, int]) -> None:
        days = list(range(0, d + 1)) if backfill else [d]
        total = 0
        for lo, hi in self._batches(days, by_month=backfill):
            events = capi_events(self.web, self._sessions(lo - 1, hi))
            if backfill:
                part = events.filter(pl.col("day").is_between(self.epoch0 + lo, self.epoch0 + hi))
                total += self._json("meta_capi", date, self._range_name("events", lo, hi), part,
                                    -1, True, self.defects.capi_duplicate_rate, "capi_duplicate")
                self._empty_days("meta_capi", date, "events", lo, hi)
                continue
            by_day = events.partition_by("day", as_dict=True)
            empty = events.clear()
            for day in range(lo, hi + 1):
                part = by_day.get((self.epoch0 + day,), empty)
                name = f"events_{self.win.date_of(day):%Y%m%d}.ndjson"
                total += self._json("meta_capi", date, name, part, day, True,
                                    self.defects.capi_duplicate_rate, "capi_duplicate")
        counts["capi_events"] = total

    def _meta_ads(self, date: dt.date, d: int, backfill: bool, counts: dict[str, int]) -> None:
        """Day D first in the export of D, restated in the next two."""
        days = list(range(0, d + 1)) if backfill else [x for x in (d, d - 1, d - 2) if x >= 0]
        wanted = pl.DataFrame({"day": days, "version": [min(d - x, 2) for x in days]},
                              schema={"day": pl.Int64, "version": pl.Int64})  # fmt: skip
        self._meta_ads_creatives(date, d, counts)
        self._meta_ads_insights(date, d, backfill, days, wanted, counts)
        self._meta_ads_insights(date, d, backfill, days, wanted, counts, placements=True)

    def _meta_ads_creatives(self, date: dt.date, d: int, counts: dict[str, int]) -> None:
        """The ads and their creatives as the Marketing API lists them on day D."""
        lines = ad_creatives(self.web, self.t.ads_daily, d, self.win.history_start_ts)
        name = f"ad_creatives_{date:%Y%m%d}.ndjson"
        counts["ad_creatives_rows"] = self._json("meta_ads", date, name, lines, d, False, 0.0,
                                                 "duplicate_row")  # fmt: skip

    def _meta_ads_insights(self, date: dt.date, d: int, backfill: bool, days: list[int],
                           wanted: pl.DataFrame, counts: dict[str, int],
                           placements: bool = False) -> None:  # fmt: skip
        """Ad-level Insights files (`ads_insights_*`), or with `placements` the same days
        broken down by placement (`placement_insights_*`)."""
        build = ads_insights_placements if placements else ads_insights
        prefix = "placement_insights" if placements else "ads_insights"
        lines = build(self.web, self.t.ads_daily, self.t.attribution, wanted,
                      self.win.history_start_ts)  # fmt: skip
        total = 0
        if backfill:
            for lo, hi in self._batches(days, by_month=True):
                part = lines.filter(pl.col("day").is_between(lo, hi)).drop("day")
                total += self._json("meta_ads", date, self._range_name(prefix, lo, hi),
                                    part, -1, True, 0.0, "duplicate_row")
                self._empty_days("meta_ads", date, prefix, lo, hi)
            counts[f"{prefix}_rows"] = total
            return
        by_day = lines.partition_by("day", as_dict=True, include_key=False)
        empty = pl.DataFrame(schema={"line": pl.String})
        for day in days:
            version = d - day
            name = f"{prefix}_{self.win.date_of(day):%Y%m%d}.ndjson"
            part = by_day.get((day,), empty)
            total += self._json("meta_ads", date, name, part, day, version == 0 or backfill,
                                0.0, "duplicate_row")  # fmt: skip
            if version > 0 and not backfill:
                self.log.add("meta_ads", date, f"meta_ads/{date.isoformat()}/{name}", "restated",
                             detail=f"version {version}")  # fmt: skip
        counts[f"{prefix}_rows"] = total

    # ----------------------------------------------------------------- social media
    def _social(self, date: dt.date, d: int, backfill: bool, counts: dict[str, int]) -> None:
        """The social files of export `date`, as of its start (`simulator/SOCIAL_FORMATS.md`):
        the backfill holds everything to date, a daily export the posts of the last 28
        days restated and what arrived on the day before."""
        sw = self.t.social_world()
        as_of = self.win.history_start_ts + d * DAY
        since = as_of - social.RESTATE_DAYS * DAY
        lo = 0 if backfill else as_of - DAY
        if self.social_empty is None:
            self.social_empty = social.empty_days(self.t.seed, self.win, self.defects.empty_files)
        metrics = social.post_metrics(sw, as_of)
        if not backfill:
            metrics = metrics.filter(pl.col("publish_ts") >= since)
        for key, name, header, rows in (
            ("social_facebook_posts", social.FB_POSTS_FILE, social.FB_POST_COLUMNS,
             social.fb_post_rows(sw, metrics)),
            ("social_instagram_posts", social.IG_POSTS_FILE, social.IG_POST_COLUMNS,
             social.ig_post_rows(sw, metrics)),
        ):  # fmt: skip
            counts[key] = social.write_csv(self.emit.landing, self.t.seed, date, name, header,
                                           rows, header.index("Views"), self.defects, self.log)
        for key, name, lines in (
            ("social_comments", social.COMMENTS_FILE, social.comment_lines(sw, lo, as_of)),
            ("social_reactions", social.REACTIONS_FILE,
             social.reaction_lines(sw, lo, as_of, None if backfill else since)),
            ("social_messages", social.MESSAGES_FILE, social.message_lines(sw, lo, as_of)),
            ("social_audience", social.AUDIENCE_FILE, social.audience_lines(sw, as_of, date)),
        ):  # fmt: skip
            plan = self._plan(social.SOURCE, name, date, json=True,
                              duplicate_rate=self.defects.duplicate_row_rate,
                              malformed_rate=self.defects.malformed_json_rate,
                              bad_kind="malformed_json",
                              empty=not backfill and (name, d) in self.social_empty)
            frame = pl.DataFrame({"line": lines}, schema={"line": pl.String})
            counts[key] = self.emit.write(social.SOURCE, date, name, frame, None, plan, [])


__all__ = ["SOURCES", "Exporter", "Tables", "empty_file_days"]
