"""How people are reached and recognised: phone numbers valid in their country, a second
phone, households that share a landline and an address, second email addresses, and colleagues
who share their company's role mailbox.

These are what identity resolution meets in real exports: one person shows different numbers
and addresses in different systems, and different people show the same one. `build_population`
draws them (`phone_numbers`, `households`, `second_phones`, `emails`); `source_contacts`
decides, once the play-out says who is in which system, which address and numbers each system
holds. Every part draws from its own stream, `rng_for(seed, STREAM_CONTACTS, part)`.

The shares below are set on general grounds, never to suit the pipeline; the truth records
every one of these facts (`truth.py`).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import polars as pl
from phonenumbers import PhoneMetadata

from simulator import reference as ref
from simulator.population import _email_locals, _unique_emails, pick, rng_for

STREAM_CONTACTS = 11
PART_PHONES, PART_HOUSEHOLDS, PART_SECOND_PHONES, PART_EMAILS, PART_SOURCES, PART_ORDERS = (
    range(6))

# Households. Most adults live with another adult, but a small shop rarely has two people from
# one home on its lists: retail CRMs commonly find a few percent to 15% of records sharing a
# postal address with another. 5% of people head a home that other customers share, which puts
# about 12% of people in one; two adults are far more common than three or four (census
# household sizes fall off above two, and each extra member must also be a customer).
HOUSEHOLD_HEAD_SHARE = 0.05
HOUSEHOLD_SIZES: tuple[int, ...] = (2, 3, 4)
HOUSEHOLD_SIZE_P: tuple[float, ...] = (0.7, 0.2, 0.1)
# Landlines, by region group (North America, Europe): about a quarter of North American adults
# still have one at home (CDC NHIS 2022), about half of European households (Eurobarometer).
# A home's landline is everyone's in it. An office buyer gives a desk phone more often than not.
LANDLINE_SHARE: tuple[float, float] = (0.25, 0.45)
OFFICE_PHONE_SHARE = 0.6
# Second emails: most people keep more than one address, few show two to one small shop;
# office buyers often do (a work and a personal address).
SECOND_EMAIL_SHARE = 0.08
OFFICE_SECOND_EMAIL_SHARE = 0.5
# Role mailboxes: many office buyers order from a shared company address (info@...); most
# companies have one buyer in the shop's data, some two or three colleagues, who then show the
# same mailbox in different systems.
GENERIC_EMAIL_SHARE = 0.4
COMPANY_SIZES: tuple[int, ...] = (1, 2, 3)
COMPANY_SIZE_P: tuple[float, ...] = (0.6, 0.3, 0.1)
# How a second address or number spreads over the systems.
OTHER_EMAIL_SHARE = 0.5  # a two-address person's Mailchimp or HubSpot address is the other one
ADDITIONAL_EMAIL_SHARE = 0.5  # HubSpot also lists their other address ("Additional emails")
OTHER_ORDER_EMAIL_SHARE = 0.2  # of their orders, typed with the other address at checkout
ADDRESS_PHONE_SECOND_SHARE = 0.7  # the shop's address phone is the home's landline
CRM_PHONE_SECOND_SHARE = 0.6  # the CRM's phone is the landline or desk phone
CRM_MOBILE_SHARE = 0.5  # the CRM then also holds the mobile ("Mobile Phone Number")

MAX_DRAWS = 200  # redraws of invalid or taken phone numbers before giving up


@cache
def _plan(country: str, mobile: bool) -> str:
    """libphonenumber's pattern for the national numbers of `country` of one type."""
    metadata = PhoneMetadata.metadata_for_region(country)
    desc = metadata.mobile if mobile else metadata.fixed_line
    return f"^(?:{desc.national_number_pattern})$"


