"""The people of the simulated shop: who they are, how to reach them, and their hidden traits.

`build_population` draws one row per person (buyer, shop account without orders, or Mailchimp
lead) with persona, behaviour parameters, identity and Mailchimp membership. The cosmetic,
source-specific details (addresses and phones for the shop, IPs and locations for Mailchimp)
are drawn by `shop_details` and `mailchimp_details` for just the people a source knows.

Each part draws from its own random stream, `default_rng([seed, stream])`, so adding a new
source later leaves the files of the existing ones unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulate import reference as ref

logger = logging.getLogger(__name__)

DAY = 86_400

# Random stream ids; never renumber, only add.
STREAM_POPULATION = 1
STREAM_PLAYOUT = 2
STREAM_SHOP_DETAILS = 3
STREAM_MAILCHIMP_DETAILS = 4

# Roles a person plays. Shares follow from "about 3% of shop accounts never ordered" and
# "leads are about 30% of the Mailchimp audience, which holds about 70% of shop customers".
BUYER, ACCOUNT, LEAD = 0, 1, 2
ROLE_SHARES = (0.746, 0.023, 0.231)

# Hazard multipliers: the observable signals that make churn predictable beyond recency.
UNSUB_HAZARD_MULT = 2.5  # applies from the moment a person unsubscribes
SUBSCRIBED_HAZARD_MULT = 0.8
PRICE_TIER_HAZARD_SLOPE = 1.4  # cheaper baskets -> more likely to drift away


@dataclass(frozen=True)
class Window:
    """The simulated calendar in whole seconds since the Unix epoch (UTC): history starts
    `history_days` before the end of `end_date`; the hidden future runs `future_days` on."""

    end_date: dt.date
    history_days: int
    future_days: int = 365

    @property
    def end_ts(self) -> int:
        """Midnight UTC after `end_date`: the export instant; everything before is the past."""
        end = dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), dt.UTC)
        return int(end.timestamp())

    @property
    def history_start_ts(self) -> int:
        return self.end_ts - self.history_days * DAY

    @property
    def horizon_ts(self) -> int:
        return self.end_ts + self.future_days * DAY


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """The generator for one part of the simulation; returns an independent stream per id."""
    return np.random.default_rng([seed, stream])


def pick(values: Sequence[str], idx: np.ndarray) -> pl.Series:
    """Look up `values` at integer positions `idx`; returns a string Series."""
    return pl.Series(values=list(values), dtype=pl.String).gather(idx)


def digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    """`n` random zero-padded digit strings of `width` characters."""
    return pl.Series(rng.integers(0, 10**width, n)).cast(pl.String).str.zfill(width)


def categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one category per row from a per-group probability table (`probs[group]`) without
    a loop; returns the chosen column index for each entry of `rows` (the group ids)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0  # guard against rounding leaving a gap at the top
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1)


def _emails(rng: np.random.Generator, first: pl.Series, last: pl.Series) -> pl.Series:
    """Canonical lowercase, unique emails built from names; returns a string Series."""
    n = len(first)
    f = first.str.to_lowercase()
    la = last.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    style = rng.integers(0, 6, n)
    year = pl.Series(rng.integers(1960, 2006, n)).cast(pl.String)
    small = pl.Series(rng.integers(1, 1000, n)).cast(pl.String)
    number = pl.Series(np.where(rng.random(n) < 0.5, 0, 1)).cast(pl.Boolean)
    weights = np.array([w for _, w in ref.EMAIL_DOMAINS])
    domain = pick(
        [d for d, _ in ref.EMAIL_DOMAINS], rng.choice(len(weights), n, p=weights / weights.sum())
    )
    frame = pl.DataFrame(
        {"f": f, "l": la, "s": style, "y": year, "k": small, "num": number, "d": domain}
    )
    suffix = pl.when(pl.col("num")).then(pl.col("y")).otherwise(pl.col("k"))
    local = (
        pl.when(pl.col("s") == 0)
        .then(pl.format("{}.{}", "f", "l"))
        .when(pl.col("s") == 1)
        .then(pl.format("{}{}", "f", "l"))
        .when(pl.col("s") == 2)
        .then(pl.format("{}{}", pl.col("f").str.slice(0, 1), "l"))
        .when(pl.col("s") == 3)
        .then(pl.format("{}.{}{}", "f", "l", suffix))
        .when(pl.col("s") == 4)
        .then(pl.format("{}{}", "f", suffix))
        .otherwise(pl.format("{}_{}", "f", "l"))
    )
    frame = frame.select(pl.format("{}@{}", local, "d").alias("email"), local.alias("local"), "d")
    # Make them unique the way people do: a number after the repeats (jane.doe2@...), again
    # until no two people share an email.
    while True:
        rank = repeat_rank(frame["email"])
        if not rank.any():
            return frame["email"]
        number = pl.Series(rank + 1).cast(pl.String)
        repeat = pl.Series(rank > 0)
        frame = frame.with_columns(
            local=pl.when(pl.lit(repeat)).then(pl.col("local") + number).otherwise("local")
        ).with_columns(email=pl.format("{}@{}", "local", "d"))


def repeat_rank(values: pl.Series) -> np.ndarray:
    """For each value, how many equal values come before it (0 for a first occurrence).

    Groups by a 64-bit hash, which is much faster than grouping strings; a hash collision
    between different values can only make a rank too high, never hide a repeat.
    """
    n = len(values)
    hashes = values.hash(seed=0).to_numpy()
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    positions = np.arange(n)
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if n else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(starts, positions, 0)) if n else positions
    rank = np.empty(n, dtype=np.int64)
    rank[order] = positions - group_start
    return rank


def build_population(n: int, seed: int, window: Window) -> pl.DataFrame:
    """Draw `n` people with their hidden traits, identity and Mailchimp membership.

    Returns one row per person ordered by `person_id` (1..n) with: persona, role, acquired_ts
    (first order, account creation or signup), purchase_rate (orders/day), price_tier,
    fav_category, discount_prob, seasonality, base_hazard (daily, before any unsubscribe),
    first_name, last_name, email (canonical), city_idx, country_code, shop_customer_id,
    mc_status (null when not a member) and the Mailchimp event times optin_ts, confirm_ts,
    unsub_ts, clean_ts, last_changed_ts (seconds; null when not applicable).
    """
    rng = rng_for(seed, STREAM_POPULATION)
    personas = ref.PERSONAS
    shares = np.array([p.share for p in personas])
    persona = rng.choice(len(personas), n, p=shares / shares.sum())
    role = rng.choice(3, n, p=np.array(ROLE_SHARES) / sum(ROLE_SHARES))

    start, end = window.history_start_ts, window.end_ts
    acquired = rng.integers(start, end, n)

    def per_persona(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in personas], dtype=np.float64)[persona]

    rate = per_persona("orders_per_day") * np.exp(per_persona("rate_sigma") * rng.normal(0, 1, n))
    rate = np.clip(rate, 1 / 500, 1 / 5)
    tier = np.clip(per_persona("price_tier") + rng.normal(0, 0.15, n), 0.0, 1.0)
    fav_category = rng.integers(0, len(ref.CATEGORIES), n)

    # Mailchimp membership: every lead is a member; shop people join by persona affinity.
    member = (role == LEAD) | (rng.random(n) < per_persona("email_affinity"))
    status_probs = np.array([p.status_mix for p in personas])
    status_idx = categorical(rng, status_probs, persona)
    status = np.where(member, status_idx, -1)

    # Event times. Shop people often sign up at a popup shortly before their first order.
    optin = np.where(role == LEAD, acquired, acquired + rng.integers(-30 * DAY, 10 * DAY, n))
    optin = np.clip(optin, start - 90 * DAY, end - 3 * DAY)
    confirm = optin + rng.integers(60, DAY, n)
    unsub_at = confirm + (rng.random(n) * (end - 60 - confirm)).astype(np.int64)
    clean_at = confirm + (rng.random(n) * (end - 60 - confirm)).astype(np.int64)
    touched = confirm + (rng.random(n) * (end - 1 - confirm)).astype(np.int64)
    is_unsub, is_clean = status == 1, status == 2
    last_changed = np.where(is_unsub, unsub_at, np.where(is_clean, clean_at, touched))

    # The hidden churn hazard: persona level, individual spread, cheaper baskets and email
    # disengagement raise it; unsubscribing multiplies it from that moment (see playout).
    hazard = per_persona("churn_hazard") * np.exp(0.3 * rng.normal(0, 1, n))
    hazard *= np.exp(PRICE_TIER_HAZARD_SLOPE * (0.5 - tier))
    hazard *= np.where(status == 0, SUBSCRIBED_HAZARD_MULT, 1.0)

    first = pick(ref.FIRST_NAMES, rng.integers(0, len(ref.FIRST_NAMES), n))
    last = pick(ref.LAST_NAMES, rng.integers(0, len(ref.LAST_NAMES), n))
    email = _emails(rng, first, last)
    city_w = np.array([c.weight for c in ref.CITIES])
    city_idx = rng.choice(len(ref.CITIES), n, p=city_w / city_w.sum())

    # Shopify ids grow with account creation time, in irregular steps.
    in_shop = role != LEAD
    order = np.argsort(acquired, kind="stable")  # ties keep person order: deterministic
    order = order[in_shop[order]]
    ids = 7_000_000_000_000 + rng.integers(0, 10**11) + np.cumsum(rng.integers(1, 5000, len(order)))
    shop_id = np.zeros(n, dtype=np.int64)
    shop_id[order] = ids

    def when_member(values: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
        keep = member if mask is None else member & mask
        return pl.Series(values).scatter(np.flatnonzero(~keep), None)

    people = pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "persona": pick([p.name for p in personas], persona),
            "persona_idx": persona.astype(np.int64),
            "role": role.astype(np.int64),
            "acquired_ts": acquired.astype(np.int64),
            "purchase_rate": rate,
            "price_tier": tier,
            "fav_category": fav_category.astype(np.int64),
            "discount_prob": per_persona("discount_prob"),
            "seasonality": per_persona("seasonality"),
            "base_hazard": hazard,
            "first_name": first,
            "last_name": last,
            "email": email,
            "city_idx": city_idx.astype(np.int64),
            "country_code": pick([c.country for c in ref.CITIES], city_idx),
            "shop_customer_id": pl.Series(shop_id)
            .cast(pl.String)
            .scatter(np.flatnonzero(~in_shop), None),
            "mc_status": pick(ref.MAILCHIMP_STATUSES, np.maximum(status, 0)).scatter(
                np.flatnonzero(~member), None
            ),
            "optin_ts": when_member(optin),
            "confirm_ts": when_member(confirm, status != 3),
            "unsub_ts": when_member(unsub_at, is_unsub),
            "clean_ts": when_member(clean_at, is_clean),
            "last_changed_ts": when_member(last_changed),
        }
    )
    logger.info(
        "population: %d people, %d shop accounts, %d mailchimp members",
        n,
        int(in_shop.sum()),
        int(member.sum()),
    )
    return people


def _zips(rng: np.random.Generator, city_idx: np.ndarray) -> pl.Series:
    """Postcodes in each city's national format (US 02134, CA M5V 2T6, GB SW1A 1AA, ...)."""
    n = len(city_idx)
    patterns = [ref.ZIP_SUFFIX[c.country].ljust(5, "_") for c in ref.CITIES]
    letters = "ABCDEFGHJKLMNPRSTUVWXY"
    parts = [pick([c.zip_prefix for c in ref.CITIES], city_idx)]
    for k in range(5):
        kind = pick([p[k] for p in patterns], city_idx)
        digit = pick(list("0123456789"), rng.integers(0, 10, n))
        letter = pick(list(letters), rng.integers(0, len(letters), n))
        part = pl.select(
            pl.when(kind == "d")
            .then(digit)
            .when(kind == "L")
            .then(letter)
            .when(kind == " ")
            .then(pl.lit(" "))
            .otherwise(pl.lit(""))
        ).to_series()
        parts.append(part)
    return pl.select(pl.concat_str(parts)).to_series()


