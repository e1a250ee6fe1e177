"""The people of the simulated business: who they are, how to reach them, and their hidden traits.

`build_population` draws one row per person with persona, role (buyer, shop account, lead,
anonymous visitor or staff), behaviour parameters, consent, time zone, identity (names, a main
email and maybe a second one or a company mailbox, a mobile and maybe a second phone, an
address; households of two to four share an address and often a landline: see
`simulator.contacts`) and Mailchimp membership. `build_devices` draws the browsers each
person uses. When people arrive depends on the marketing plan and is set by
`plan.assign_arrivals`.

The source-specific details (Shopify account fields, the Mailchimp profile) are drawn by
`shop_details` and `mailchimp_details`. Each part draws from its own random stream,
`default_rng([seed, stream])`, so a change in one part leaves the others' draws unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from phonenumbers import PhoneMetadata

from simulator import reference as ref

logger = logging.getLogger(__name__)

DAY = 86_400

# Random stream ids; never renumber, only add.
STREAM_POPULATION = 1
STREAM_PLAYOUT = 2
STREAM_SHOP_DETAILS = 3
STREAM_MAILCHIMP_DETAILS = 4
STREAM_DEVICES = 5
STREAM_PLAN = 6
STREAM_ARRIVALS = 7
STREAM_DEFECTS = 8
STREAM_CRM = 9

BUYER, ACCOUNT, LEAD, VISITOR, STAFF = 0, 1, 2, 3, 4
NA, EU = 0, 1  # region groups the ad sets target

# Hazard multipliers: the observable signals that make churn predictable beyond recency.
UNSUB_HAZARD_MULT = 2.5  # applies from the moment a person unsubscribes
SUBSCRIBED_HAZARD_MULT = 0.8
PRICE_TIER_HAZARD_SLOPE = 1.4  # cheaper baskets -> more likely to drift away
MPP_SHARE_APPLE, MPP_SHARE_OTHER = 0.6, 0.1  # Apple Mail Privacy Protection opens everything


@dataclass(frozen=True)
class Window:
    """The simulated calendar in whole seconds since the Unix epoch (UTC).

    History starts `history_days` before the end of `end_date`; people keep arriving for
    `max_days` more days, the days a world can be continued by; behaviour is played out
    `future_days` beyond that so every "next 365 days" truth is known.
    """

    end_date: dt.date
    history_days: int
    future_days: int = 365
    max_days: int = 60

    @property
    def end_ts(self) -> int:
        """Midnight UTC after `end_date`: the export instant; everything before is the past."""
        end = dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), dt.UTC)
        return int(end.timestamp())

    @property
    def history_start_ts(self) -> int:
        """Midnight UTC at the start of the first day of history."""
        return self.end_ts - self.history_days * DAY

    @property
    def reveal_end_ts(self) -> int:
        """End of the last day a continued world can reach; arrivals stop here."""
        return self.end_ts + self.max_days * DAY

    @property
    def horizon_ts(self) -> int:
        """End of the hidden future: everything is played out up to here."""
        return self.reveal_end_ts + self.future_days * DAY

    @property
    def n_days(self) -> int:
        """Days played out, from the history start to the horizon."""
        return self.history_days + self.max_days + self.future_days

    @property
    def reveal_days(self) -> int:
        """Days that can ever be exported: history plus the continuable days."""
        return self.history_days + self.max_days

    def day_of(self, date: dt.date) -> int:
        """Index of `date` in the calendar (0 = the first day of history)."""
        return self.history_days - 1 + (date - self.end_date).days

    def date_of(self, day: int) -> dt.date:
        """The calendar date of day index `day`."""
        return self.end_date + dt.timedelta(days=day - (self.history_days - 1))


def rng_for(seed: int, stream: int, *more: int) -> np.random.Generator:
    """The generator for one part of the simulation; returns an independent stream per id."""
    return np.random.default_rng([seed, stream, *more])


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
    cum = cum / cum[:, -1:]  # rows need not be normalised
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1)


def local_seconds(
    rng: np.random.Generator, gmtoff: np.ndarray, hour: np.ndarray, spread_h: float
) -> np.ndarray:
    """Seconds after UTC midnight at which people act, around their local `hour` with a
    normal spread of `spread_h` hours; returns int64 in [0, 86400)."""
    local = hour * 3600.0 + rng.normal(0.0, spread_h * 3600.0, len(hour))
    return np.mod(np.rint(local - gmtoff * 3600.0), DAY).astype(np.int64)


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


def _unique_emails(local: pl.Series, domain: pl.Series) -> pl.Series:
    """Join local parts and domains into emails and make them unique the way people do: a
    number after the repeats (jane.doe2@...), again until no two people share an inbox.

    Unique by inbox (`canonical`), not by spelling: Gmail ignores dots in the local part, so
    jane.doe@ and janedoe@gmail.com are one mailbox, never given to two people."""
    frame = pl.DataFrame({"local": local, "d": domain})
    while True:
        frame = frame.with_columns(email=pl.format("{}@{}", "local", "d"))
        rank = repeat_rank(frame["email"].map_elements(canonical, return_dtype=pl.String))
        if not rank.any():
            return frame["email"]
        number = pl.Series(rank + 1).cast(pl.String)
        repeat = pl.Series(rank > 0)
        frame = frame.with_columns(
            local=pl.when(pl.lit(repeat)).then(pl.col("local") + number).otherwise("local")
        )


def canonical(address: str) -> str:
    """The mailbox an address reaches: a plus tag dropped, and Gmail's dots."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _email_locals(rng: np.random.Generator, first: pl.Series, last: pl.Series) -> pl.Series:
    """Personal email local parts built from ASCII-folded names (jane.doe, jdoe, jane1987)."""
    n = len(first)
    folded_first = {v: ref.ascii_fold(v).lower() for v in ref.FIRST_NAMES}
    folded_last = {v: "".join(c for c in ref.ascii_fold(v).lower() if c.isalpha())
                   for v in ref.LAST_NAMES}  # fmt: skip
    f = first.replace_strict(folded_first, return_dtype=pl.String)
    la = last.replace_strict(folded_last, return_dtype=pl.String)
    style = rng.integers(0, 6, n)
    year = pl.Series(rng.integers(1960, 2006, n)).cast(pl.String)
    small = pl.Series(rng.integers(1, 1000, n)).cast(pl.String)
    number = pl.Series(rng.random(n) < 0.5)
    frame = pl.DataFrame({"f": f, "l": la, "s": style, "y": year, "k": small, "num": number})
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
    return frame.select(local).to_series()


