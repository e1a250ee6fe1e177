"""The marketing plan: Meta ad sets with daily budgets and true response curves, the email
calendar, and when each person first arrives.

Everything here is decided before the day-by-day play-out and does not depend on how people
respond, so it is drawn once per world from its own random stream. Ad spend is the cause:
people who arrive through a paid social ad arrive on days in proportion to the ad sets' true
response to that day's spend, so the response curves in the truth are what the data holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator import subject_lines
from simulator.population import (
    BUYER,
    DAY,
    EU,
    LEAD,
    NA,
    STAFF,
    STREAM_ARRIVALS,
    STREAM_PLAN,
    VISITOR,
    Window,
    categorical,
    hex_digits,
    local_seconds,
    rng_for,
)

logger = logging.getLogger(__name__)

PAID_SOCIAL = ref.ARRIVAL_CHANNELS.index("paid_social")
ORGANIC = ref.ARRIVAL_CHANNELS.index("organic")
BASE_BUDGET_PER_1K = 4.0  # dollars per day per unit of relative budget per 1,000 people
RETARGET_ORDERS_PER_1K = 0.35  # retargeting orders per day at saturation per 1,000 people
ARRIVAL_GROWTH = 0.6  # organic arrivals grow by this share over the calendar
EFFECTS: tuple[str, ...] = ("new_buyers", "leads", "repeat_orders", "none")
REGIONS: tuple[str, ...] = ("NA", "EU", "ALL")
SEND_HOUR_UTC = 14  # campaigns go out at 14:00 UTC: morning in America, afternoon in Europe


def hill(spend: np.ndarray, alpha: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """The saturating share of an ad set's maximum effect reached at daily `spend` (dollars):
    spend^alpha / (spend^alpha + kappa^alpha); 0 at no spend, 1/2 at spend = kappa."""
    s = np.maximum(spend, 0.0) ** alpha
    return s / (s + kappa**alpha)


@dataclass(frozen=True)
class AdPlan:
    """Meta ad sets and ads over every simulated day.

    `adsets`: adset_idx, campaign_idx, campaign_id, campaign_name, objective, adset_id,
    adset_name, region (index into REGIONS), effect (index into EFFECTS), alpha, kappa
    (dollars/day at half effect), beta (conversions/day at saturation), cpm (dollars per
    1,000 impressions at low spend), ctr. `ads`: ad_idx, adset_idx, ad_id, ad_name.
    `spend`: dollars per ad set and day (n_adsets x n_days). `ad_share`: share of the ad
    set's spend per ad and day (n_ads x n_days). `daily`: ad_idx, day, spend_cents,
    impressions, reach, clicks, link_clicks (rows only where spend > 0).
    """

    adsets: pl.DataFrame
    ads: pl.DataFrame
    spend: np.ndarray
    ad_share: np.ndarray
    daily: pl.DataFrame

    def response(self, day: int) -> np.ndarray:
        """Expected conversions per ad set on `day` from that day's spend (the truth)."""
        a = self.adsets
        return a["beta"].to_numpy() * hill(
            self.spend[:, day], a["alpha"].to_numpy(), a["kappa"].to_numpy()
        )