def _phones(rng: np.random.Generator, city_idx: np.ndarray) -> pl.Series:
    """Phone numbers in the mixed formats people type: +1 555-123-4567, (555) 123-4567,
    5551234567, +44 7700 900123."""
    n = len(city_idx)
    cities = ref.CITIES
    area = pick([c.area_code for c in cities], city_idx)
    cc = pick([ref.CALLING_CODES[c.country] for c in cities], city_idx)
    nanp = pick(["1" if c.country in ("US", "CA") else "0" for c in cities], city_idx) == "1"
    exch = pl.Series(rng.integers(200, 1000, n)).cast(pl.String)
    line = digits(rng, n, 4)
    a4, b6 = digits(rng, n, 4), digits(rng, n, 6)
    style = pl.Series(rng.integers(0, 3, n))
    frame = pl.DataFrame(
        {
            "area": area,
            "cc": cc,
            "nanp": nanp,
            "exch": exch,
            "line": line,
            "a4": a4,
            "b6": b6,
            "style": style,
        }
    )
    expr = (
        pl.when(pl.col("nanp") & (pl.col("style") == 0))
        .then(pl.format("+1 {}-{}-{}", "area", "exch", "line"))
        .when(pl.col("nanp") & (pl.col("style") == 1))
        .then(pl.format("({}) {}-{}", "area", "exch", "line"))
        .when(pl.col("nanp"))
        .then(pl.format("{}{}{}", "area", "exch", "line"))
        .when(pl.col("style") == 0)
        .then(pl.format("+{} {} {}", "cc", "a4", "b6"))
        .when(pl.col("style") == 1)
        .then(pl.format("+{}{}{}", "cc", "a4", "b6"))
        .otherwise(pl.format("0{} {}", "a4", "b6"))
    )
    return frame.select(expr).to_series()