def _templates(rng: np.random.Generator, city_idx: np.ndarray, mobile: np.ndarray
               ) -> tuple[pl.Series, np.ndarray]:  # fmt: skip
    """Per number, the leading digits and the national length: North America the city's area
    code and an exchange; Europe an operator prefix (mobiles) or the city's area code."""
    n = len(city_idx)
    prefix = np.empty(n, dtype=object)
    length = np.zeros(n, dtype=np.int64)
    for c, city in enumerate(ref.CITIES):
        here = city_idx == c
        if city.country in ("US", "CA"):
            exchange = rng.integers(200, 1000, here.sum()).astype(str)
            prefix[here] = np.char.add(city.area_code, exchange)
            length[here] = 10
            continue
        code, land_length = ref.AREA_CODES[city.name]
        prefix[here & ~mobile] = code
        length[here & ~mobile] = land_length
        starts, mobile_length = ref.MOBILE_PLANS[city.country]
        mob = here & mobile
        prefix[mob] = np.array(starts, dtype=object)[rng.integers(0, len(starts), mob.sum())]
        length[mob] = mobile_length
    return pl.Series(prefix.astype(str)), length


def phone_numbers(
    rng: np.random.Generator, city_idx: np.ndarray, mobile: np.ndarray
) -> tuple[pl.Series, pl.Series]:
    """One distinct number per row (a mobile where `mobile`, else a landline in the city), each
    a valid number of its country and type by libphonenumber's plan: drawn from an operator or
    area prefix, redrawn while invalid or taken. Returns the national significant digits and
    the E.164 digits (country code, no `+`). RuntimeError when a plan cannot be met."""
    n = len(city_idx)
    country = np.array([c.country for c in ref.CITIES])[city_idx]
    groups = {(k, bool(m)): np.flatnonzero((country == k) & (mobile == m))
              for k in np.unique(country) for m in (True, False)}  # fmt: skip
    calling = pl.Series([ref.CALLING_CODES[k] for k in country], dtype=pl.String)
    national = pl.Series([None] * n, dtype=pl.String)
    todo = np.arange(n)
    for _ in range(MAX_DRAWS):
        prefix, length = _templates(rng, city_idx[todo], mobile[todo])
        rest = length - prefix.str.len_chars().to_numpy()
        tail = pl.Series(rng.integers(0, 10 ** rest, len(todo))).cast(pl.String)
        drawn = pl.select(prefix + tail.str.zfill(pl.lit(pl.Series(rest)))).to_series()
        national = national.scatter(todo, drawn)
        valid = np.zeros(n, dtype=bool)
        for (k, m), rows in groups.items():
            if len(rows):
                valid[rows] = national.gather(rows).str.contains(_plan(k, m)).to_numpy()
        e164 = calling + national
        taken = ~e164.is_first_distinct().to_numpy()
        todo = np.flatnonzero(~valid | taken)
        if not len(todo):
            return national.alias("phone_national"), e164.alias("phone_e164")
    raise RuntimeError(f"could not draw valid phone numbers for {len(todo)} rows, e.g. "
                       f"{country[todo[0]]} {'mobile' if mobile[todo[0]] else 'landline'}")


def households(rng: np.random.Generator, city_idx: np.ndarray, staff: np.ndarray) -> np.ndarray:
    """For each person the index of the first member of their household (themselves when they
    live alone or head one). People are shuffled within their city; a head takes the next one
    to three people of the city as partners, children or flatmates. Staff live alone."""
    n = len(city_idx)
    order = np.lexsort((rng.random(n), city_idx))
    starts = rng.random(n) < HOUSEHOLD_HEAD_SHARE
    sizes = rng.choice(HOUSEHOLD_SIZES, n, p=HOUSEHOLD_SIZE_P)
    home = np.arange(n)
    i = 0
    while i < n:
        head = order[i]
        if not starts[i] or staff[head]:
            i += 1
            continue
        j = i + 1
        while (j < n and j - i < sizes[i] and city_idx[order[j]] == city_idx[head]
               and not staff[order[j]]):  # fmt: skip
            home[order[j]] = head
            j += 1
        i = j
    return home