def calendar_arrays(window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month (1-12), weekday (Monday 0) and day of year (1-366) of every simulated day."""
    start = np.datetime64(window.date_of(0), "D")
    dates = start + np.arange(window.n_days)
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1
    return months, weekday, doy


def build_ad_plan(seed: int, n_people: int, window: Window) -> AdPlan:
    """Draw the ad structure, budgets in flights, true response curves and daily delivery.

    Returns an `AdPlan`; `beta` is still relative here: `assign_arrivals` scales the
    acquisition ad sets so their expected conversions add up to the people they bring.
    """
    rng = rng_for(seed, STREAM_PLAN)
    n_days = window.n_days
    months, _, _ = calendar_arrays(window)
    base = BASE_BUDGET_PER_1K * n_people / 1000.0
    set_rows, ad_rows = [], []
    spend_rows, share_rows = [], []
    id_base = 120_210_000_000_000_000 + int(rng.integers(0, 10**12)) * 1000
    next_id = iter(id_base + np.cumsum(rng.integers(1, 10**6, 200)))
    for c, (c_name, objective, adsets, creatives, active) in enumerate(ref.META_CAMPAIGNS):
        campaign_id = str(next(next_id))
        in_season = np.isin(months, active) if active else np.ones(n_days, dtype=bool)
        for set_name, region, effect, rel in adsets:
            a = len(set_rows)
            budget = np.zeros(n_days)
            day = 0
            # Flights of two to eight weeks, each on or off, at its own budget level.
            while day < n_days:
                length = int(rng.integers(14, 57))
                on = rng.random() < 0.85
                level = base * rel * float(np.exp(rng.normal(0.0, 0.45)))
                budget[day : day + length] = level if on else 0.0
                day += length
            budget *= in_season
            spend = np.round(budget * rng.uniform(0.85, 1.0, n_days), 2)
            kappa = base * rel * float(rng.uniform(0.6, 1.6))
            beta = rel * float(rng.uniform(0.6, 1.4))
            if effect == "repeat_orders":
                beta = RETARGET_ORDERS_PER_1K * n_people / 1000.0 * beta
            elif effect == "none":
                beta = 0.0
            set_rows.append(
                {
                    "adset_idx": a,
                    "campaign_idx": c,
                    "campaign_id": campaign_id,
                    "campaign_name": c_name,
                    "objective": objective,
                    "adset_id": str(next(next_id)),
                    "adset_name": set_name,
                    "region": REGIONS.index(region),
                    "effect": EFFECTS.index(effect),
                    "alpha": float(rng.uniform(0.8, 1.8)),
                    "kappa": kappa,
                    "beta": beta,
                    "cpm": float(rng.uniform(8.0, 16.0)),
                    "ctr": float(rng.uniform(0.003, 0.006)),
                }
            )
            spend_rows.append(spend)
            # Delivery leans towards the better creatives and drifts week by week.
            quality = np.exp(rng.normal(0.0, 0.3, len(creatives)))
            drift = np.exp(rng.normal(0.0, 0.2, (len(creatives), n_days // 7 + 1)))
            weight = quality[:, None] ** 2 * np.repeat(drift, 7, axis=1)[:, :n_days]
            weight /= weight.sum(axis=0, keepdims=True)
            for k, creative in enumerate(creatives):
                ad_rows.append(
                    {
                        "ad_idx": len(ad_rows),
                        "adset_idx": a,
                        "ad_id": str(next(next_id)),
                        "ad_name": f"{creative} | {set_name}",
                        "quality": float(quality[k]),
                    }
                )
                share_rows.append(weight[k])
    adsets = pl.DataFrame(set_rows)
    ads = pl.DataFrame(ad_rows)
    spend = np.stack(spend_rows)
    ad_share = np.stack(share_rows)
    daily = _delivery(rng, adsets, ads, spend, ad_share)
    return AdPlan(adsets=adsets, ads=ads, spend=spend, ad_share=ad_share, daily=daily)


def _delivery(
    rng: np.random.Generator,
    adsets: pl.DataFrame,
    ads: pl.DataFrame,
    spend: np.ndarray,
    ad_share: np.ndarray,
) -> pl.DataFrame:
    """Impressions, reach and clicks per ad and day. CPM rises with spend (the cheap
    audience is reached first), which is where diminishing returns show in delivery."""
    adset_of = ads["adset_idx"].to_numpy()
    ad_spend = np.round(spend[adset_of] * ad_share * 100.0)  # cents
    kappa = adsets["kappa"].to_numpy()[adset_of][:, None]
    cpm = adsets["cpm"].to_numpy()[adset_of][:, None] * (1.0 + ad_spend / 100.0 / kappa) ** 0.35
    ad_idx, day = np.nonzero(ad_spend > 0)
    cents = ad_spend[ad_idx, day]
    expected = cents / 100.0 / cpm[ad_idx, day] * 1000.0
    impressions = rng.poisson(expected)
    ctr = adsets["ctr"].to_numpy()[adset_of][ad_idx] * ads["quality"].to_numpy()[ad_idx]
    clicks = rng.binomial(impressions, np.clip(ctr, 0, 1))
    link_clicks = rng.binomial(clicks, 0.72)
    frequency = 1.05 + 0.9 * (1.0 - np.exp(-impressions / 5000.0))
    reach = np.maximum(np.rint(impressions / frequency), np.minimum(impressions, 1))
    return pl.DataFrame(
        {
            "ad_idx": ad_idx.astype(np.int64),
            "day": day.astype(np.int64),
            "spend_cents": cents.astype(np.int64),
            "impressions": impressions.astype(np.int64),
            "reach": reach.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "link_clicks": link_clicks.astype(np.int64),
        }
    ).sort("day", "ad_idx")


def assign_arrivals(
    seed: int, people: pl.DataFrame, window: Window, plan: AdPlan
) -> tuple[pl.DataFrame, AdPlan]:
    """Place every person's first arrival in time and, for paid social, on an ad.

    Organic arrivals spread over the history and the continuable days with mild growth;
    paid social arrivals follow the true response of the ad sets that target them, and the
    acquisition ad sets' `beta` is scaled to the people they bring. Returns people with
    arrive_ts, arrive_day and arrival_ad (ad_idx or -1; the channel of people no ad set can
    bring falls back to organic) and the plan with absolute betas.
    """
    rng = rng_for(seed, STREAM_ARRIVALS)
    n = people.height
    reveal = window.reveal_days
    role = people["role"].to_numpy()
    region = people["region"].to_numpy()
    channel = people["channel"].to_numpy().copy()
    u = people["arrival_u"].to_numpy()

    # Organic: density 1 + g x on [0, 1), inverted.
    g = ARRIVAL_GROWTH
    x = (-1.0 + np.sqrt(1.0 + 2.0 * g * u * (1.0 + g / 2.0))) / g
    day = np.minimum((x * reveal).astype(np.int64), reveal - 1)
    arrival_ad = np.full(n, -1, dtype=np.int64)

    adsets = plan.adsets
    effect = adsets["effect"].to_numpy()
    set_region = adsets["region"].to_numpy()
    alpha, kappa = adsets["alpha"].to_numpy(), adsets["kappa"].to_numpy()
    shape = adsets["beta"].to_numpy()[:, None] * hill(
        plan.spend[:, :reveal], alpha[:, None], kappa[:, None]
    )
    beta = adsets["beta"].to_numpy().copy()
    adset_of_ad = plan.ads["adset_idx"].to_numpy()
    paid = channel == PAID_SOCIAL
    for eff, roles in (("new_buyers", (BUYER, VISITOR)), ("leads", (LEAD,))):
        for reg in (NA, EU):
            sets = np.flatnonzero((effect == EFFECTS.index(eff)) & (set_region == reg))
            pool = np.flatnonzero(paid & np.isin(role, roles) & (region == reg))
            weights = shape[sets].sum(axis=0) if len(sets) else np.zeros(reveal)
            if len(pool) == 0:
                continue
            if weights.sum() <= 0:
                channel[pool] = ORGANIC  # nothing targets them: they find the shop themselves
                continue
            # Scale to the buyers (or leads) the sets bring; visitors are clicks that do
            # not convert and ride along in proportion.
            converting = int(np.isin(role[pool], (BUYER, LEAD)).sum())
            beta[sets] *= converting / weights.sum()
            cdf = np.cumsum(weights) / weights.sum()
            day[pool] = np.minimum(np.searchsorted(cdf, u[pool], side="right"), reveal - 1)
            # Which ad set: in proportion to its response that day; which ad: delivery share.
            probs = shape[sets][:, day[pool]].T
            chosen_set = sets[categorical(rng, probs, np.arange(len(pool)))]
            ad_probs = np.where(
                adset_of_ad[None, :] == chosen_set[:, None], plan.ad_share[:, day[pool]].T, 0.0
            )
            arrival_ad[pool] = categorical(rng, ad_probs, np.arange(len(pool)))
    channel = np.where(paid & (arrival_ad < 0), ORGANIC, channel)

    seconds = local_seconds(
        rng, people["gmtoff"].to_numpy(), people["send_hour_local"].to_numpy(), 3.0
    )
    arrive_ts = window.history_start_ts + day * DAY + seconds
    staff = role == STAFF
    day = np.where(staff, 0, day)
    arrive_ts = np.where(staff, window.history_start_ts + 9 * 3600, arrive_ts)
    people = people.with_columns(
        channel=pl.Series(channel, dtype=pl.Int64),
        arrive_day=pl.Series(day, dtype=pl.Int64),
        arrive_ts=pl.Series(arrive_ts, dtype=pl.Int64),
        arrival_ad=pl.Series(arrival_ad, dtype=pl.Int64),
    )
    adsets = adsets.with_columns(beta=pl.Series(beta))
    return people, AdPlan(
        adsets=adsets, ads=plan.ads, spend=plan.spend, ad_share=plan.ad_share, daily=plan.daily
    )


@dataclass(frozen=True)
class EmailPlan:
    """The email calendar. `campaigns`: camp_idx, campaign_id, title, subject_line, variant
    ("A", "B" or ""), ab_group (campaign group index shared by the variants), day, send_ts,
    code (discount code or ""), path (where clicks land), lapsed_only (a win-back that goes
    only to people without an order for 90 days), appeal (open-rate multiplier of the
    subject line: its wording's effect, `subject_lines.text_effect`, times for a B variant the
    hidden result of an A/B test); some newsletter groups are personalised with the first-name
    merge tag (`subject_lines.personalise`)."""

    campaigns: pl.DataFrame
    list_id: str


def build_email_plan(seed: int, window: Window) -> EmailPlan:
    """A weekly newsletter on Tuesdays (twice a week in November and December), a monthly
    win-back, and promotions on fixed dates; some subject lines are A/B tested."""
    rng = rng_for(seed, STREAM_PLAN, 1)
    months, weekday, _ = calendar_arrays(window)
    start = window.date_of(0)
    rows: list[dict[str, object]] = []
    newsletters = [nl for nl in ref.NEWSLETTERS if not nl[3]]
    winback = next(nl for nl in ref.NEWSLETTERS if nl[3])
    promo_days = {}
    for d in range(window.n_days):
        date = start + dt.timedelta(days=d)
        for month, mday, title, sub_a, sub_b, code, path in ref.PROMOTIONS:
            if (date.month, date.day) == (month, mday):
                promo_days[d] = (f"{title} {date.year}", sub_a, sub_b, code, path)
    group = 0
    for d in range(window.n_days):
        sends = []
        if d in promo_days:
            sends.append((*promo_days[d], False))
        elif weekday[d] == 1 or (weekday[d] == 3 and months[d] in (11, 12)):
            title, sub_a, sub_b, code, path = newsletters[group % len(newsletters)]
            date = start + dt.timedelta(days=d)
            test_b = sub_b if group % 3 == 0 else ""
            sends.append((f"{title} - {date:%b %Y}", sub_a, test_b, code, path, False))
        elif weekday[d] == 3 and (start + dt.timedelta(days=d)).day <= 7:
            date = start + dt.timedelta(days=d)
            title, sub_a, sub_b, code, path = winback
            sends.append((f"{title} - {date:%b %Y}", sub_a, sub_b, code, path, True))
        for title, sub_a, sub_b, code, path, lapsed in sends:
            send_ts = (
                window.history_start_ts
                + d * DAY
                + SEND_HOUR_UTC * 3600
                + int(rng.integers(0, 30)) * 60
            )
            variants = [("A", sub_a), ("B", sub_b)] if sub_b else [("", sub_a)]
            for variant, subject in variants:
                appeal = float(np.exp(rng.normal(0.0, 0.15))) if variant == "B" else 1.0
                rows.append(
                    {
                        "camp_idx": len(rows),
                        "title": title,
                        "subject_line": subject,
                        "variant": variant,
                        "ab_group": group,
                        "day": d,
                        "send_ts": send_ts,
                        "code": code,
                        "path": path,
                        "lapsed_only": lapsed,
                        "appeal": appeal,
                    }
                )
            group += 1
    campaigns = pl.DataFrame(rows)
    ids = hex_digits(_distinct(rng, campaigns.height), 10)
    campaigns = subject_lines.personalise(seed, campaigns.with_columns(campaign_id=ids))
    list_id = hex_digits(rng.integers(0, 2**40, 1), 10)[0]
    logger.info("email plan: %d campaign sends", campaigns.height)
    return EmailPlan(campaigns=campaigns, list_id=list_id)


def _distinct(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct random integers below 2**40."""
    values = np.unique(rng.integers(0, 2**40, n + 16))
    while len(values) < n:
        values = np.unique(np.concatenate([values, rng.integers(0, 2**40, n)]))
    return rng.permutation(values)[:n]