def _maybe(rng: np.random.Generator, values: pl.Series, share: float) -> pl.Series:
    """Keep each value with probability `share`, null otherwise."""
    return values.scatter(np.flatnonzero(rng.random(len(values)) >= share), None)


def _apostrophe(
    rng: np.random.Generator, values: pl.Series, share: float, always: pl.Series | None = None
) -> pl.Series:
    """Prefix some values with the `'` spreadsheets use to keep them text (Shopify does this
    for zips and phones); `always` marks values that are prefixed more often."""
    p = np.full(len(values), share)
    if always is not None:
        p = np.where(always.to_numpy(), 0.85, p)
    mark = pl.Series(rng.random(len(values)) < p)
    return pl.select(
        pl.when(mark & values.is_not_null()).then("'" + values).otherwise(values)
    ).to_series()


def shop_details(seed: int, people: pl.DataFrame) -> pl.DataFrame:
    """Shopify-only contact and account details for the shop accounts in `people`.

    Returns one row per shop account (person_id order) with person_id, company, address1,
    address2, city, province_code, zip, address_phone, phone, accepts_email, accepts_sms,
    note, tax_exempt, shop_tags. Zips and phones may carry a leading apostrophe.
    """
    rng = rng_for(seed, STREAM_SHOP_DETAILS)
    shop = people.filter(pl.col("shop_customer_id").is_not_null())
    n = shop.height
    city_idx = shop["city_idx"].to_numpy()
    street = pl.format(
        "{} {} {}",
        pl.lit(pl.Series(rng.integers(1, 10_000, n))),
        pl.lit(pick(ref.STREETS, rng.integers(0, len(ref.STREETS), n))),
        pl.lit(pick(ref.STREET_SUFFIXES, rng.integers(0, len(ref.STREET_SUFFIXES), n))),
    )
    unit = pl.format(
        "{} {}",
        pl.lit(pick(["Apt", "Suite", "Unit"], rng.integers(0, 3, n))),
        pl.lit(pl.Series(rng.integers(1, 400, n))),
    )
    zips = _zips(rng, city_idx)
    subscribed = (shop["mc_status"] == "subscribed").fill_null(False).to_numpy()
    # Shop consent mostly mirrors the newsletter status, with the usual disagreements.
    accepts_email = rng.random(n) < np.where(subscribed, 0.92, 0.05)
    tags = np.where(rng.random(n) < 0.05, 1, np.where(rng.random(n) < 0.04, 2, 0))
    frame = pl.DataFrame(
        {
            "person_id": shop["person_id"],
            "company": _maybe(
                rng, pick(ref.COMPANIES, rng.integers(0, len(ref.COMPANIES), n)), 0.05
            ),
            "address1": pl.select(street).to_series(),
            "address2": _maybe(rng, pl.select(unit).to_series(), 0.15),
            "city": pick([c.name for c in ref.CITIES], city_idx),
            "province_code": pick([c.province for c in ref.CITIES], city_idx),
            "zip": _apostrophe(rng, zips, 0.10, always=zips.str.starts_with("0")),
            "address_phone": _apostrophe(rng, _maybe(rng, _phones(rng, city_idx), 0.55), 0.25),
            "phone": _apostrophe(rng, _maybe(rng, _phones(rng, city_idx), 0.35), 0.25),
            "accepts_email": accepts_email,
            "accepts_sms": rng.random(n) < 0.18,
            "note": _maybe(
                rng, pick(ref.SHOP_NOTES, rng.integers(0, len(ref.SHOP_NOTES), n)), 0.02
            ),
            "tax_exempt": rng.random(n) < 0.01,
            "shop_tags": pick(["", "vip", "wholesale, newsletter"], tags),
        }
    )
    return frame.with_columns(
        province_code=pl.when(pl.col("province_code") == "").then(None).otherwise("province_code"),
        shop_tags=pl.when(pl.col("shop_tags") == "").then(None).otherwise("shop_tags"),
    )


