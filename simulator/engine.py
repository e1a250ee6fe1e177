"""The day-by-day play-out of the simulated world, past and hidden future.

Each day, vectorised over everyone it concerns: people arrive (buying, signing up, or just
looking), the planned email campaigns go out and are opened, clicked or unsubscribed from,
clicks bring people to the site, leads convert, customers reorder at their hidden rate (more
in the gift season, after an email click, or when a retargeting ad reaches them), orders are
refunded or cancelled, and customers leave for good at a hazard that moves with their
experience: unsubscribing, email fatigue, problems with an order, discounts. Web sessions are
drawn for every day that can ever be exported; after that only what the truth needs (orders,
churn) is played out.

There is a Python loop over days, never over people, orders or events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from simulator import context as seasonal
from simulator import reference as ref
from simulator.plan import EFFECTS, REGIONS, AdPlan, EmailPlan, calendar_arrays, hill
from simulator.population import (
    ACCOUNT,
    BUYER,
    DAY,
    LEAD,
    STAFF,
    STREAM_CRM,
    STREAM_PLAYOUT,
    SUBSCRIBED_HAZARD_MULT,
    UNSUB_HAZARD_MULT,
    VISITOR,
    Window,
    categorical,
    local_seconds,
    rng_for,
)

logger = logging.getLogger(__name__)

# Mailchimp states in the engine (index into MAILCHIMP_STATUSES; -1 = not a member).
SUB, UNSUB, CLEANED, NONSUB = 0, 1, 2, 3
# Session kinds.
BROWSE, PURCHASE, LEAD_FORM, SIGNUP = 0, 1, 2, 3
SESSION_KINDS: tuple[str, ...] = ("browse", "purchase", "lead", "signup")
EMAIL_CHANNEL = ref.CHANNELS.index("email")
PAID_SOCIAL = ref.CHANNELS.index("paid_social")
DIRECT = ref.CHANNELS.index("direct")
# Email activity actions.
ACTIONS: tuple[str, ...] = ("open", "click", "bounce", "unsubscribe")
OPEN, CLICK, BOUNCE, UNSUBSCRIBE = 0, 1, 2, 3

MAX_DEVICES = 3
LINES_PER_ORDER_P = (0.62, 0.28, 0.10)  # 1, 2 or 3 lines
QUANTITY_P = (0.72, 0.18, 0.07, 0.03)  # 1..4 units
FAVOURITE_CATEGORY_P = 0.65
SEASON_PEAK_DAY = 340.0  # day of year: early December, gift season
SEASON_WIDTH_DAYS = 15.0
FATIGUE_DECAY = float(np.exp(-1.0 / 30.0))  # emails received fade over about a month
FATIGUE_HAZARD_SLOPE = 0.8  # hazard rises by this much per tolerance-worth of extra emails
ISSUE_HAZARD_MULT = 2.0  # a refund, cancellation or late delivery triples the hazard at first
ISSUE_MEMORY_DAYS = 60.0
DISCOUNT_MEMORY_DAYS = 45.0
LEFT_OPEN_FACTOR = 0.35  # people who left still open some email
CLICK_BUY_P, CLICK_BUY_CODE_P = 0.05, 0.11
CLICK_CONVERT_P = 0.04  # a lead who clicks an email places a first order that day
ATTRIBUTION_DAYS = 7  # Meta's 7-day click window
SURVEY_P = 0.08
LATE_DELIVERY_P = 0.03
EU_SHIPPING, NA_SHIPPING = 1299, 599
EU_FREE_OVER, NA_FREE_OVER = 6000, 5000
EXPRESS_P, EXPRESS_EXTRA = 0.10, 900
PICKUP_P = 0.02
# Discount codes a shopper may type: the standing codes, then the campaign codes.
CODES: tuple[tuple[str, int], ...] = (
    *zip(ref.DISCOUNT_CODES, ref.DISCOUNT_PCTS, strict=True),
    ("SPRING15", 15), ("SUMMER10", 10), ("BFCM25", 25), ("MISSYOU10", 10),
)  # fmt: skip
CODE_INDEX = {code: k for k, (code, _) in enumerate(CODES)}
FREESHIP = CODE_INDEX["FREESHIP"]
WELCOME = CODE_INDEX["WELCOME10"]


@dataclass
class World:
    """Everything the play-out produced. Times are epoch seconds (UTC); `day` is the index of
    the UTC day in the window. Rows are in time order unless said otherwise.

    `people`: the population plus first_order_ts, account_ts, left_ts and hs_create_ts
    (null where it never happened). `devices`: person_id, device_idx and the cookie
    and browser draws. `orders`: one row per order (order_idx = row position) with person,
    ts, day, channel, ad_idx, camp_idx, code_idx, subtotal/shipping/tax/total/discount cents,
    refund_cents, refund_ts, cancel_ts, paid_ts, fulfilled_ts, payment, shipping_method,
    test, email_kind, accepts_marketing, late. `lines`: order_idx, line_no, product_idx,
    quantity, unit_cents, amount_cents. `sessions`: one row per web session (session_uid =
    row position) with person_id, device_idx, ts, day, channel, ad_idx, camp_idx, kind,
    order_idx, product_idx, cart, checkout, n_pages, logged_in, session_number, gen,
    ft_channel, ft_ts. `email_activity`: camp_idx, person_id, action, ts. `campaigns`: the
    email plan plus emails_sent. `mc_events`: person_id, ts, status, camp_idx. `crm_events`:
    person_id, ts, stage, lead_status. `deals`: one row per deal. `surveys`: one row per
    NPS response. `attribution`: ad_idx, click_day, order_idx, ts, value_cents, kind
    (0 purchase, 1 lead). `hazard`: daily churn hazard per person at the end of each day
    from end_date to end_date + max_days (rows) x people (columns).
    """

    window: Window
    seed: int
    people: pl.DataFrame
    devices: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    sessions: pl.DataFrame
    email_activity: pl.DataFrame
    campaigns: pl.DataFrame
    list_id: str
    mc_events: pl.DataFrame
    crm_events: pl.DataFrame
    deals: pl.DataFrame
    surveys: pl.DataFrame
    attribution: pl.DataFrame
    ads: AdPlan
    hazard: np.ndarray


def season_factor(doy: np.ndarray | float, amplitude: np.ndarray) -> np.ndarray:
    """Relative purchase intensity on day of year `doy` for people with Q4 `amplitude`;
    returns 1 outside the season, up to 1 + amplitude at its peak."""
    bump = np.exp(-0.5 * ((np.asarray(doy) - SEASON_PEAK_DAY) / SEASON_WIDTH_DAYS) ** 2)
    return 1.0 + amplitude * bump


I8, I16, I32, I64, B = np.int8, np.int16, np.int32, np.int64, np.bool_
ORDER_COLUMNS = {
    "person": I32, "ts": I64, "day": I32, "channel": I8, "ad": I16, "camp": I16, "code": I8,
    "subtotal": I64, "shipping": I32, "tax": I32, "total": I64, "discount": I32, "refund": I64,
    "refund_ts": I64, "cancel_ts": I64, "paid_ts": I64, "fulfilled_ts": I64, "payment": I8,
    "method": I8, "test": B, "email_kind": I8, "accepts": B, "late": B,
}  # fmt: skip
LINE_COLUMNS = {"order": I64, "line_no": I8, "product": I16, "quantity": I16, "unit": I32,
                "amount": I32}  # fmt: skip
SESSION_COLUMNS = {
    "uid": I64, "person": I32, "device": I8, "ts": I64, "day": I32, "channel": I8, "ad": I16,
    "camp": I16, "kind": I8, "order": I64, "product": I16, "views_item": B, "cart": B,
    "checkout": B, "n_pages": I16, "logged_in": B, "number": I32, "gen": I16,
    "ft_channel": I8, "ft_ts": I64,
}  # fmt: skip
ACTIVITY_COLUMNS = {"camp": I16, "person": I32, "action": I8, "ts": I64}
MC_COLUMNS = {"person": I32, "ts": I64, "status": I8, "camp": I16}
CRM_COLUMNS = {"person": I32, "ts": I64, "stage": I8, "status": I8}
SURVEY_COLUMNS = {"person": I32, "order": I64, "start": I64, "submit": I64, "score": I8,
                  "topic": I8, "pick": I64, "has_comment": B}  # fmt: skip
ATTRIBUTION_COLUMNS = {"ad": I16, "click_day": I32, "order": I64, "ts": I64, "value": I64,
                       "kind": I8}  # fmt: skip


class _Collector:
    """Per-day arrays of one output table in compact dtypes, concatenated at the end.

    Every CONSOLIDATE_DAYS parts are merged into one chunk: the small per-day arrays then
    reuse the same heap memory day after day while the big chunks are separate allocations
    that go back to the system when the table is built (otherwise the freed per-day arrays
    stay in the process as fragmented heap).
    """

    CONSOLIDATE_DAYS = 32

    def __init__(self, dtypes: dict[str, Any]) -> None:
        self.dtypes = dtypes
        self.parts: list[dict[str, np.ndarray]] = []
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(self, **columns: np.ndarray) -> None:
        """Append one day's rows (one array per column; empty days are skipped)."""
        if len(next(iter(columns.values()))):
            self.parts.append(
                {k: np.asarray(columns[k]).astype(t, copy=False) for k, t in self.dtypes.items()}
            )
            if len(self.parts) >= self.CONSOLIDATE_DAYS:
                self._consolidate()

    def _consolidate(self) -> None:
        if self.parts:
            self.chunks.append(
                {k: np.concatenate([p[k] for p in self.parts]) for k in self.dtypes}
            )
            self.parts = []

    def frame(self, rename: dict[str, str]) -> pl.DataFrame:
        """The table, one column at a time so at most one extra column is in memory;
        `person` (0-based) becomes `person_id` (1-based Int64), other columns renamed."""
        self._consolidate()
        series = []
        for name, dtype in self.dtypes.items():
            values = (np.concatenate([p.pop(name) for p in self.chunks]) if self.chunks
                      else np.zeros(0, dtype=dtype))  # fmt: skip
            if name == "person":
                series.append(pl.Series("person_id", values.astype(np.int64) + 1))
            else:
                series.append(pl.Series(rename.get(name, name), values))
            del values
        self.chunks = []
        return pl.DataFrame(series)