def build_population(
    n: int, seed: int, window: Window, personas: Sequence[ref.Persona] = ref.PERSONAS
) -> pl.DataFrame:
    """Draw `n` people with their hidden traits, identity, consent and Mailchimp membership.

    Returns one row per person ordered by `person_id` (1..n). Arrival times are left to
    `plan.assign_arrivals`; `arrival_u` is the uniform draw that places each person in time.
    Columns: persona, persona_idx, role, channel (index into ARRIVAL_CHANNELS), region
    (NA or EU), arrival_u, purchase_rate, price_tier, fav_category, discount_prob,
    seasonality, base_hazard, open_rate, click_rate, fatigue_tolerance, send_hour_local,
    lead_q (daily conversion intensity of a lead or visitor), nps_base, discount_relief,
    basket_boost, persona_hazard, mobile_share, email_affinity, nps_topic (the persona's
    churn hazard, phone share, Mailchimp affinity and survey topic), first_name, last_name,
    email, second_email, role_email (their company's shared mailbox), generic_email (the main
    address is that mailbox), company_id, city_idx, country_code, timezone, gmtoff,
    phone_national, phone_e164 (their mobile), second_phone_national, second_phone_e164
    (a landline, shared within the household, or a desk phone), address1, address2, zip,
    household_id (the home of two to four people; null for those living alone),
    is_eea, consent_region, analytics_consent, ad_consent, ad_user_data, ad_personalization,
    ccpa_opt_out, mpp, mc_member, mc_nonsub, popup_offset (signup relative to arrival),
    b2b (office leads that go through deals).
    """
    rng = rng_for(seed, STREAM_POPULATION)
    shares = np.array([p.share for p in personas])
    persona = rng.choice(len(personas), n, p=shares / shares.sum())

    def per_persona(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in personas], dtype=np.float64)[persona]

    role_probs = np.array([p.roles for p in personas])
    role = categorical(rng, role_probs, persona)
    n_staff = min(n, 2 + n // 2000)
    role[n - n_staff :] = STAFF
    channel = categorical(rng, np.array([p.channels for p in personas]), persona)
    channel = np.where(role == STAFF, 2, channel)  # staff type the address in

    rate = per_persona("orders_per_day") * np.exp(per_persona("rate_sigma") * rng.normal(0, 1, n))
    rate = np.clip(rate, 1 / 500, 1 / 5)
    tier = np.clip(per_persona("price_tier") + rng.normal(0, 0.15, n), 0.0, 1.0)
    fav_category = categorical(rng, np.array([p.categories for p in personas]), persona)

    # Where they live: Europe by persona, then a city by weight within the region.
    eu = rng.random(n) < per_persona("eu_share")
    city_w = np.array([c.weight for c in ref.CITIES])
    in_eu = np.array([c.country not in ("US", "CA") for c in ref.CITIES])
    region_probs = np.stack([np.where(in_eu, 0.0, city_w), np.where(in_eu, city_w, 0.0)])
    city_idx = categorical(rng, region_probs, eu.astype(np.int64))
    country = pick([c.country for c in ref.CITIES], city_idx)

    # The hidden churn hazard: persona level, individual spread and cheaper baskets raise it;
    # email status, fatigue, problems and discounts move it over time (see engine).
    hazard = per_persona("churn_hazard") * np.exp(0.3 * rng.normal(0, 1, n))
    hazard *= np.exp(PRICE_TIER_HAZARD_SLOPE * (0.5 - tier))

    engagement = np.exp(0.35 * rng.normal(0, 1, n))  # some people read everything
    open_rate = np.clip(per_persona("open_rate") * engagement, 0.01, 0.95)
    click_rate = np.clip(per_persona("click_rate") * engagement, 0.005, 0.6)
    send_hour = np.mod(np.rint(per_persona("send_hour") + rng.normal(0, 1.5, n)), 24).astype(
        np.int64
    )
    # A lead or visitor converts at a daily intensity that fades over ~120 days; choose it so
    # the chance of ever converting is the persona's (visitors convert far less often).
    ever = per_persona("lead_conversion") * np.where(role == VISITOR, 0.15, 1.0)
    lead_q = -np.log1p(-np.clip(ever * np.exp(0.3 * rng.normal(0, 1, n)), 0, 0.95)) / 120.0

    first = pick(ref.FIRST_NAMES, rng.integers(0, len(ref.FIRST_NAMES), n))
    last = pick(ref.LAST_NAMES, rng.integers(0, len(ref.LAST_NAMES), n))
    address1, address2, zips = _addresses(rng, city_idx)
    share_last_name = rng.random(n) < 0.7

    # Homes, phones and addresses (simulator.contacts): a home's members share its address,
    # often its last name and its landline, never their email or mobile.
    from simulator import contacts

    staff = role == STAFF
    office = per_persona("office").astype(bool)
    home = contacts.households(rng_for(seed, contacts.STREAM_CONTACTS, contacts.PART_HOUSEHOLDS),
                               city_idx, staff)  # fmt: skip
    in_household = np.bincount(home, minlength=n)[home] > 1
    address1, address2, zips = (s.gather(home) for s in (address1, address2, zips))
    last = pl.select(
        pl.when(pl.lit(pl.Series((home != np.arange(n)) & share_last_name)))
        .then(pl.lit(last.gather(home)))
        .otherwise(pl.lit(last))
    ).to_series()
    line = contacts.second_phones(
        rng_for(seed, contacts.STREAM_CONTACTS, contacts.PART_SECOND_PHONES), home,
        eu.astype(np.int64), office & ~staff,
    )  # fmt: skip
    line_city = np.zeros(int(line.max()) + 1, dtype=np.int64)
    line_city[line[line >= 0]] = city_idx[line >= 0]
    national, e164 = contacts.phone_numbers(
        rng_for(seed, contacts.STREAM_CONTACTS, contacts.PART_PHONES),
        np.concatenate([city_idx, line_city]),
        np.r_[np.ones(n, dtype=bool), np.zeros(len(line_city), dtype=bool)],
    )
    at_line = pl.Series(n + np.maximum(line, 0))
    no_line = np.flatnonzero(line < 0)
    phones = {
        "phone_national": national.slice(0, n),
        "phone_e164": e164.slice(0, n),
        "second_phone_national": national.gather(at_line).scatter(no_line, None),
        "second_phone_e164": e164.gather(at_line).scatter(no_line, None),
    }
    mail = contacts.emails(rng_for(seed, contacts.STREAM_CONTACTS, contacts.PART_EMAILS),
                           first, last, office, staff)  # fmt: skip

    # Consent: banners where GDPR-style rules apply; opt-out of "sale" in some US states.
    consent_region = np.isin(country.to_numpy(), list(ref.CONSENT_COUNTRIES))
    is_eea = np.isin(country.to_numpy(), list(ref.EEA_COUNTRIES))
    analytics = ~consent_region | (rng.random(n) < 0.72)
    ad_storage = ~consent_region | (rng.random(n) < 0.60)
    ad_user_data = ad_storage & (~consent_region | (rng.random(n) < 0.95))
    ad_personalization = ad_user_data & (~consent_region | (rng.random(n) < 0.90))
    province = pick([c.province for c in ref.CITIES], city_idx).to_numpy()
    ccpa = (country.to_numpy() == "US") & np.isin(province, list(ref.OPT_OUT_STATES))
    ccpa &= rng.random(n) < 0.10

    # Mailchimp: every lead joins; shop people by persona affinity, mostly at a popup around
    # their first visit. A few join as transactional-only (non-subscribed).
    member = (role == LEAD) | ((role != VISITOR) & (rng.random(n) < per_persona("email_affinity")))
    member &= role != STAFF
    nonsub = member & (role != LEAD) & (rng.random(n) < 0.08)
    popup = np.where(role == LEAD, 0, rng.integers(-20 * DAY, 10 * DAY, n))
    b2b = office & (role == LEAD) & (rng.random(n) < 0.7)
    topics = np.array([ref.NPS_TOPICS.index(p.nps_topic) for p in personas])

    people = pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "persona": pick([p.name for p in personas], persona),
            "persona_idx": persona.astype(np.int64),
            "role": role.astype(np.int64),
            "channel": channel.astype(np.int64),
            "region": eu.astype(np.int64),
            "arrival_u": rng.random(n),
            "purchase_rate": rate,
            "price_tier": tier,
            "fav_category": fav_category.astype(np.int64),
            "discount_prob": per_persona("discount_prob"),
            "seasonality": per_persona("seasonality"),
            "base_hazard": hazard,
            "open_rate": open_rate,
            "click_rate": click_rate,
            "fatigue_tolerance": per_persona("fatigue_tolerance"),
            "send_hour_local": send_hour,
            "lead_q": lead_q,
            "nps_base": per_persona("nps_base") + rng.normal(0, 1.0, n),
            "discount_relief": per_persona("discount_relief"),
            "basket_boost": per_persona("basket_boost"),
            # Persona-level traits the play-out and the exports read per person.
            "persona_hazard": per_persona("churn_hazard"),
            "mobile_share": per_persona("mobile_share"),
            "email_affinity": per_persona("email_affinity"),
            "nps_topic": topics[persona].astype(np.int64),
            "first_name": first,
            "last_name": last,
            **{c: mail[c] for c in mail.columns},
            "city_idx": city_idx.astype(np.int64),
            "country_code": country,
            "timezone": pick([c.timezone for c in ref.CITIES], city_idx),
            "gmtoff": np.array([c.gmtoff for c in ref.CITIES], dtype=np.int64)[city_idx],
            **phones,
            "address1": address1,
            "address2": address2,
            "zip": zips,
            "household_id": pl.Series(home + 1, dtype=pl.Int64).scatter(
                np.flatnonzero(~in_household), None
            ),
            "is_eea": is_eea,
            "consent_region": consent_region,
            "analytics_consent": analytics,
            "ad_consent": ad_storage,
            "ad_user_data": ad_user_data,
            "ad_personalization": ad_personalization,
            "ccpa_opt_out": ccpa,
            "mpp": np.zeros(n, dtype=bool),  # set by build_devices from the main device
            "mc_member": member,
            "mc_nonsub": nonsub,
            "popup_offset": popup.astype(np.int64),
            "b2b": b2b,
        }
    )
    logger.info(
        "population: %d people (%s)",
        n,
        ", ".join(f"{name} {int((role == k).sum())}" for k, name in enumerate(ref.ROLE_NAMES)),
    )
    return people