def _raw_emails(rng: np.random.Generator, email: pl.Series) -> pl.Series:
    """The email as typed into a signup form: for about 20% the same address with different
    case or stray whitespace (`  Jane.Doe@Example.com`); returns a string Series."""
    n = len(email)
    kind = pl.Series(np.where(rng.random(n) < 0.20, rng.integers(1, 6, n), 0))
    local = email.str.split_exact("@", 1).struct.field("field_0")
    domain = email.str.split_exact("@", 1).struct.field("field_1")
    titled = (
        local.str.to_titlecase()
        + "@"
        + domain.str.slice(0, 1).str.to_uppercase()
        + domain.str.slice(1)
    )
    frame = pl.DataFrame({"e": email, "k": kind, "t": titled})
    expr = (
        pl.when(pl.col("k") == 1)
        .then("  " + pl.col("t"))
        .when(pl.col("k") == 2)
        .then(pl.col("t"))
        .when(pl.col("k") == 3)
        .then(pl.col("e").str.to_uppercase())
        .when(pl.col("k") == 4)
        .then(" " + pl.col("e"))
        .when(pl.col("k") == 5)
        .then(pl.col("t") + " ")
        .otherwise(pl.col("e"))
    )
    return frame.select(expr).to_series()


def _ips(rng: np.random.Generator, n: int) -> pl.Series:
    """Random public-looking IPv4 addresses."""
    # First octet below 224: multicast and reserved ranges never appear as a client IP.
    octets = [
        pl.Series(rng.integers(lo, hi, n)).cast(pl.String)
        for lo, hi in ((11, 224), (0, 256), (0, 256), (1, 255))
    ]
    return pl.select(pl.concat_str(octets, separator=".")).to_series()