def second_phones(rng: np.random.Generator, home: np.ndarray, region: np.ndarray,
                  office: np.ndarray) -> np.ndarray:  # fmt: skip
    """Which line each person's second phone is (-1: none): a home's landline is shared by
    everyone in it; someone living alone may have a landline or a desk phone of their own.
    Lines are numbered from 0 by the index of the person who owns them (the home's head)."""
    n = len(home)
    size = np.bincount(home, minlength=n)
    share = np.asarray(LANDLINE_SHARE)[region]
    has = rng.random(n) < np.where(office & (size[home] == 1), OFFICE_PHONE_SHARE, share)
    owner = has[home]  # the head's draw decides for the home
    line = np.full(n, -1, dtype=np.int64)
    heads = np.flatnonzero(owner & (home == np.arange(n)))
    number = np.full(n, -1, dtype=np.int64)
    number[heads] = np.arange(len(heads))
    line[owner] = number[home[owner]]
    return line


def emails(rng: np.random.Generator, first: pl.Series, last: pl.Series, office: np.ndarray,
           staff: np.ndarray) -> pl.DataFrame:  # fmt: skip
    """Everyone's addresses, one row per person: `email` (their main one, distinct), maybe a
    `second_email` (distinct), `role_email` (their company's mailbox; shared by colleagues),
    `generic_email` (the main address is that mailbox) and `company_id`.

    Personal addresses are built from names at free-mail domains; an office buyer's second
    address is a work one. A company's buyers are 1-3 office buyers who use its mailbox: one
    alone has it as their main address; colleagues each have a work address of their own and
    the mailbox shows in some systems (`source_contacts`). Staff have QA addresses."""
    n = len(first)
    weights = np.array([w for _, w in ref.EMAIL_DOMAINS])
    domains = [d for d, _ in ref.EMAIL_DOMAINS]

    def free_domain() -> pl.Series:
        return pick(domains, rng.choice(len(weights), n, p=weights / weights.sum()))

    def company_domain(k: int) -> pl.Series:
        return pl.select(pl.format(
            "{}{}.{}",
            pl.lit(pick(ref.COMPANY_WORDS_A, rng.integers(0, len(ref.COMPANY_WORDS_A), k))),
            pl.lit(pick(ref.COMPANY_WORDS_B, rng.integers(0, len(ref.COMPANY_WORDS_B), k))),
            pl.lit(pick(ref.COMPANY_TLDS, rng.integers(0, len(ref.COMPANY_TLDS), k))),
        )).to_series()  # fmt: skip

    personal = _email_locals(rng, first, last)
    other_local = _email_locals(rng, first, last)
    # Companies: office buyers with a shared mailbox, in random order, cut into groups.
    generic = office & ~staff & (rng.random(n) < GENERIC_EMAIL_SHARE)
    members = rng.permutation(np.flatnonzero(generic))
    sizes = rng.choice(COMPANY_SIZES, len(members), p=COMPANY_SIZE_P)
    cut = np.minimum(np.cumsum(sizes), len(members))
    cut = cut[: np.searchsorted(cut, len(members)) + 1]
    company = np.full(n, -1, dtype=np.int64)
    company[members] = np.searchsorted(cut, np.arange(len(members)), side="right")
    n_companies = int(company.max()) + 1
    slots = max(n_companies, 1)  # a world without office buyers has no company
    colleagues = np.bincount(company[company >= 0], minlength=slots)
    box_w = np.array([w for _, w in ref.ROLE_MAILBOXES])
    box = pick([b for b, _ in ref.ROLE_MAILBOXES],
               rng.choice(len(box_w), slots, p=box_w / box_w.sum()))  # fmt: skip
    c_domain = company_domain(slots)
    alone = (company >= 0) & (colleagues[np.maximum(company, 0)] == 1)
    shared = (company >= 0) & ~alone

    work_domain = company_domain(n)  # an office buyer's employer when it is not a company above
    at_company = pl.Series(np.where(company >= 0, company, 0)).cast(pl.Int64)
    frame = pl.DataFrame({
        "personal": personal, "other": other_local, "free": free_domain(),
        "free2": free_domain(), "work": work_domain,
        "cdomain": c_domain.gather(at_company), "staff": staff, "alone": alone,
        "shared": shared, "office": office, "k": pl.Series(np.cumsum(staff)).cast(pl.String),
        "test": pick(ref.TEST_EMAIL_DOMAINS, rng.integers(0, len(ref.TEST_EMAIL_DOMAINS), n)),
    })  # fmt: skip
    main = frame.select(
        local=pl.when("staff").then(pl.format("qa{}", "k")).otherwise("personal"),
        domain=pl.when("staff").then("test").when(pl.col("alone") | pl.col("shared"))
        .then("cdomain").otherwise("free"),
    )  # fmt: skip
    # Alone at their company: the mailbox's name is their main address's.
    main = main.with_columns(
        local=main["local"].scatter(np.flatnonzero(alone), box.gather(company[alone]))
    )
    # A second address: work for an office buyer with a free-mail main one, personal
    # otherwise (a company's buyer, or anyone with two free-mail accounts).
    second = ~staff & (rng.random(n) < np.where(office, OFFICE_SECOND_EMAIL_SHARE,
                                                SECOND_EMAIL_SHARE))  # fmt: skip
    extra = frame.select(
        local=pl.when(pl.col("office") & ~pl.col("alone") & ~pl.col("shared"))
        .then("personal").otherwise("other"),
        domain=pl.when(pl.col("office") & ~pl.col("alone") & ~pl.col("shared"))
        .then("work").otherwise("free2"),
    ).filter(pl.Series(second))  # fmt: skip
    boxes = pl.DataFrame({"local": box, "domain": c_domain}).head(n_companies)
    every = _unique_emails(pl.concat([main["local"], extra["local"], boxes["local"]]),
                           pl.concat([main["domain"], extra["domain"], boxes["domain"]]))
    email = every.slice(0, n)
    second_email = pl.Series([None] * n, dtype=pl.String).scatter(
        np.flatnonzero(second), every.slice(n, extra.height))
    mailbox = every.slice(n + extra.height, n_companies)
    role_email = pl.Series([None] * n, dtype=pl.String).scatter(
        np.flatnonzero(company >= 0), mailbox.gather(company[company >= 0]))
    return pl.DataFrame({
        "email": email,
        "second_email": second_email,
        "role_email": role_email,
        "generic_email": alone,
        "company_id": pl.Series(np.where(company >= 0, company + 1, 0)).cast(pl.Int64)
        .scatter(np.flatnonzero(company < 0), None),
    })  # fmt: skip