def format_phones(
    national: pl.Series, e164: pl.Series, country: pl.Series, style: np.ndarray
) -> pl.Series:
    """Phone numbers as people type them, by `style` 0-5: +1 555-123-4567, (555) 123-4567,
    5551234567, +15551234567, 555.123.4567, +1 (555) 123-4567; elsewhere +44 7700 900123,
    +447700900123, 07700 900123 (with the country's trunk prefix, none in Spain and Italy),
    +447700900123, 07700 900123 and +44 (0)7700 900123. Null numbers stay null."""
    trunk = {c: _trunk_prefix(c) for c in ref.CALLING_CODES}
    frame = pl.DataFrame(
        {"n": national, "e": e164, "c": country, "s": pl.Series(style, dtype=pl.Int64)}
    ).with_columns(
        nanp=pl.col("c").is_in(["US", "CA"]),
        cc=pl.col("e").str.head(pl.col("e").str.len_chars() - pl.col("n").str.len_chars()),
        t=pl.col("c").replace_strict(trunk, default=""),
        a=pl.col("n").str.slice(0, 3),
        b=pl.col("n").str.slice(3, 3),
        c4=pl.col("n").str.slice(6, 4),
        m4=pl.col("n").str.slice(0, 4),
        m6=pl.col("n").str.slice(4),
    )
    s = pl.col("s") % 6
    nanp = (
        pl.when(s == 0)
        .then(pl.format("+1 {}-{}-{}", "a", "b", "c4"))
        .when(s == 1)
        .then(pl.format("({}) {}-{}", "a", "b", "c4"))
        .when(s == 2)
        .then(pl.col("n"))
        .when(s == 3)
        .then(pl.format("+{}", "e"))
        .when(s == 4)
        .then(pl.format("{}.{}.{}", "a", "b", "c4"))
        .otherwise(pl.format("+1 ({}) {}-{}", "a", "b", "c4"))
    )
    other = (
        pl.when(s == 0)
        .then(pl.format("+{} {} {}", "cc", "m4", "m6"))
        .when((s == 5) & (pl.col("t") != ""))
        .then(pl.format("+{} ({}){} {}", "cc", "t", "m4", "m6"))
        .when(s == 5)
        .then(pl.format("+{} {} {}", "cc", "m4", "m6"))
        .when(s == 3)
        .then(pl.format("+{}", "e"))
        .when(s == 1)
        .then(pl.format("+{}{}", "cc", "n"))
        .otherwise(pl.format("{}{} {}", "t", "m4", "m6"))
    )
    return frame.select(
        pl.when(pl.col("n").is_null()).then(None).when("nanp").then(nanp).otherwise(other)
    ).to_series()