class Engine:
    """Runs the play-out; build one with the population and plans, then call `run`."""

    def __init__(
        self,
        seed: int,
        window: Window,
        people: pl.DataFrame,
        devices: pl.DataFrame,
        ads: AdPlan,
        email: EmailPlan,
        refund_rate: float,
        partial_refund_share: float,
        cancel_rate: float,
        test_order_rate: float,
    ) -> None:
        self.seed, self.window, self.ads, self.email = seed, window, ads, email
        self.refund_rate, self.partial_share = refund_rate, partial_refund_share
        self.cancel_rate, self.test_order_rate = cancel_rate, test_order_rate
        self.rng = rng_for(seed, STREAM_PLAYOUT)
        self.people = people
        self.devices = devices
        n = people.height
        self.n = n
        col = people.get_column

        def arr(name: str) -> np.ndarray:
            return col(name).to_numpy()

        self.role, self.persona = arr("role"), arr("persona_idx")
        self.region, self.channel = arr("region"), arr("channel")
        self.arrive_day, self.arrive_ts, self.arrival_ad = (
            arr("arrive_day"), arr("arrive_ts"), arr("arrival_ad"))  # fmt: skip
        self.rate, self.tier, self.fav = arr("purchase_rate"), arr("price_tier"), arr(
            "fav_category")  # fmt: skip
        self.disc_prob, self.seasonality = arr("discount_prob"), arr("seasonality")
        self.base_hazard, self.open_rate, self.click_rate = (
            arr("base_hazard"), arr("open_rate"), arr("click_rate"))  # fmt: skip
        self.tolerance, self.send_hour, self.gmtoff = (
            arr("fatigue_tolerance"), arr("send_hour_local").astype(np.float64), arr("gmtoff"))
        self.lead_q, self.nps_base = arr("lead_q"), arr("nps_base")
        self.persona_hazard, self.nps_topic = arr("persona_hazard"), arr("nps_topic")
        self.relief, self.basket_boost = arr("discount_relief"), arr("basket_boost")
        self.mpp, self.b2b = arr("mpp"), arr("b2b")
        self.mc_nonsub = arr("mc_nonsub")
        latitudes = np.array([float(c.latitude) for c in ref.CITIES])
        self.latitude = latitudes[arr("city_idx")]
        daily = ads.daily
        self.daily_day, self.daily_ad = daily["day"].to_numpy(), daily["ad_idx"].to_numpy()
        self.daily_link = daily["link_clicks"].to_numpy()
        self.ad_adset = ads.ads["adset_idx"].to_numpy()
        self.adset_effect = ads.adsets["effect"].to_numpy()
        self.adset_region = ads.adsets["region"].to_numpy()
        country = col("country_code")
        self.tax_bp = country.replace_strict(ref.TAX_BP, return_dtype=pl.Int64).to_numpy()
        self.eu = self.region == 1

        dev_count = devices.group_by("person_id").len().sort("person_id")
        self.n_dev = np.zeros(n, dtype=np.int64)
        self.n_dev[dev_count["person_id"].to_numpy() - 1] = dev_count["len"].to_numpy()
        self.cookie_days = np.zeros(n * MAX_DEVICES, dtype=np.int64)
        dev_key = (devices["person_id"].to_numpy() - 1) * MAX_DEVICES + devices[
            "device_idx"
        ].to_numpy()
        self.cookie_days[dev_key] = devices["cookie_days"].to_numpy()

        price = np.array([p for _, _, p in ref.catalogue()], dtype=np.int64)
        self.price = price
        self.months, self.weekday, self.doy = calendar_arrays(window)

        # State.
        never = np.iinfo(np.int64).min // 4
        self.customer = np.zeros(n, dtype=bool)
        self.first_order_ts = np.full(n, -1, dtype=np.int64)
        self.account_ts = np.full(n, -1, dtype=np.int64)
        self.left = np.zeros(n, dtype=bool)
        self.left_ts = np.full(n, -1, dtype=np.int64)
        self.mc = np.full(n, -1, dtype=np.int64)
        self.fatigue = np.zeros(n)
        self.issue_ts = np.full(n, never, dtype=np.int64)
        self.disc_ts = np.full(n, never, dtype=np.int64)
        self.last_click_ad = np.full(n, -1, dtype=np.int64)
        self.last_click_ts = np.full(n, never, dtype=np.int64)
        self.last_order_ts = np.full(n, -1, dtype=np.int64)
        self.email_clicks = np.zeros(n, dtype=np.int64)
        self.stage = np.full(n, -1, dtype=np.int64)
        self.hs_create_ts = np.full(n, -1, dtype=np.int64)
        k = n * MAX_DEVICES
        self.sess_count = np.zeros(k, dtype=np.int64)
        self.gen_cur = np.zeros(k, dtype=np.int64)
        self.dev_first_ts = np.full(k, -1, dtype=np.int64)
        self.ft_channel = np.zeros(k, dtype=np.int64)
        self.ft_ts = np.zeros(k, dtype=np.int64)
        self.next_order = 0
        self.next_session = 0
        self.pending_clicks: dict[int, list[np.ndarray]] = {}

        crm_rng = rng_for(seed, STREAM_CRM)
        # Shopify customers synced to HubSpot by its integration (the rest never are).
        self.hs_sync = crm_rng.random(n) < 0.6
        self._plan_b2b(crm_rng)

        self.out_orders = _Collector(ORDER_COLUMNS)
        self.out_lines = _Collector(LINE_COLUMNS)
        self.out_sessions = _Collector(SESSION_COLUMNS)
        self.out_activity = _Collector(ACTIVITY_COLUMNS)
        self.out_mc, self.out_crm = _Collector(MC_COLUMNS), _Collector(CRM_COLUMNS)
        self.out_surveys = _Collector(SURVEY_COLUMNS)
        self.out_attr = _Collector(ATTRIBUTION_COLUMNS)
        self.sent = np.zeros(email.campaigns.height, dtype=np.int64)
        self.camp_code = np.array(
            [CODE_INDEX.get(c, -1) for c in email.campaigns["code"].to_list()], dtype=np.int64
        )
        self.hazard = np.zeros((window.max_days + 1, n), dtype=np.float32)

    # ----------------------------------------------------------------- planning helpers
    def _plan_b2b(self, rng: np.random.Generator) -> None:
        """Deal timelines for office leads: MQL, SQL, opportunity (a deal), then won or lost.
        Drawn up front; a won deal is the lead's conversion (a first order at close)."""
        idx = np.flatnonzero(self.b2b)
        k = len(idx)
        t0 = self.arrive_ts[idx].astype(np.float64)
        mql = t0 + rng.exponential(7 * DAY, k)
        qualifies = rng.random(k) < 0.65
        sql = mql + rng.exponential(14 * DAY, k)
        unqualified = mql + rng.exponential(30 * DAY, k)
        opportunity = qualifies & (rng.random(k) < 0.75)
        opp = sql + rng.exponential(10 * DAY, k)
        steps = opp[:, None] + np.cumsum(rng.exponential(7 * DAY, (k, 4)), axis=1)
        wins = opportunity & (rng.random(k) < 0.55)
        close = steps[:, -1] + rng.exponential(20 * DAY, k)
        lost = opp + rng.exponential(45 * DAY, k)
        close = np.where(wins, close, lost)
        # Lost deals stop where they stalled.
        reached = np.where(wins[:, None], True, steps < lost[:, None])
        self.b2b_idx = idx
        self.b2b_times = {
            "mql": mql.astype(np.int64),
            "sql": np.where(qualifies, sql, -1).astype(np.int64),
            "unqualified": np.where(qualifies, -1, unqualified).astype(np.int64),
            "opp": np.where(opportunity, opp, -1).astype(np.int64),
            "close": np.where(opportunity, close, -1).astype(np.int64),
            "won": wins,
        }
        stage_ts = np.where(reached & opportunity[:, None], steps, -1).astype(np.int64)
        amount = (rng.integers(24, 300, k) * 5000).astype(np.int64)  # $1,200-$15,000
        has_deal = np.flatnonzero(opportunity)
        self.deals = pl.DataFrame(
            {
                "deal_idx": np.arange(len(has_deal), dtype=np.int64),
                "person_id": (idx[has_deal] + 1).astype(np.int64),
                "create_ts": opp[has_deal].astype(np.int64),
                "qualified_ts": stage_ts[has_deal, 0],
                "presentation_ts": stage_ts[has_deal, 1],
                "decision_ts": stage_ts[has_deal, 2],
                "contract_ts": stage_ts[has_deal, 3],
                "close_ts": close[has_deal].astype(np.int64),
                "won": wins[has_deal],
                "amount_cents": amount[has_deal],
            }
        ).sort("create_ts", "person_id")
        self.deals = self.deals.with_columns(
            deal_idx=pl.int_range(pl.len(), dtype=pl.Int64)
        )
        # First orders scheduled by winning a deal.
        self.won_person = idx[wins]
        self.won_ts = close[wins].astype(np.int64)
        # CRM stage changes known in advance (lead status follows the stage).
        start = self.window.history_start_ts
        ev_person, ev_ts, ev_stage, ev_status = [], [], [], []
        for key, stage, status in (("mql", 2, 1), ("sql", 3, 2), ("opp", 4, 3),
                                   ("unqualified", -1, 4)):  # fmt: skip
            t = self.b2b_times[key]
            ok = t >= 0
            ev_person.append(idx[ok])
            ev_ts.append(t[ok])
            ev_stage.append(np.full(ok.sum(), stage))
            ev_status.append(np.full(ok.sum(), status))
        lost_deal = opportunity & ~wins
        ev_person.append(idx[lost_deal])
        ev_ts.append(close[lost_deal].astype(np.int64))
        ev_stage.append(np.full(lost_deal.sum(), -1))
        ev_status.append(np.full(lost_deal.sum(), 7))  # BAD_TIMING
        person = np.concatenate(ev_person)
        ts = np.concatenate(ev_ts)
        keep = ts >= start
        self.b2b_events = (person[keep], ts[keep], np.concatenate(ev_stage)[keep],
                           np.concatenate(ev_status)[keep])  # fmt: skip

    # ----------------------------------------------------------------- the loop
    def run(self) -> World:
        """Play every day out and return the `World`."""
        w = self.window
        order = np.argsort(self.arrive_day, kind="stable")
        bounds = np.searchsorted(self.arrive_day[order], np.arange(w.n_days + 1))
        join_ts = self._join_times()
        join_day = np.where(join_ts >= 0, (join_ts - w.history_start_ts) // DAY, -1)
        j_order = np.argsort(join_day, kind="stable")
        j_bounds = np.searchsorted(join_day[j_order], np.arange(w.n_days + 1))
        won_day = (self.won_ts - w.history_start_ts) // DAY
        w_order = np.argsort(won_day, kind="stable")
        w_bounds = np.searchsorted(won_day[w_order], np.arange(w.n_days + 1))
        b2b_p, b2b_ts, b2b_stage, b2b_status = self.b2b_events
        b2b_day = (b2b_ts - w.history_start_ts) // DAY
        e_order = np.argsort(b2b_day, kind="stable")
        e_bounds = np.searchsorted(b2b_day[e_order], np.arange(w.n_days + 1))
        camp_day = self.email.campaigns["day"].to_numpy()
        for d in range(w.n_days):
            t0 = w.history_start_ts + d * DAY
            arrivals = order[bounds[d] : bounds[d + 1]]
            self._joins(j_order[j_bounds[d] : j_bounds[d + 1]], join_ts)
            self._crm_arrivals(arrivals)
            sel = e_order[e_bounds[d] : e_bounds[d + 1]]
            self._crm_scheduled(b2b_p[sel], b2b_ts[sel], b2b_stage[sel], b2b_status[sel])
            for c in np.flatnonzero(camp_day == d):
                self._send(int(c), d)
            orders = self._day_orders(d, t0, arrivals, w_order[w_bounds[d] : w_bounds[d + 1]])
            self._place(d, t0, orders)
            self._churn(d, t0)
            self._decay()
            if d >= w.history_days - 1 and d < w.reveal_days:
                self.hazard[d - (w.history_days - 1)] = self.current_hazard(t0 + DAY)
            if d % 100 == 0:
                logger.info("day %d/%d: %d orders so far", d, w.n_days, self.next_order)
        return self._world()

    def _join_times(self) -> np.ndarray:
        """When each Mailchimp member joins: leads at arrival, shop people at a popup near
        their first visit (never before the calendar starts); -1 for non-members."""
        member = self.people["mc_member"].to_numpy()
        popup = self.people["popup_offset"].to_numpy()
        ts = self.arrive_ts + popup
        # Nobody joins before the shop opened: those sign up when they arrive.
        ts = np.where(ts < self.window.history_start_ts, self.arrive_ts, ts)
        return np.where(member, ts, -1)

    def _joins(self, who: np.ndarray, join_ts: np.ndarray) -> None:
        if not len(who):
            return
        nonsub = self.mc_nonsub[who]
        status = np.where(nonsub, NONSUB, SUB)
        self.mc[who] = status
        self.out_mc.add(person=who, ts=join_ts[who], status=status, camp=np.full(len(who), -1))

    def _crm_arrivals(self, who: np.ndarray) -> None:
        """Leads become HubSpot contacts when they arrive: form fills as leads, newsletter
        signups as subscribers."""
        leads = who[self.role[who] == LEAD]
        if not len(leads):
            return
        form = self.b2b[leads] | (self.channel[leads] == PAID_SOCIAL)
        stage = np.where(form, 1, 0)
        self.stage[leads] = stage
        self.hs_create_ts[leads] = self.arrive_ts[leads]
        self.out_crm.add(person=leads, ts=self.arrive_ts[leads], stage=stage,
                         status=np.zeros(len(leads), dtype=np.int64))  # fmt: skip

    def _crm_scheduled(
        self, who: np.ndarray, ts: np.ndarray, stage: np.ndarray, status: np.ndarray
    ) -> None:
        if not len(who):
            return
        keep_stage = stage < 0
        stage = np.where(keep_stage, self.stage[who], stage)
        ok = ~self.customer[who]
        self.stage[who[ok]] = stage[ok]
        self.out_crm.add(person=who[ok], ts=ts[ok], stage=stage[ok], status=status[ok])

    # ----------------------------------------------------------------- email
    def _send(self, c: int, d: int) -> None:
        """Send campaign row `c`: recipients, then opens, clicks, bounces and unsubscribes."""
        camp = self.email.campaigns.row(c, named=True)
        rng = self.rng
        send_ts = int(camp["send_ts"])
        rec = np.flatnonzero(self.mc == SUB)
        if camp["lapsed_only"]:
            rec = rec[(self.last_order_ts[rec] < send_ts - 90 * DAY)]
        if camp["variant"]:
            # Variants split the list by a stable hash of the person and the test.
            h = (rec * 2654435761 + int(camp["ab_group"]) * 97) % 1000
            rec = rec[(h < 500) == (camp["variant"] == "A")]
        self.sent[c] = len(rec)
        if not len(rec):
            return
        k = len(rec)
        left = self.left[rec]
        excess = np.maximum(0.0, self.fatigue[rec] - self.tolerance[rec])
        self.fatigue[rec] += 1.0
        bounce = rng.random(k) < 0.003
        p_open = self.open_rate[rec] * camp["appeal"] * np.exp(-0.15 * excess)
        p_open = np.where(left, p_open * LEFT_OPEN_FACTOR, p_open)
        opened = ~bounce & (rng.random(k) < p_open)
        promo = 1.4 if camp["code"] else 1.0
        p_click = np.clip(self.click_rate[rec] * promo * np.where(left, 0.2, 1.0), 0, 1)
        clicked = opened & (rng.random(k) < p_click)
        p_unsub = 0.0015 + 0.004 * excess / self.tolerance[rec] + np.where(left, 0.004, 0.0)
        unsub = ~bounce & (rng.random(k) < np.minimum(p_unsub, 0.2))
        mpp = ~bounce & self.mpp[rec]

        # Real opens come at the reader's usual local hour, often the same day.
        send_sod = send_ts % DAY
        target = np.mod((self.send_hour[rec] - self.gmtoff[rec]) * 3600, DAY)
        wait = np.mod(target - send_sod, DAY) + (rng.geometric(0.6, k) - 1) * DAY
        open_ts = send_ts + np.maximum(60, wait + rng.normal(0, 1200, k)).astype(np.int64)
        pre_open = send_ts + rng.integers(60, 2400, k)
        click_ts = open_ts + rng.integers(5, 600, k)
        unsub_ts = np.where(opened, open_ts + rng.integers(10, 300, k), pre_open + 7200)
        bounce_ts = send_ts + rng.integers(1, 60, k)

        parts = [
            (rec[mpp], pre_open[mpp], OPEN),
            (rec[opened], open_ts[opened], OPEN),
            (rec[clicked], click_ts[clicked], CLICK),
            (rec[bounce], bounce_ts[bounce], BOUNCE),
            (rec[unsub], unsub_ts[unsub], UNSUBSCRIBE),
        ]
        person = np.concatenate([p for p, _, _ in parts])
        ts = np.concatenate([t for _, t, _ in parts])
        action = np.concatenate([np.full(len(p), a) for p, _, a in parts])
        keep = ts < self.window.reveal_end_ts  # later activity is never exported
        self.out_activity.add(camp=np.full(keep.sum(), c), person=person[keep], action=action[keep],
                              ts=ts[keep])  # fmt: skip
        self.mc[rec[bounce]] = CLEANED
        self.mc[rec[unsub]] = UNSUB
        self.out_mc.add(
            person=np.concatenate([rec[bounce], rec[unsub]]),
            ts=np.concatenate([bounce_ts[bounce], unsub_ts[unsub]]),
            status=np.concatenate([np.full(bounce.sum(), CLEANED), np.full(unsub.sum(), UNSUB)]),
            camp=np.full(bounce.sum() + unsub.sum(), c),
        )
        click_day = (click_ts[clicked] - self.window.history_start_ts) // DAY
        for day in np.unique(click_day):
            sel = click_day == day
            self.pending_clicks.setdefault(int(day), []).append(
                np.stack([rec[clicked][sel], click_ts[clicked][sel], np.full(sel.sum(), c)])
            )

    # ----------------------------------------------------------------- orders
    def _day_orders(
        self, d: int, t0: int, arrivals: np.ndarray, won: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Who orders today and why. Returns arrays person, ts, channel, ad, camp, code
        (pushed code index or -1), plus the day's sessions without orders."""
        rng = self.rng
        w = self.window
        reveal = d < w.reveal_days
        buyers: list[tuple[np.ndarray, ...]] = []  # person, ts, channel, ad, camp, code
        visits: list[tuple[np.ndarray, ...]] = []  # person, ts, channel, ad, camp, kind

        def add_orders(p: np.ndarray, ts: np.ndarray, ch: Any, ad: Any, camp: Any,
                       code: Any) -> None:  # fmt: skip
            k = len(p)
            if k:
                buyers.append(tuple(np.broadcast_to(np.asarray(v), (k,)).astype(np.int64)
                                    for v in (p, ts, ch, ad, camp, code)))  # fmt: skip

        def add_visits(p: np.ndarray, ts: np.ndarray, ch: Any, ad: Any, camp: Any,
                       kind: Any) -> None:  # fmt: skip
            k = len(p)
            if k and reveal:
                visits.append(tuple(np.broadcast_to(np.asarray(v), (k,)).astype(np.int64)
                                    for v in (p, ts, ch, ad, camp, kind)))  # fmt: skip

        # Arrivals: buyers order at once; accounts sign up; leads fill a form; visitors look.
        role = self.role[arrivals]
        ch = self.channel[arrivals]
        ad = self.arrival_ad[arrivals]
        ts = self.arrive_ts[arrivals]
        self._note_click(arrivals, ad, ts)
        b = role == BUYER
        add_orders(arrivals[b], ts[b], ch[b], ad[b], -1, -1)
        acc = role == ACCOUNT
        self.account_ts[arrivals[acc]] = ts[acc]
        for mask, kind in ((acc, SIGNUP), (role == LEAD, LEAD_FORM), (role == VISITOR, BROWSE)):
            add_visits(arrivals[mask], ts[mask], ch[mask], ad[mask], -1, kind)
        staff = arrivals[role == STAFF]
        self.account_ts[staff] = self.arrive_ts[staff]

        # Won deals: the office places its first order at close.
        add_orders(self.won_person[won], self.won_ts[won], DIRECT, -1, -1, -1)
        # Lead ads: Meta counts the form fill as a lead on the day of the click.
        lead_ad = (role == LEAD) & (ad >= 0)
        if lead_ad.any():
            self.out_attr.add(ad=ad[lead_ad], click_day=np.full(lead_ad.sum(), d),
                              order=np.full(lead_ad.sum(), -1), ts=ts[lead_ad],
                              value=np.zeros(lead_ad.sum(), dtype=np.int64),
                              kind=np.ones(lead_ad.sum(), dtype=np.int64))  # fmt: skip

        # Email clicks land today: customers may buy, leads may convert, others look.
        clicks = self.pending_clicks.pop(d, [])
        if clicks:
            stacked = np.concatenate(clicks, axis=1)
            p, cts, camp = stacked
            code_idx = self.camp_code[camp]
            alive = self.customer[p] & ~self.left[p]
            p_buy = np.where(code_idx >= 0, CLICK_BUY_CODE_P, CLICK_BUY_P)
            convert = ~self.customer[p] & np.isin(self.role[p], (LEAD, VISITOR)) & ~self.b2b[p]
            buy = (alive & (rng.random(len(p)) < p_buy)) | (
                convert & (rng.random(len(p)) < CLICK_CONVERT_P)
            )
            buy &= ~_duplicates(p)  # one email-driven order per person per day
            add_orders(p[buy], cts[buy] + rng.integers(60, 900, buy.sum()), EMAIL_CHANNEL, -1,
                       camp[buy], code_idx[buy])  # fmt: skip
            add_visits(p[~buy], cts[~buy], EMAIL_CHANNEL, -1, camp[~buy], BROWSE)
            self._crm_clicks(p, cts)

        # Leads and visitors convert on their own at a fading intensity.
        cand = np.flatnonzero(
            (self.arrive_day < d) & ~self.customer & ((self.role == LEAD) | (self.role == VISITOR))
            & ~self.b2b
        )
        if len(cand):
            age = (t0 - self.arrive_ts[cand]) / DAY
            p_conv = self.lead_q[cand] * np.exp(-age / 120.0)
            conv = cand[rng.random(len(cand)) < p_conv]
            cts = t0 + local_seconds(rng, self.gmtoff[conv], self.send_hour[conv], 3.0)
            add_orders(conv, cts, _organic_or_direct(rng, len(conv)), -1, -1, -1)

        # Customers reorder at their own rate, more in the gift season.
        alive = np.flatnonzero(self.customer & ~self.left & (self.first_order_ts < t0))
        if len(alive):
            lam = self.rate[alive] * season_factor(self.doy[d], self.seasonality[alive])
            re = alive[rng.random(len(alive)) < -np.expm1(-lam)]
            rts = t0 + local_seconds(rng, self.gmtoff[re], self.send_hour[re], 3.0)
            add_orders(re, rts, _repeat_channels(rng, len(re)), -1, -1, -1)

        # Retargeting brings some customers back through an ad.
        response = self.ads.response(d)
        rt_sets = np.flatnonzero(self.adset_effect == EFFECTS.index("repeat_orders"))
        ad_set = self.ad_adset
        for a in rt_sets:
            k = rng.poisson(response[a])
            if k and len(alive):
                who = rng.choice(alive, min(k, len(alive)), replace=False)
                ads_in = np.flatnonzero(ad_set == a)
                share = self.ads.ad_share[ads_in, d]
                which = ads_in[categorical(rng, share[None, :], np.zeros(len(who), np.int64))]
                wts = t0 + local_seconds(rng, self.gmtoff[who], self.send_hour[who], 3.0)
                self._note_click(who, which, wts - 300)
                add_orders(who, wts, PAID_SOCIAL, which, -1, -1)

        if reveal:
            self._ad_click_visits(d, t0, arrivals, add_visits)
            self._browse(d, t0, add_visits)

        def stack(parts: list[tuple[np.ndarray, ...]], names: tuple[str, ...]) -> dict:
            if not parts:
                return {n: np.zeros(0, dtype=np.int64) for n in names}
            return {n: np.concatenate([p[i] for p in parts]) for i, n in enumerate(names)}

        out = stack(buyers, ("person", "ts", "channel", "ad", "camp", "code"))
        # One order per person per day: the first reason wins (e.g. an arrival).
        first = ~_duplicates(out["person"])
        out = {k: v[first] for k, v in out.items()}
        out["ts"] = np.clip(out["ts"], t0, t0 + DAY - 1)
        out["visits"] = stack(visits, ("person", "ts", "channel", "ad", "camp", "kind"))
        return out

    def _note_click(self, who: np.ndarray, ad: np.ndarray, ts: np.ndarray) -> None:
        """Remember each person's latest Meta ad click for 7-day click attribution."""
        clicked = ad >= 0
        self.last_click_ad[who[clicked]] = ad[clicked]
        self.last_click_ts[who[clicked]] = ts[clicked]

    def _crm_clicks(self, who: np.ndarray, ts: np.ndarray) -> None:
        """B2C leads move up the lifecycle as they click: lead at the first click, marketing
        qualified at the third."""
        np.add.at(self.email_clicks, who, 1)
        lead = (self.role[who] == LEAD) & ~self.b2b[who] & ~self.customer[who]
        clicks = self.email_clicks[who]
        new_stage = np.where(clicks >= 3, 2, np.where(clicks >= 1, 1, 0))
        up = lead & (new_stage > self.stage[who]) & ~_duplicates(who)
        if up.any():
            p = who[up]
            self.stage[p] = new_stage[up]
            status = np.where(new_stage[up] == 2, 1, 0)
            self.out_crm.add(person=p, ts=ts[up], stage=new_stage[up], status=status)

    def _ad_click_visits(self, d: int, t0: int, arrivals: np.ndarray, add_visits: Any) -> None:
        """Link clicks that land on the site without converting: visitors for prospecting and
        awareness, customers and visitors for retargeting."""
        rng = self.rng
        lo, hi = np.searchsorted(self.daily_day, [d, d + 1])
        if lo == hi:
            return
        ad_idx = self.daily_ad[lo:hi]
        link = self.daily_link[lo:hi]
        landed = rng.binomial(link, 0.8)
        converted = np.bincount(self.arrival_ad[arrivals][self.arrival_ad[arrivals] >= 0],
                                minlength=self.ads.ads.height)[ad_idx]  # fmt: skip
        extra = np.maximum(landed - converted, 0)
        if not extra.sum():
            return
        adset = self.ad_adset[ad_idx]
        effect = self.adset_effect[adset]
        region = self.adset_region[adset]
        seen = self.arrive_day <= d
        visitors = seen & (self.role == VISITOR)
        pools = {
            (False, 0): np.flatnonzero(visitors & (self.region == 0)),
            (False, 1): np.flatnonzero(visitors & (self.region == 1)),
            (False, 2): np.flatnonzero(visitors),
            (True, 2): np.flatnonzero(seen & ((self.role == VISITOR) | self.customer)),
        }
        rt = effect == EFFECTS.index("repeat_orders")
        for i in np.flatnonzero(extra):
            pool = pools.get((bool(rt[i]), int(region[i])), pools[(False, 2)])
            if not len(pool):
                continue
            who = pool[rng.integers(0, len(pool), extra[i])]
            who = np.unique(who)
            wts = t0 + local_seconds(rng, self.gmtoff[who], self.send_hour[who], 4.0)
            ads = np.full(len(who), ad_idx[i])
            self._note_click(who, ads, wts)
            add_visits(who, wts, PAID_SOCIAL, ads, -1, BROWSE)

    def _browse(self, d: int, t0: int, add_visits: Any) -> None:
        """Sessions without a purchase: customers look around at about their buying rate,
        leads and visitors less and less after they arrive."""
        rng = self.rng
        present = np.flatnonzero((self.arrive_day < d) & (self.role != STAFF))
        if not len(present):
            return
        age = (t0 - self.arrive_ts[present]) / DAY
        cust = self.customer[present]
        left = self.left[present]
        role = self.role[present]
        p = np.where(
            cust,
            np.where(left, 1 / 900, np.minimum(0.3, 0.3 * self.rate[present] + 1 / 500)),
            np.select(
                [role == LEAD, role == VISITOR, role == ACCOUNT],
                [(0.2 + 0.8 * np.exp(-age / 45.0)) / 100.0,
                 np.exp(-age / 20.0) / 40.0 + 1 / 2500, np.full(len(age), 1 / 300)],
                default=0.0,
            ),
        )  # fmt: skip
        who = present[rng.random(len(present)) < p]
        wts = t0 + local_seconds(rng, self.gmtoff[who], self.send_hour[who], 4.0)
        add_visits(who, wts, _browse_channels(rng, len(who)), -1, -1, BROWSE)

    def _place(self, d: int, t0: int, today: dict[str, Any]) -> None:
        """Turn today's buyers into orders with lines, money, fulfilment and problems, and
        today's visits and purchases into sessions."""
        rng = self.rng
        visits = today.pop("visits")
        p = today["person"]
        order = np.lexsort((p, today["ts"]))
        p = p[order]
        ts, ch, ad, camp, code = (today[k][order] for k in ("ts", "channel", "ad", "camp", "code"))
        k = len(p)
        first = ~self.customer[p]
        # A first order opens a Shopify account when there is none yet.
        new_acct = self.account_ts[p] < 0
        self.account_ts[p[new_acct]] = ts[new_acct]
        self.customer[p] = True
        self.first_order_ts[p[first]] = ts[first]
        self.last_order_ts[p] = ts
        # Leads who buy become customers in HubSpot; synced shoppers appear there now.
        in_hs = self.hs_create_ts[p] >= 0
        synced = ~in_hs & self.hs_sync[p] & (self.role[p] != STAFF)
        self.hs_create_ts[p[synced]] = ts[synced]
        to_customer = (in_hs & (self.stage[p] < 5)) | synced
        self.stage[p[to_customer]] = 5
        self.out_crm.add(person=p[to_customer], ts=ts[to_customer],
                         stage=np.full(to_customer.sum(), 5),
                         status=np.where(synced[to_customer], -1, 6))  # fmt: skip

        # Discounts: a pushed code is mostly used; otherwise by the person's habit.
        habit = rng.random(k) < self.disc_prob[p]
        standing = np.where(first, WELCOME, rng.integers(1, 5, k))
        code = np.where(code >= 0, np.where(rng.random(k) < 0.9, code, -1),
                        np.where(habit, standing, -1))  # fmt: skip
        pct = np.where(code >= 0, np.array([c[1] for c in CODES])[np.maximum(code, 0)], 0)
        self.disc_ts[p[code >= 0]] = ts[code >= 0]

        n_lines = 1 + _draw(rng, LINES_CUM, k)
        category = np.where(rng.random(k) < FAVOURITE_CATEGORY_P, self.fav[p],
                            rng.integers(0, len(ref.CATEGORIES), k))  # fmt: skip
        per_cat = ref.PRODUCTS_PER_CATEGORY
        position = np.clip(np.rint(self.tier[p] * (per_cat - 1) + rng.normal(0, 1.6, k)), 0,
                           per_cat - 1).astype(np.int64)  # fmt: skip
        n_products = len(ref.CATEGORIES) * per_cat
        off1 = rng.integers(1, n_products, k)
        off2 = rng.integers(1, n_products - 1, k)
        off2 = np.where(off2 >= off1, off2 + 1, off2)
        line_order = np.repeat(np.arange(k), n_lines)
        starts = np.cumsum(n_lines) - n_lines
        line_no = np.arange(len(line_order)) - starts[line_order]
        offsets = np.stack([np.zeros(k, dtype=np.int64), off1, off2], axis=1)
        product = (category * per_cat + position)[line_order] + offsets[line_order, line_no]
        product %= n_products
        product = seasonal.shift(self.seed, d, t0, self.latitude[p][line_order], product,
                                 line_order)
        quantity = 1 + _draw(rng, QUANTITY_CUM, len(line_order))
        quantity += rng.poisson(self.basket_boost[p][line_order])
        unit = self.price[product]
        gross = unit * quantity
        line_disc = (gross * pct[line_order] + 50) // 100
        amount = gross - line_disc
        subtotal = np.bincount(line_order, weights=amount, minlength=k).astype(np.int64)
        discount = np.bincount(line_order, weights=line_disc, minlength=k).astype(np.int64)

        eu = self.eu[p]
        pickup = ~eu & (rng.random(k) < PICKUP_P)
        express = ~pickup & (rng.random(k) < EXPRESS_P)
        free = (subtotal >= np.where(eu, EU_FREE_OVER, NA_FREE_OVER)) | (code == FREESHIP)
        shipping = np.where(pickup | free, 0, np.where(eu, EU_SHIPPING, NA_SHIPPING))
        shipping = shipping + np.where(express, EXPRESS_EXTRA, 0)
        method = np.where(pickup, 3, np.where(express, 1, np.where(shipping == 0, 2, 0)))
        tax = (subtotal * self.tax_bp[p] + 5000) // 10000
        total = subtotal + shipping + tax

        payment = _draw(rng, PAYMENT_CUM, k)
        manual = payment == len(ref.PAYMENT_METHODS) - 1
        paid_ts = ts + np.where(manual, rng.integers(DAY, 3 * DAY, k), rng.integers(1, 30, k))
        cancelled = rng.random(k) < self.cancel_rate
        cancel_ts = np.where(cancelled, ts + rng.integers(600, 6 * 3600, k), -1)
        paid_ts = np.where(cancelled & (paid_ts > cancel_ts), -1, paid_ts)
        refunded = ~cancelled & (rng.random(k) < self.refund_rate)
        partial = refunded & (rng.random(k) < self.partial_share)
        refund_cents = np.where(partial, (total * rng.uniform(0.2, 0.6, k)).astype(np.int64),
                                np.where(refunded, total, 0))  # fmt: skip
        refund_ts = np.where(refunded, ts + rng.integers(3 * DAY, 30 * DAY, k), -1)
        fulfilled_ts = np.where(cancelled, -1, ts + rng.integers(DAY // 2, 4 * DAY, k))
        late = ~cancelled & (rng.random(k) < LATE_DELIVERY_P)
        fulfilled_ts = np.where(late, fulfilled_ts + rng.integers(5 * DAY, 15 * DAY, k),
                                fulfilled_ts)  # fmt: skip
        problem_ts = np.where(cancelled, cancel_ts, np.where(refunded, refund_ts,
                              np.where(late, fulfilled_ts, -1)))  # fmt: skip
        has_problem = problem_ts >= 0
        self.issue_ts[p[has_problem]] = problem_ts[has_problem]
        email_kind = np.where(rng.random(k) < 0.04, rng.integers(1, 6, k), 0)
        accepts = self.mc[p] == SUB

        # Test orders: staff placing orders through the live checkout. All of today's orders
        # are numbered in time order.
        n_test = rng.poisson(self.test_order_rate * k) if k else 0
        staff = np.flatnonzero(self.role == STAFF)
        cols = dict(
            person=p, ts=ts, day=np.full(k, d), channel=ch, ad=ad, camp=camp, code=code,
            subtotal=subtotal, shipping=shipping, tax=tax, total=total, discount=discount,
            refund=refund_cents, refund_ts=refund_ts, cancel_ts=cancel_ts, paid_ts=paid_ts,
            fulfilled_ts=fulfilled_ts, payment=payment, method=method,
            test=np.zeros(k, dtype=bool), email_kind=email_kind, accepts=accepts, late=late,
        )  # fmt: skip
        line_cols = dict(order=line_order, line_no=line_no, product=product,
                         quantity=quantity, unit=unit, amount=amount)  # fmt: skip
        if n_test and len(staff):
            tcols, tlines = self._test_orders(d, t0, n_test, staff, k)
            cols = {name: np.concatenate([cols[name], tcols[name]]) for name in cols}
            line_cols = {name: np.concatenate([line_cols[name], tlines[name]])
                         for name in line_cols}  # fmt: skip
        n_all = len(cols["person"])
        sort = np.lexsort((cols["person"], cols["ts"]))
        position = np.empty(n_all, dtype=np.int64)
        position[sort] = np.arange(n_all)
        cols = {name: values[sort] for name, values in cols.items()}
        line_cols["order"] = self.next_order + position[line_cols["order"]]
        self.out_orders.add(**cols)
        self.out_lines.add(**line_cols)
        order_idx = self.next_order + position[:k]  # today's real orders, in `p` order
        self.next_order += n_all

        # Meta's 7-day click attribution, credited to the day of the click.
        last_ad = self.last_click_ad[p]
        recent = (last_ad >= 0) & (ts - self.last_click_ts[p] <= ATTRIBUTION_DAYS * DAY)
        recent &= ts >= self.last_click_ts[p]
        if recent.any():
            click_day = (self.last_click_ts[p[recent]] - self.window.history_start_ts) // DAY
            self.out_attr.add(ad=last_ad[recent], click_day=click_day, order=order_idx[recent],
                              ts=ts[recent], value=total[recent],
                              kind=np.zeros(recent.sum(), dtype=np.int64))  # fmt: skip

        self._surveys(p, ts, fulfilled_ts, cancel_ts, has_problem, order_idx)
        if d < self.window.reveal_days:
            main_product = product[line_no == 0]
            self._sessions(d, t0, visits, p, ts, ch, ad, camp, order_idx, main_product, first)

    def _test_orders(
        self, d: int, t0: int, n_test: int, staff: np.ndarray, first_pos: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Single-line orders by staff, flagged `test`."""
        rng = self.rng
        who = staff[rng.integers(0, len(staff), n_test)]
        ts = np.sort(t0 + rng.integers(9 * 3600, 18 * 3600, n_test))
        product = rng.integers(0, len(self.price), n_test)
        unit = self.price[product]
        tax = (unit * self.tax_bp[who] + 5000) // 10000
        none = np.full(n_test, -1)
        zero = np.zeros(n_test, dtype=np.int64)
        cols = dict(
            person=who, ts=ts, day=np.full(n_test, d), channel=np.full(n_test, DIRECT), ad=none,
            camp=none, code=none, subtotal=unit, shipping=zero, tax=tax, total=unit + tax,
            discount=zero, refund=zero, refund_ts=none, cancel_ts=none, paid_ts=ts + 5,
            fulfilled_ts=none, payment=np.full(n_test, len(ref.PAYMENT_METHODS) - 1),
            method=np.full(n_test, 3), test=np.ones(n_test, dtype=bool), email_kind=zero,
            accepts=np.zeros(n_test, dtype=bool), late=np.zeros(n_test, dtype=bool),
        )  # fmt: skip
        lines = dict(order=first_pos + np.arange(n_test), line_no=zero, product=product,
                     quantity=np.ones(n_test, dtype=np.int64), unit=unit, amount=unit)  # fmt: skip
        return cols, lines

    def _surveys(
        self,
        p: np.ndarray,
        ts: np.ndarray,
        fulfilled_ts: np.ndarray,
        cancel_ts: np.ndarray,
        problem: np.ndarray,
        order_idx: np.ndarray,
    ) -> None:
        """Some orders get an NPS response a few days after delivery. The score follows the
        person's taste, their latent churn risk and any problem with this order."""
        rng = self.rng
        k = len(p)
        answer = rng.random(k) < SURVEY_P
        if not answer.any():
            return
        p, ts, problem, order_idx = p[answer], ts[answer], problem[answer], order_idx[answer]
        base = np.where(fulfilled_ts[answer] >= 0, fulfilled_ts[answer], cancel_ts[answer])
        submit = base + rng.integers(DAY, 10 * DAY, len(p))
        start = submit - rng.integers(30, 400, len(p))
        risk = np.log(self.current_hazard(ts, p) / self.persona_hazard[p])
        score = self.nps_base[p] + rng.normal(0, 1.2, len(p)) - 3.5 * problem - 1.2 * risk
        score = np.clip(np.rint(score), 0, 10).astype(np.int64)
        usual = self.nps_topic[p]
        topic = np.where(problem, ref.NPS_TOPICS.index("problem"), usual)
        topic = np.where(~problem & (rng.random(len(p)) < 0.25),
                         rng.integers(0, 3, len(p)), topic)  # fmt: skip
        self.out_surveys.add(person=p, order=order_idx, start=start, submit=submit, score=score,
                             topic=topic, pick=rng.integers(0, 1 << 30, len(p)),
                             has_comment=rng.random(len(p)) < 0.7)  # fmt: skip

    # ----------------------------------------------------------------- sessions
    def _sessions(
        self,
        d: int,
        t0: int,
        visits: dict[str, np.ndarray],
        p: np.ndarray,
        ts: np.ndarray,
        ch: np.ndarray,
        ad: np.ndarray,
        camp: np.ndarray,
        order_idx: np.ndarray,
        main_product: np.ndarray,
        first: np.ndarray,
    ) -> None:
        """Write today's sessions: visits plus one purchase session per (non-test) order,
        with a device, a session number per cookie and the cookie's first touch."""
        rng = self.rng
        k = len(p)
        start = np.maximum(ts - rng.integers(120, 1200, k), t0)
        v = visits
        nv = len(v["person"])
        person = np.concatenate([v["person"], p])
        sts = np.concatenate([v["ts"], start])
        channel = np.concatenate([v["channel"], ch])
        ad_idx = np.concatenate([v["ad"], ad])
        camp_idx = np.concatenate([v["camp"], camp])
        kind = np.concatenate([v["kind"], np.full(k, PURCHASE)])
        orders = np.concatenate([np.full(nv, -1), order_idx])
        n = len(person)
        if not n:
            return
        # What a visit looks at: mostly their favourite category at their price level.
        per_cat = ref.PRODUCTS_PER_CATEGORY
        fav = self.fav[person]
        position = np.clip(np.rint(self.tier[person] * (per_cat - 1) + rng.normal(0, 2, n)), 0,
                           per_cat - 1).astype(np.int64)  # fmt: skip
        looked = np.where(rng.random(n) < 0.7, fav * per_cat + position,
                          rng.integers(0, len(self.price), n))  # fmt: skip
        looked = np.where(kind == PURCHASE, np.concatenate([np.full(nv, -1), main_product]),
                          looked)  # fmt: skip
        browse = kind == BROWSE
        # Half of the returning customers' orders are quick reorders ("buy again" from the
        # account page): straight to checkout without a product page.
        repeat = np.concatenate([np.zeros(nv, dtype=bool), ~first])
        quick = repeat & (rng.random(n) < 0.5)
        views_item = np.where(browse, rng.random(n) < 0.8, (kind == PURCHASE) & ~quick)
        cart = browse & views_item & (rng.random(n) < 0.12)
        checkout = cart & (rng.random(n) < 0.4)
        n_pages = rng.geometric(0.6, n)
        has_acct = (self.account_ts[person] >= 0) & (self.account_ts[person] <= sts + 1200)
        logged = has_acct & (rng.random(n) < np.where(kind == PURCHASE, 0.65, 0.25))
        logged |= kind == SIGNUP

        # Device: the main one mostly.
        ndev = np.maximum(self.n_dev[person], 1)
        dev = np.where(rng.random(n) < 0.6, 0, rng.integers(0, ndev))
        key = person * MAX_DEVICES + dev

        o = np.lexsort((sts, key))
        ks, tss, chs = key[o], sts[o], channel[o]
        ar = np.arange(n)
        new_key = np.r_[True, ks[1:] != ks[:-1]]
        key_start = np.maximum.accumulate(np.where(new_key, ar, 0))
        dev_first = self.dev_first_ts[ks]
        known = dev_first >= 0
        dev_first = np.where(known, dev_first, tss[key_start])
        cd = self.cookie_days[ks]
        gen = np.where(cd > 0, (tss - dev_first) // np.maximum(cd * DAY, 1), 0)
        new_kg = new_key | np.r_[True, gen[1:] != gen[:-1]]
        kg_start = np.maximum.accumulate(np.where(new_kg, ar, 0))
        rank = ar - kg_start
        same = known & (gen == self.gen_cur[ks])
        number = np.where(same, self.sess_count[ks], 0) + rank + 1
        ft_ch = np.where(same, self.ft_channel[ks], chs[kg_start])
        ft_ts = np.where(same, self.ft_ts[ks], tss[kg_start])
        last = np.r_[ks[1:] != ks[:-1], True]
        kl = ks[last]
        self.gen_cur[kl] = gen[last]
        self.sess_count[kl] = number[last]
        self.ft_channel[kl] = ft_ch[last]
        self.ft_ts[kl] = ft_ts[last]
        self.dev_first_ts[kl] = dev_first[last]
        back = np.empty(n, dtype=np.int64)
        back[o] = ar
        number, gen, ft_ch, ft_ts = number[back], gen[back], ft_ch[back], ft_ts[back]

        t = np.lexsort((person, sts))
        self.out_sessions.add(
            uid=self.next_session + ar, person=person[t], device=dev[t], ts=sts[t],
            day=np.full(n, d), channel=channel[t], ad=ad_idx[t], camp=camp_idx[t], kind=kind[t],
            order=orders[t], product=looked[t], views_item=views_item[t], cart=cart[t],
            checkout=checkout[t], n_pages=n_pages[t], logged_in=logged[t], number=number[t],
            gen=gen[t], ft_channel=ft_ch[t], ft_ts=ft_ts[t],
        )  # fmt: skip
        self.next_session += n

    # ----------------------------------------------------------------- churn
    def current_hazard(self, t: np.ndarray | int, who: np.ndarray | None = None) -> np.ndarray:
        """The daily churn hazard in force at time `t` for `who` (everyone by default): the
        base hazard moved by email status, fatigue, recent problems and recent discounts."""
        idx = np.arange(self.n) if who is None else who
        mc = self.mc[idx]
        mult = np.where(mc == UNSUB, UNSUB_HAZARD_MULT, np.where(mc == SUB, SUBSCRIBED_HAZARD_MULT,
                                                                 1.0))  # fmt: skip
        tol = self.tolerance[idx]
        mult = mult * (1.0 + FATIGUE_HAZARD_SLOPE * np.maximum(0.0, self.fatigue[idx] - tol) / tol)
        since_issue = (t - self.issue_ts[idx]) / DAY
        mult = mult * (1.0 + ISSUE_HAZARD_MULT * np.exp(-np.maximum(since_issue, 0) /
                                                        ISSUE_MEMORY_DAYS))  # fmt: skip
        since_disc = (t - self.disc_ts[idx]) / DAY
        mult = mult * (1.0 - 0.5 * self.relief[idx] * np.exp(-np.maximum(since_disc, 0) /
                                                              DISCOUNT_MEMORY_DAYS))  # fmt: skip
        return self.base_hazard[idx] * mult

    def _churn(self, d: int, t0: int) -> None:
        alive = np.flatnonzero(self.customer & ~self.left)
        if not len(alive):
            return
        hazard = self.current_hazard(t0 + DAY // 2, alive)
        gone = alive[self.rng.random(len(alive)) < -np.expm1(-hazard)]
        self.left[gone] = True
        self.left_ts[gone] = t0 + self.rng.integers(0, DAY, len(gone))

    def _decay(self) -> None:
        self.fatigue *= FATIGUE_DECAY

    # ----------------------------------------------------------------- output
    def _world(self) -> World:
        w = self.window
        orders = self.out_orders.frame({}).with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("order_idx")
        )
        lines = self.out_lines.frame({"order": "order_idx", "product": "product_idx",
                                      "unit": "unit_cents", "amount": "amount_cents"})
        lines = lines.sort("order_idx", "line_no")
        sessions = self.out_sessions.frame(
            {"uid": "session_uid", "device": "device_idx", "ad": "ad_idx", "camp": "camp_idx",
             "order": "order_idx", "product": "product_idx", "number": "session_number"}
        )  # fmt: skip
        activity = self.out_activity.frame({"camp": "camp_idx"}).sort(
            "ts", "camp_idx", "person_id", "action"
        )
        mc_events = self.out_mc.frame({"camp": "camp_idx"}).sort("ts", "person_id")
        crm = self.out_crm.frame({}).sort("ts", "person_id", maintain_order=True)
        surveys = self.out_surveys.frame(
            {"order": "order_idx", "start": "start_ts", "submit": "submit_ts"}
        ).sort("submit_ts", "person_id")
        attribution = self.out_attr.frame({"ad": "ad_idx", "order": "order_idx",
                                           "value": "value_cents"})  # fmt: skip
        campaigns = self.email.campaigns.with_columns(emails_sent=pl.Series(self.sent))

        def nullable(values: np.ndarray) -> pl.Series:
            return pl.Series(values, dtype=pl.Int64).scatter(np.flatnonzero(values < 0), None)

        people = self.people.with_columns(
            first_order_ts=nullable(self.first_order_ts),
            account_ts=nullable(self.account_ts),
            left_ts=nullable(self.left_ts),
            hs_create_ts=nullable(self.hs_create_ts),
            mpp=pl.Series(self.mpp),
        )
        logger.info(
            "play-out: %d orders, %d sessions, %d email events, %d mailchimp changes",
            orders.height, sessions.height, activity.height, mc_events.height,
        )  # fmt: skip
        return World(
            window=w, seed=self.seed, people=people, devices=self.devices, orders=orders,
            lines=lines, sessions=sessions, email_activity=activity, campaigns=campaigns,
            list_id=self.email.list_id, mc_events=mc_events, crm_events=crm, deals=self.deals,
            surveys=surveys, attribution=attribution, ads=self.ads, hazard=self.hazard,
        )  # fmt: skip


def _duplicates(values: np.ndarray) -> np.ndarray:
    """True for every repeat of a value after its first occurrence (in array order)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    _, first = np.unique(values, return_index=True)
    dup = np.ones(len(values), dtype=bool)
    dup[first] = False
    return dup


def _organic_or_direct(rng: np.random.Generator, k: int) -> np.ndarray:
    return np.where(rng.random(k) < 0.5, ref.CHANNELS.index("organic"), DIRECT)


def _draw(rng: np.random.Generator, cum: np.ndarray, k: int) -> np.ndarray:
    """`k` category indices from cumulative probabilities `cum` (last entry 1)."""
    return np.searchsorted(cum, rng.random(k), side="right")


def _cum(probs: tuple[float, ...] | list[float]) -> np.ndarray:
    c = np.cumsum(np.asarray(probs, dtype=np.float64))
    return c / c[-1]


LINES_CUM = _cum(LINES_PER_ORDER_P)
QUANTITY_CUM = _cum(QUANTITY_P)
PAYMENT_CUM = _cum([w for _, w in ref.PAYMENT_METHODS])
# How a returning customer comes back (typed in, searched, a paid search ad), and how
# people browse; index into CHANNELS.
REPEAT_CHANNEL_CUM = _cum([0.30, 0.0, 0.55, 0.05, 0.10, 0.0])
BROWSE_CHANNEL_CUM = _cum([0.40, 0.0, 0.40, 0.12, 0.08, 0.0])


def _repeat_channels(rng: np.random.Generator, k: int) -> np.ndarray:
    return _draw(rng, REPEAT_CHANNEL_CUM, k)


def _browse_channels(rng: np.random.Generator, k: int) -> np.ndarray:
    return _draw(rng, BROWSE_CHANNEL_CUM, k)


__all__ = ["ACTIONS", "REGIONS", "SESSION_KINDS", "Engine", "World", "hill"]