def mailchimp_details(seed: int, people: pl.DataFrame) -> pl.DataFrame:
    """Mailchimp-only profile details for the audience members in `people`.

    Returns one row per member (person_id order) with person_id, email_raw, mc_first_name,
    mc_last_name, address, phone, birthday, member_rating, optin_ip, confirm_ip, latitude,
    longitude, gmtoff, dstoff, timezone, cc, region, leid, euid, notes, mc_tags,
    unsub_campaign, unsub_reason.
    """
    rng = rng_for(seed, STREAM_MAILCHIMP_DETAILS)
    mc = people.filter(pl.col("mc_status").is_not_null())
    n = mc.height
    city_idx = mc["city_idx"].to_numpy()
    status = mc["mc_status"]
    is_lead = (mc["role"] == LEAD).to_numpy()
    affinity = np.array([p.email_affinity for p in ref.PERSONAS])[mc["persona_idx"].to_numpy()]
    engaged = (status == "subscribed").to_numpy()
    rating = 1 + np.round(4 * affinity * rng.beta(4, 2, n)).astype(np.int64)
    rating = np.clip(rating - np.where(engaged, 0, 1), 1, 5)
    located = rng.random(n) < 0.7

    def at_city(values: Sequence[str]) -> pl.Series:
        return pick(values, city_idx).scatter(np.flatnonzero(~located), None)

    address = pl.select(
        pl.format(
            "{} {} St  {}  {}  {}",
            pl.lit(pl.Series(rng.integers(1, 10_000, n))),
            pl.lit(pick(ref.STREETS, rng.integers(0, len(ref.STREETS), n))),
            pl.lit(pick([c.name for c in ref.CITIES], city_idx)),
            pl.lit(pick([c.region for c in ref.CITIES], city_idx)),
            pl.lit(pick([c.country for c in ref.CITIES], city_idx)),
        )
    ).to_series()
    birthday = pl.format(
        "{}/{}",
        pl.lit(pl.Series(rng.integers(1, 13, n)).cast(pl.String).str.zfill(2)),
        pl.lit(pl.Series(rng.integers(1, 29, n)).cast(pl.String).str.zfill(2)),
    )
    tag_flags = {
        "newsletter": rng.random(n) < 0.55,
        "vip": (rng.random(n) < 0.08) & ~is_lead,
        "popup-signup": rng.random(n) < 0.30,
        "giveaway-2025": rng.random(n) < 0.07,
        "customer": ~is_lead & (rng.random(n) < 0.6),
        "lead": is_lead & (rng.random(n) < 0.7),
    }
    tags = pl.select(
        pl.concat_str(
            [pl.when(pl.lit(pl.Series(f))).then(pl.lit(t)) for t, f in tag_flags.items()],
            separator=",",
            ignore_nulls=True,
        )
    ).to_series()
    # LEIDs are unique ids in signup order; EUIDs are a bijective scramble of them.
    signup_order = np.argsort(mc["optin_ts"].to_numpy(), kind="stable")
    leid = np.empty(n, dtype=np.int64)
    leid[signup_order] = 100_000_000 + np.cumsum(rng.integers(1, 40, n))
    mult = int(rng.integers(1, 2**39)) * 2 + 1
    euid = (leid.astype(np.uint64) * np.uint64(mult) + np.uint64(rng.integers(0, 2**40))) % (
        np.uint64(2**40)
    )
    unsub = (status == "unsubscribed").to_numpy()
    frame = pl.DataFrame(
        {
            "person_id": mc["person_id"],
            "email_raw": _raw_emails(rng, mc["email"]),
            "mc_first_name": _maybe(rng, mc["first_name"], 0.85),
            "mc_last_name": _maybe(rng, mc["last_name"], 0.80),
            "address": _maybe(rng, address, 0.12),
            "phone": _maybe(rng, _phones(rng, city_idx), 0.10),
            "birthday": _maybe(rng, pl.select(birthday).to_series(), 0.10),
            "member_rating": rating,
            "optin_ip": _ips(rng, n),
            "confirm_ip": _ips(rng, n),
            "latitude": at_city([c.latitude for c in ref.CITIES]),
            "longitude": at_city([c.longitude for c in ref.CITIES]),
            "gmtoff": at_city([str(c.gmtoff) for c in ref.CITIES]),
            "dstoff": at_city([str(c.dstoff) for c in ref.CITIES]),
            "timezone": at_city([c.timezone for c in ref.CITIES]),
            "cc": at_city([c.country for c in ref.CITIES]),
            "region": at_city([c.region for c in ref.CITIES]),
            "leid": leid,
            "euid": _hex10(euid),
            "notes": pl.Series([None] * n, dtype=pl.String),
            "mc_tags": tags,
            "unsub_campaign": pick(
                ref.UNSUB_CAMPAIGNS, rng.integers(0, len(ref.UNSUB_CAMPAIGNS), n)
            ),
            "unsub_reason": pick(ref.UNSUB_REASONS, rng.integers(0, len(ref.UNSUB_REASONS), n)),
        }
    )
    return frame.with_columns(
        confirm_ip=pl.when(mc["confirm_ts"].is_null()).then(None).otherwise("confirm_ip"),
        mc_tags=pl.when(pl.col("mc_tags") == "").then(None).otherwise("mc_tags"),
        unsub_campaign=pl.when(pl.lit(pl.Series(unsub))).then("unsub_campaign"),
        unsub_reason=pl.when(pl.lit(pl.Series(unsub)) & (pl.col("unsub_reason") != "")).then(
            "unsub_reason"
        ),
    )


def _hex10(values: np.ndarray) -> pl.Series:
    """Format integers below 2**40 as 10 lowercase hex digits, a nibble at a time."""
    values = values.astype(np.uint64)
    nibbles = [
        pick(
            list("0123456789abcdef"),
            ((values >> np.uint64(4 * (9 - k))) & np.uint64(15)).astype(np.int64),
        )
        for k in range(10)
    ]
    return pl.select(pl.concat_str(nibbles)).to_series()