def _trunk_prefix(country: str) -> str:
    """The digit a national number is dialled with inside the country (the UK's 0), as
    libphonenumber records it; none for North America, Spain or Italy."""
    if country in ("US", "CA"):
        return ""
    return PhoneMetadata.metadata_for_region(country).national_prefix or ""


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


def _addresses(
    rng: np.random.Generator, city_idx: np.ndarray
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Street line, optional unit line and postcode per person."""
    n = len(city_idx)
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
    address1 = pl.select(street).to_series().alias("address1")
    address2 = _maybe(rng, pl.select(unit).to_series(), 0.15).alias("address2")
    return address1, address2, _zips(rng, city_idx).alias("zip")


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


def build_devices(seed: int, people: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """The browsers each person uses: one to three devices, the first one their main one.

    Returns (devices, mpp): devices has one row per (person_id, device_idx) with
    device_type (index into DEVICES), adblock (GA4 never sees it), cookie_days (days until
    the analytics cookie is cleared and a new user_pseudo_id starts; 0 = never),
    pseudo_base and fbp_rand (random digits of the cookies) and ip; mpp says per person
    whether their mail app pre-opens every email (Apple Mail Privacy Protection).
    """
    rng = rng_for(seed, STREAM_DEVICES)
    n = people.height
    mobile_share = people["mobile_share"].to_numpy()
    n_dev = 1 + (rng.random(n) < 0.5) + (rng.random(n) < 0.3)
    owner = np.repeat(np.arange(n), n_dev)
    starts = np.cumsum(n_dev) - n_dev
    device_idx = np.arange(len(owner)) - starts[owner]
    first = device_idx == 0
    # Main device: a phone by persona share; others: whatever they also use.
    cat = np.where(
        rng.random(len(owner)) < np.where(first, mobile_share[owner], 0.45),
        0,
        np.where(rng.random(len(owner)) < 0.85, 1, 2),
    )
    cat_names = np.array(ref.DEVICE_CATEGORIES)
    dev_cat = np.array([ref.DEVICE_CATEGORIES.index(d[0]) for d in ref.DEVICES])
    dev_w = np.array([d[7] for d in ref.DEVICES])
    probs = np.stack([np.where(dev_cat == k, dev_w, 0.0) for k in range(len(cat_names))])
    device_type = categorical(rng, probs, cat)
    adblock = rng.random(len(owner)) < np.where(cat == 1, 0.15, 0.04)
    cookie_days = np.where(rng.random(len(owner)) < 0.25, rng.integers(30, 240, len(owner)), 0)
    devices = pl.DataFrame(
        {
            "person_id": (owner + 1).astype(np.int64),
            "device_idx": device_idx.astype(np.int64),
            "device_type": device_type.astype(np.int64),
            "adblock": adblock,
            "cookie_days": cookie_days.astype(np.int64),
            "pseudo_base": rng.integers(100_000_000, 2_147_483_647, len(owner)),
            "fbp_rand": rng.integers(1_000_000_000, 9_999_999_999, len(owner)),
            "ip": _ips(rng, len(owner)),
        }
    )
    apple = np.array([d[3] == "Apple" for d in ref.DEVICES])[device_type[first]]
    mpp = rng.random(n) < np.where(apple, MPP_SHARE_APPLE, MPP_SHARE_OTHER)
    return devices, mpp


def shop_details(seed: int, people: pl.DataFrame) -> pl.DataFrame:
    """Shopify-only account details for every person in `people` (the caller filters).

    Returns one row per person (person_id order) with person_id, company, phone (as typed,
    may be null), address_phone, accepts_sms, note, tax_exempt, shop_tags, zip_raw (the
    postcode as the export shows it, sometimes with a leading apostrophe) and phone_style
    (how this person types their number elsewhere in the shop).
    """
    rng = rng_for(seed, STREAM_SHOP_DETAILS)
    n = people.height
    style = rng.integers(0, 3, n)
    typed = format_phones(people["phone_national"], people["phone_e164"],
                          people["country_code"], style)  # fmt: skip
    # The address's phone: the home's landline for many who have one (contacts).
    address_typed = format_phones(people["address_phone_national"],
                                  people["address_phone_e164"], people["country_code"], style)
    tags = np.where(rng.random(n) < 0.05, 1, np.where(rng.random(n) < 0.04, 2, 0))
    zips = people["zip"]
    frame = pl.DataFrame(
        {
            "person_id": people["person_id"],
            "company": _maybe(
                rng, pick(ref.COMPANIES, rng.integers(0, len(ref.COMPANIES), n)), 0.05
            ),
            "zip_raw": _apostrophe(rng, zips, 0.10, always=zips.str.starts_with("0")),
            "address_phone": _apostrophe(rng, _maybe(rng, address_typed, 0.55), 0.25),
            "phone": _apostrophe(rng, _maybe(rng, typed, 0.35), 0.25),
            "accepts_sms": rng.random(n) < 0.18,
            "note": _maybe(
                rng, pick(ref.SHOP_NOTES, rng.integers(0, len(ref.SHOP_NOTES), n)), 0.02
            ),
            "tax_exempt": rng.random(n) < 0.01,
            "shop_tags": pick(["", "vip", "wholesale, newsletter"], tags),
            "phone_style": style.astype(np.int64),
        }
    )
    return frame.with_columns(
        shop_tags=pl.when(pl.col("shop_tags") == "").then(None).otherwise("shop_tags"),
    )


def raw_emails(rng: np.random.Generator, email: pl.Series, share: float = 0.20) -> pl.Series:
    """The email as typed into a form: for about `share` of people the same address with
    different case or stray whitespace (`  Jane.Doe@Example.com`); returns a string Series."""
    n = len(email)
    kind = pl.Series(np.where(rng.random(n) < share, rng.integers(1, 6, n), 0))
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
    """Mailchimp-only profile details for the audience members in `people` (`mc_member`).

    Returns one row per member (person_id order) with person_id, email_raw, mc_first_name,
    mc_last_name, address, mc_phone, birthday, member_rating, optin_ip, confirm_ip, latitude,
    longitude, mc_gmtoff, dstoff, mc_timezone, cc, mc_region, leid, euid, notes, mc_tags,
    unsub_reason, confirm_delay (seconds from opt-in to confirmation).
    """
    rng = rng_for(seed, STREAM_MAILCHIMP_DETAILS)
    mc = people.filter(pl.col("mc_member"))
    n = mc.height
    city_idx = mc["city_idx"].to_numpy()
    is_lead = (mc["role"] == LEAD).to_numpy()
    affinity = mc["email_affinity"].to_numpy()
    rating = 1 + np.round(4 * affinity * rng.beta(4, 2, n)).astype(np.int64)
    rating = np.clip(rating - np.where(mc["mc_nonsub"].to_numpy(), 1, 0), 1, 5)
    located = rng.random(n) < 0.7

    def at_city(values: Sequence[str]) -> pl.Series:
        return pick(values, city_idx).scatter(np.flatnonzero(~located), None)

    address = pl.select(
        pl.format(
            "{}  {}  {}  {}  {}",
            pl.lit(mc["address1"]),
            pl.lit(pick([c.name for c in ref.CITIES], city_idx)),
            pl.lit(pick([c.region for c in ref.CITIES], city_idx)),
            pl.lit(mc["zip"]),
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
        "wholesale": mc["b2b"].to_numpy(),
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
    phone_style = np.where(rng.random(n) < 0.5, 1, 4)
    phones = format_phones(mc["phone_national"], mc["phone_e164"], mc["country_code"],
                           phone_style)  # fmt: skip
    frame = pl.DataFrame(
        {
            "person_id": mc["person_id"],
            "email_raw": raw_emails(rng, mc["mc_email"]),
            "mc_first_name": _maybe(rng, mc["first_name"], 0.85),
            "mc_last_name": _maybe(rng, mc["last_name"], 0.80),
            "address": _maybe(rng, address, 0.12),
            "mc_phone": _maybe(rng, phones, 0.10),
            "birthday": _maybe(rng, pl.select(birthday).to_series(), 0.10),
            "member_rating": rating,
            "optin_ip": _ips(rng, n),
            "confirm_ip": _ips(rng, n),
            "latitude": at_city([c.latitude for c in ref.CITIES]),
            "longitude": at_city([c.longitude for c in ref.CITIES]),
            "mc_gmtoff": at_city([str(c.gmtoff) for c in ref.CITIES]),
            "dstoff": at_city([str(c.dstoff) for c in ref.CITIES]),
            "mc_timezone": at_city([c.timezone for c in ref.CITIES]),
            "cc": at_city([c.country for c in ref.CITIES]),
            "mc_region": at_city([c.region for c in ref.CITIES]),
            "leid": leid,
            "euid": _hex10(euid),
            "notes": pl.Series([None] * n, dtype=pl.String),
            "mc_tags": tags,
            "unsub_reason": pick(ref.UNSUB_REASONS, rng.integers(0, len(ref.UNSUB_REASONS), n)),
            "confirm_delay": rng.integers(60, DAY, n),
        }
    )
    return frame.with_columns(
        confirm_ip=pl.when(mc["mc_nonsub"]).then(None).otherwise("confirm_ip"),
        mc_tags=pl.when(pl.col("mc_tags") == "").then(None).otherwise("mc_tags"),
        unsub_reason=pl.when(pl.col("unsub_reason") != "").then("unsub_reason"),
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


def hex_digits(values: np.ndarray, width: int) -> pl.Series:
    """Format non-negative integers as `width` lowercase hex digits (low bits, zero padded)."""
    values = values.astype(np.uint64)
    nibbles = [
        pick(
            list("0123456789abcdef"),
            ((values >> np.uint64(4 * (width - 1 - k))) & np.uint64(15)).astype(np.int64),
        )
        for k in range(width)
    ]
    return pl.select(pl.concat_str(nibbles)).to_series()