def _user_per_company(rng: np.random.Generator, company: pl.Series, present: pl.Series
                      ) -> np.ndarray:  # fmt: skip
    """For one system, whether each person is the colleague who uses their company's shared
    mailbox there (one at random among the colleagues the system holds)."""
    frame = pl.DataFrame({"company": company, "present": present,
                          "u": rng.random(len(company))}).with_row_index("row")  # fmt: skip
    chosen = (
        frame.filter(pl.col("company").is_not_null() & pl.col("present"))
        .sort("u").group_by("company", maintain_order=True).first()["row"]
    )  # fmt: skip
    out = np.zeros(len(company), dtype=bool)
    out[chosen.to_numpy()] = True
    return out


def source_contacts(seed: int, people: pl.DataFrame) -> pl.DataFrame:
    """Which address and numbers each system holds for each person, once the play-out has
    said who is in which (account_ts, optin_ts, hs_create_ts not null).

    Returns one row per person (person_id order) with shop_email (the account's, on its
    orders, the survey and the Pixel), mc_email, hs_email, hs_additional_emails (HubSpot's
    other known address), the digits (national and E.164) of address_phone (the shop's
    address phone), hs_phone and hs_mobile (null when HubSpot holds no mobile apart).
    In each system one colleague of a shared company mailbox uses it; a two-address person
    gives either address to Mailchimp and HubSpot.
    """
    rng = rng_for(seed, STREAM_CONTACTS, PART_SOURCES)
    n = people.height
    company = people["company_id"]
    shared = (company.is_not_null() & ~people["generic_email"]).to_numpy()
    shared_company = pl.Series(company).scatter(np.flatnonzero(~shared), None)
    in_shop = _user_per_company(rng, shared_company, people["account_ts"].is_not_null())
    in_mc = _user_per_company(rng, shared_company, people["optin_ts"].is_not_null())
    in_hs = _user_per_company(rng, shared_company, people["hs_create_ts"].is_not_null())
    two = people["second_email"].is_not_null().to_numpy()
    mc_other = two & (rng.random(n) < OTHER_EMAIL_SHARE)
    hs_other = two & (rng.random(n) < OTHER_EMAIL_SHARE)
    listed = rng.random(n) < ADDITIONAL_EMAIL_SHARE
    has_second = people["second_phone_e164"].is_not_null().to_numpy()
    address_second = has_second & (rng.random(n) < ADDRESS_PHONE_SECOND_SHARE)
    crm_second = has_second & (rng.random(n) < CRM_PHONE_SECOND_SHARE)
    crm_mobile = crm_second & (rng.random(n) < CRM_MOBILE_SHARE)

    def choose(flag: np.ndarray, yes: str, no: str) -> pl.Expr:
        return pl.when(pl.lit(pl.Series(flag))).then(pl.col(yes)).otherwise(pl.col(no))

    hs_email = choose(in_hs, "role_email", "email").alias("hs_email")
    hs_email = pl.when(pl.lit(pl.Series(hs_other & ~in_hs))).then(pl.col("second_email")) \
        .otherwise(hs_email)
    # HubSpot's other address: the one of their two not in "Email" (their own, for a
    # colleague whose contact holds the company mailbox).
    other = (pl.when(pl.lit(pl.Series(in_hs))).then(pl.col("email"))
             .when(pl.lit(pl.Series(hs_other))).then(pl.col("email"))
             .otherwise(pl.col("second_email")))  # fmt: skip
    return people.select(
        "person_id",
        choose(in_shop, "role_email", "email").alias("shop_email"),
        pl.when(pl.lit(pl.Series(in_mc))).then(pl.col("role_email"))
        .when(pl.lit(pl.Series(mc_other))).then(pl.col("second_email"))
        .otherwise(pl.col("email")).alias("mc_email"),
        hs_email.alias("hs_email"),
        pl.when(pl.lit(pl.Series(listed))).then(other).alias("hs_additional_emails"),
        choose(address_second, "second_phone_national", "phone_national")
        .alias("address_phone_national"),
        choose(address_second, "second_phone_e164", "phone_e164").alias("address_phone_e164"),
        choose(crm_second, "second_phone_national", "phone_national").alias("hs_phone_national"),
        choose(crm_second, "second_phone_e164", "phone_e164").alias("hs_phone_e164"),
        pl.when(pl.lit(pl.Series(crm_mobile))).then(pl.col("phone_national"))
        .alias("hs_mobile_national"),
        pl.when(pl.lit(pl.Series(crm_mobile))).then(pl.col("phone_e164")).alias("hs_mobile_e164"),
    )  # fmt: skip


def _check_reference() -> None:
    """Fail at import if a European city has no landline plan or a country no mobile plan."""
    for city in ref.CITIES:
        if city.country not in ("US", "CA") and (
            city.name not in ref.AREA_CODES or city.country not in ref.MOBILE_PLANS
        ):
            raise ValueError(f"no phone plan for {city.name} ({city.country})")
        if not re.fullmatch(r"\d*", city.area_code):
            raise ValueError(f"bad area code for {city.name}: {city.area_code!r}")


_check_reference()
