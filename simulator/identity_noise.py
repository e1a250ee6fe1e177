"""A harder identity world, opt-in (`simulate(identity_noise=True)`): what real exports hold
beyond one clean name, email and phone per person and system.

With the option on, `apply` runs once the play-out and `derive.enrich` are done and makes the
systems disagree the way real ones do:

1. names typed differently per system: a nickname (Robert in the shop, Bob in Mailchimp, from
   `reference.NICKNAMES`), a one-letter typo (dropped, doubled, swapped or slipped to a
   neighbouring key) in the first or last name, other case, stray spaces or accents left out;
2. email variants: a Gmail address typed with its dots moved or left out (Gmail ignores them),
   a plus tag (`jane+shop@`), now and then a typo'd address (a transposed letter, gmial.com)
   in one system; in the shop account, Mailchimp, HubSpot and single orders;
3. phone numbers written other ways in the raw phone columns (`0044 20 7946 0958`,
   `+1.212.555.0143`, `030/12345678`), desk phones with an extension (`ext. 12`), each read by
   libphonenumber as the same number;
4. moves: a home (all its members) gets a new street, postcode and maybe city partway
   through; the shop's customer export and orders show the new address from then on, and a
   Mailchimp profile keeps the one it captured;
5. second shop accounts: a person opens another account later (a new Customer ID) with
   another address (their second one, a plus or dot variant, a typo'd one), the same or a
   nickname first name, the same last name (maybe with a typo), the same address and maybe
   the same phone, and orders with it part of the time.

Staff accounts are left as they are. Every share below is set on general grounds, never to
suit a matcher. `apply` returns one row per injected variation with the time it first shows
(`VARIATION_SCHEMA`), which `truth.identity_variations` writes as of the export date. Every
draw comes from this module's own stream, `rng_for(seed, STREAM_IDENTITY_NOISE, part)`: with
the option off nothing here runs and the world is byte for byte the one without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import phonenumbers
import polars as pl

from simulator import reference as ref
from simulator.population import (
    DAY,
    STAFF,
    Window,
    _addresses,
    _apostrophe,
    canonical,
    format_phones,
    raw_emails,
    rng_for,
)

logger = logging.getLogger(__name__)

STREAM_IDENTITY_NOISE = 14
PART_NAMES, PART_EMAILS, PART_PHONES, PART_MOVES, PART_ACCOUNTS, PART_ORDERS = range(6)

# 1. Names. A given name with a common short form is not always the one on every list: a
# quarter of those who have one go by it (a round guess: no registry counts this), and type
# it where a form is informal (a newsletter popup, a call with sales) more often than where a
# card and a parcel want the name on the ID.
GOES_BY_NICKNAME_SHARE = 0.25
NICKNAME_SHARE: dict[str, float] = {"shop": 0.3, "mailchimp": 0.6, "hubspot": 0.6}
# Keying errors: studies of manual data entry put 0.5-4% of typed fields wrong; a person typing
# their own name errs less than a clerk: 1.5% of a system's records, first or last name.
NAME_TYPO_SHARE = 0.015
# Case and white space (all lower case on a phone, ALL CAPS, a stray space) and accents left
# out (Chloe for Chloé on a keyboard without them): 4% of a system's records.
NAME_FORMAT_SHARE = 0.04

# 2. Emails. Gmail ignores dots in the local part, so its users type them or not: 8% of a
# Gmail user's records (and 5% of their orders) show the other spelling.
GMAIL_DOTS_SHARE = 0.08
GMAIL_DOTS_ORDER_SHARE = 0.05
# Plus addressing: a small minority of those whose provider delivers `name+tag@` tag the
# shops and lists they give their address to; those who do, do it in most systems and in
# some checkouts (the browser fills in the untagged address the rest of the time).
PLUS_TAG_PEOPLE_SHARE = 0.05
PLUS_TAG_SYSTEM_SHARE = 0.7
PLUS_TAG_ORDER_SHARE = 0.4
# A typo'd address: 1% of people, once, where no confirmation email stops it: the shop
# account, one checkout, or a CRM record typed by sales (a double opt-in list never confirms
# a typo'd address, so Mailchimp has none).
EMAIL_TYPO_SHARE = 0.01
EMAIL_TYPO_SYSTEMS: tuple[str, ...] = ("shop", "orders", "hubspot")

# 3. Phones: free-text phone fields keep what was typed; 20% of raw numbers are written in
# one of the other common ways, and an office's desk phone carries its extension in 30% of
# those.
PHONE_FORMAT_SHARE = 0.2
EXTENSION_SHARE = 0.3
EXTENSION_MARKS: tuple[str, ...] = (" ext. ", " x", " ext ", " #")
# A number written the national way (020 7946 0958) reads as the same number only with its
# country: HubSpot's contacts carry none and a Mailchimp profile not always (CC), so there a
# European number is varied only in the international ways (+44 ..., 0044 ..., +44-...).
INTERNATIONAL_STYLES = 3

# 4. Moves: about 8% of North Americans move in a year (US Census CPS 2022: 8.7%), fewer
# Europeans (about 5% of EU households a year, Eurostat); a home moves together. Most moves
# are local; a quarter go to another city of the same country and time zone.
MOVE_RATE_PER_YEAR: tuple[float, float] = (0.08, 0.05)
MOVE_OTHER_CITY_SHARE = 0.25
MIN_DAYS_BEFORE_MOVE = 30

# 5. Second shop accounts: retail customer databases hold a few percent of duplicate
# records (a forgotten password, a new address, a guest checkout turned account): 3% of
# account holders open another one 1-18 months later, and after that order with it half
# the time. They give their other address when they have one (60%), else a variant of their
# own; the same first name or (30%) a nickname, the last name with a typo 10% of the time;
# the same mobile 60% of the time and the same address phone 50%.
SECOND_ACCOUNT_SHARE = 0.03
SECOND_ACCOUNT_DELAY_DAYS: tuple[int, int] = (30, 540)
SECOND_ACCOUNT_ORDER_SHARE = 0.5
SECOND_ACCOUNT_OWN_EMAIL_SHARE = 0.6
SECOND_ACCOUNT_NICKNAME_SHARE = 0.3
SECOND_ACCOUNT_LAST_TYPO_SHARE = 0.1
SECOND_ACCOUNT_PHONE_SHARE = 0.6
SECOND_ACCOUNT_ADDRESS_PHONE_SHARE = 0.5
ACCOUNT_ID_STEP = 5000  # as derive's Shopify ids: irregular steps below this

VARIATION_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(), "kind": pl.String(), "system": pl.String(),
    "field": pl.String(), "record_id": pl.String(), "value": pl.String(),
    "original": pl.String(), "ts": pl.Int64(),
}  # fmt: skip
# Person columns the order writers read when the world is noisy.
PERSON_ORDER_COLUMNS: tuple[str, ...] = (
    "acct2_ts", "acct2_id", "acct2_email", "acct2_first_name", "acct2_last_name", "acct2_phone",
    "acct2_address_phone", "move_ts", "new_address1", "new_zip_raw", "new_city_idx",
)  # fmt: skip
# Order columns `apply` adds.
ORDER_COLUMNS: tuple[str, ...] = ("account2", "email_variant", "order_email_variant")
EMAIL_VARIANT_KINDS: tuple[str, ...] = ("", "gmail_dots", "plus_tag", "email_typo")


@dataclass
class _Log:
    """The variations injected so far; `frame()` is the table `apply` returns."""

    frames: list[pl.DataFrame] = field(default_factory=list)

    def add(self, person_id: list[int], kind: str | list[str], system: str, field_: str,
            record_id: list, value: list, original: list, ts: list) -> None:  # fmt: skip
        if not person_id:
            return
        kinds = kind if isinstance(kind, list) else [kind] * len(person_id)
        self.frames.append(pl.DataFrame({
            "person_id": person_id, "kind": kinds, "system": [system] * len(person_id),
            "field": [field_] * len(person_id),
            "record_id": [None if r is None else str(r) for r in record_id],
            "value": value, "original": original, "ts": ts,
        }, schema=VARIATION_SCHEMA))  # fmt: skip

    def frame(self) -> pl.DataFrame:
        if not self.frames:
            return pl.DataFrame(schema=VARIATION_SCHEMA)
        return pl.concat(self.frames).sort("ts", "person_id", "system", "field", "kind",
                                           maintain_order=True)  # fmt: skip


# ------------------------------------------------------------------------- value helpers
def name_typo(name: str, rng: np.random.Generator) -> str | None:
    """`name` with one slip of the keyboard: a letter dropped, doubled, swapped with the next
    one or replaced by a neighbouring key; the initial is kept (people rarely miss it).
    Returns None when the name is too short to mistype."""
    letters = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    if len(letters) < 2:
        return None
    for _ in range(8):
        i = letters[int(rng.integers(0, len(letters)))]
        op = int(rng.integers(0, 4))
        if op == 0:
            out = name[:i] + name[i + 1:]
        elif op == 1:
            out = name[: i + 1] + name[i] + name[i + 1:]
        elif op == 2 and i + 1 < len(name) and name[i + 1].isalpha():
            out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        elif op == 3 and name[i].lower() in ref.KEYBOARD_NEIGHBOURS:
            keys = ref.KEYBOARD_NEIGHBOURS[name[i].lower()]
            new = keys[int(rng.integers(0, len(keys)))]
            out = name[:i] + (new.upper() if name[i].isupper() else new) + name[i + 1:]
        else:
            continue
        if out != name:
            return out
    return None


def name_format(name: str, rng: np.random.Generator) -> str:
    """`name` typed with other case or white space, or without its accents."""
    folded = ref.ascii_fold(name)
    options = [name.lower(), name.upper(), " " + name, name + " "]
    if folded != name:
        options += [folded, folded]  # a keyboard without the accent is the common case
    if " " in name.strip():
        options.append(name.replace(" ", "  ", 1))
    options = [o for o in options if o != name]
    return options[int(rng.integers(0, len(options)))]


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain


def gmail_dots(address: str, rng: np.random.Generator, first: str = "") -> str | None:
    """A Gmail address typed with its dots left out, or with a dot where it had none: after
    the first name `first` (ASCII, lower case) when the address starts with it, else between
    two letters or digits."""
    local, domain = _split(address)
    if "." in local:
        return f"{local.replace('.', '')}@{domain}"
    if first and local.startswith(first) and len(local) > len(first):
        return f"{first}.{local[len(first):]}@{domain}"
    spots = [i for i in range(1, len(local)) if local[i - 1].isalnum() and local[i].isalnum()]
    if not spots:
        return None
    i = spots[int(rng.integers(0, len(spots)))]
    return f"{local[:i]}.{local[i:]}@{domain}"


def plus_tag(address: str, tag: str) -> str:
    """`address` with a plus tag (`jane+shop@gmail.com`)."""
    local, domain = _split(address)
    return f"{local}+{tag}@{domain}"


def email_typo(address: str, rng: np.random.Generator) -> str | None:
    """`address` with one typo: a common misspelling of its free-mail domain (half the time,
    where the domain has one) or two neighbouring letters of the local part swapped."""
    local, domain = _split(address)
    typos = ref.EMAIL_DOMAIN_TYPOS.get(domain)
    if typos and rng.random() < 0.5:
        return f"{local}@{typos[int(rng.integers(0, len(typos)))]}"
    spots = [i for i in range(len(local) - 1)
             if local[i].isalnum() and local[i + 1].isalnum() and local[i] != local[i + 1]]
    if not spots:
        return f"{local}@{typos[0]}" if typos else None
    i = spots[int(rng.integers(0, len(spots)))]
    return f"{local[:i]}{local[i + 1]}{local[i]}{local[i + 2:]}@{domain}"


def phone_variant(e164: str, country: str, style: int, extension: str | None = None,
                  mark: int = 0) -> str | None:  # fmt: skip
    """The number `+e164` of a record in `country` written in one of six more ways people
    write numbers (North America: 1-212-555-0143, +1.212.555.0143, 212 555 0143,
    1 (212) 555-0143, +1 212 555 0143, (212)555-0143; elsewhere +44 20 7946 0958,
    0044 20 7946 0958, +44-20-7946-0958, 020.7946.0958, 020/79460958, 020 7946 0958), with
    `extension` after one of EXTENSION_MARKS. None when libphonenumber would not read the
    text back as the same number (never seen: a guard). Styles 3-5 outside North America are
    national: only for a record whose export says its country (`INTERNATIONAL_STYLES`)."""
    number = phonenumbers.parse("+" + e164)
    if country in ("US", "CA"):
        nsn = phonenumbers.national_significant_number(number)
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        text = (f"1-{a}-{b}-{c}", f"+1.{a}.{b}.{c}", f"{a} {b} {c}", f"1 ({a}) {b}-{c}",
                f"+1 {a} {b} {c}", f"({a}){b}-{c}")[style]  # fmt: skip
    else:
        intl = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        groups = [g.strip("()") for g in national.split(" ")]  # Irish (01) 234 5678
        slash = f"{groups[0]}/{''.join(groups[1:])}" if len(groups) > 1 else national
        text = (intl, "00" + intl[1:], intl.replace(" ", "-"), ".".join(groups), slash,
                national)[style]  # fmt: skip
    if extension:
        text += EXTENSION_MARKS[mark] + extension
    try:
        read = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None
    same = phonenumbers.format_number(read, phonenumbers.PhoneNumberFormat.E164) == "+" + e164
    return text if same else None


class _Mailboxes:
    """Who each mailbox (`canonical` address) belongs to, so that no variant reaches another
    person's mailbox: a shared or already ambiguous one is nobody's to vary."""

    def __init__(self, people: pl.DataFrame) -> None:
        self.owner: dict[str, int] = {}
        for col in ("email", "second_email", "role_email", "shop_email", "mc_email", "hs_email",
                    "hs_additional_emails"):  # fmt: skip
            for pid, value in people.select("person_id", col).drop_nulls().iter_rows():
                self._note(canonical(value), pid)

    def _note(self, key: str, pid: int) -> None:
        prev = self.owner.get(key)
        self.owner[key] = pid if prev in (None, pid) else -1

    def mine(self, address: str, pid: int) -> bool:
        """True when `pid` alone may use the mailbox of `address`."""
        return self.owner.get(canonical(address)) == pid

    def claim(self, address: str | None, pid: int) -> bool:
        """Take `address` for `pid`; False when its mailbox is someone else's (or shared)."""
        if address is None:
            return False
        key = canonical(address)
        prev = self.owner.get(key)
        if prev is None:
            self.owner[key] = pid
            return True
        return prev == pid


@dataclass
class _Habits:
    """How each person (row position) types their address: their main address may be varied
    (`personal`), they tag it (`tag`, None when not) or drop Gmail dots (`dots`, the spelling
    they use), and which system holds their one typo."""

    personal: np.ndarray
    tag: list[str | None]
    dots: list[str | None]
    typo_system: list[str | None]


# ------------------------------------------------------------------------- the stages
SYSTEMS: dict[str, tuple[str, str]] = {
    "shop": ("account_ts", "shop_customer_id"),
    "mailchimp": ("optin_ts", "leid"),
    "hubspot": ("hs_create_ts", "hubspot_record_id"),
}  # fmt: skip
NAME_COLUMNS: dict[str, tuple[str, str]] = {
    "shop": ("first_name", "last_name"),
    "mailchimp": ("mc_first_name", "mc_last_name"),
    "hubspot": ("hs_first_name", "hs_last_name"),
}  # fmt: skip
EMAIL_COLUMNS: dict[str, str] = {"shop": "shop_email", "mailchimp": "mc_email",
                                 "hubspot": "hs_email"}  # fmt: skip


def _present(people: pl.DataFrame, system: str) -> np.ndarray:
    ts_col, _ = SYSTEMS[system]
    return (people[ts_col].is_not_null() & (people["role"] != STAFF)).to_numpy()


def _names(seed: int, people: pl.DataFrame, log: _Log) -> pl.DataFrame:
    """Nicknames, typos and case or space variants of the names each system holds."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_NAMES)
    n = people.height
    true_first = people["first_name"].to_list()
    short = [ref.NICKNAMES.get(f, ()) for f in true_first]
    goes_by = (rng.random(n) < GOES_BY_NICKNAME_SHARE) & np.array([bool(s) for s in short])
    pick = rng.integers(0, 1 << 30, n)
    nickname = [s[k % len(s)] if s else None for s, k in zip(short, pick, strict=True)]
    pid = people["person_id"].to_list()
    updates = {}
    for system in ("shop", "mailchimp", "hubspot"):
        f_col, l_col = NAME_COLUMNS[system]
        ts_col, id_col = SYSTEMS[system]
        firsts, lasts = people[f_col].to_list(), people[l_col].to_list()
        ts, ids = people[ts_col].to_list(), people[id_col].to_list()
        present = _present(people, system)
        u_nick, u_typo, u_format = rng.random(n), rng.random(n), rng.random(n)
        in_last = rng.random(n) < 0.5
        rows: dict[tuple[str, str], list[tuple]] = {}
        for i in np.flatnonzero(present):
            col, values = (l_col, lasts) if in_last[i] else (f_col, firsts)
            if goes_by[i] and firsts[i] is not None and u_nick[i] < NICKNAME_SHARE[system]:
                col, values, kind, new = f_col, firsts, "nickname", nickname[i]
            elif u_typo[i] < NAME_TYPO_SHARE and values[i] is not None:
                kind, new = "name_typo", name_typo(values[i], rng)
            elif u_format[i] < NAME_FORMAT_SHARE and values[i] is not None:
                kind, new = "name_format", name_format(values[i], rng)
            else:
                continue
            if new is None:
                continue
            rows.setdefault((col, kind), []).append((pid[i], ids[i], new, values[i], ts[i]))
            values[i] = new
        for (col, kind), found in sorted(rows.items()):
            p, r, v, o, t = (list(x) for x in zip(*found, strict=True))
            log.add(p, kind, system, "first_name" if col == f_col else "last_name", r, v, o, t)
        updates[f_col], updates[l_col] = firsts, lasts
    return people.with_columns(pl.Series(c, v, dtype=pl.String) for c, v in updates.items())


def _emails(seed: int, people: pl.DataFrame, boxes: _Mailboxes, true_first: pl.Series,
            log: _Log) -> tuple[pl.DataFrame, _Habits]:  # fmt: skip
    """Gmail dots, plus tags and typos in the addresses the shop account, Mailchimp and
    HubSpot hold; returns the people and everyone's `_Habits` (for orders and accounts)."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_EMAILS)
    n = people.height
    main = people["email"].to_list()
    pid = people["person_id"].to_list()
    free = {d for d, _ in ref.EMAIL_DOMAINS}
    domain = [_split(e)[1] for e in main]
    personal = ((people["role"] != STAFF) & ~people["generic_email"]).to_numpy() & np.array(
        [d in free and boxes.mine(e, p) for d, e, p in zip(domain, main, pid, strict=True)])
    tagger = personal & (rng.random(n) < PLUS_TAG_PEOPLE_SHARE) & np.array(
        [d in ref.PLUS_ADDRESS_DOMAINS for d in domain])
    tag_idx = rng.integers(0, len(ref.PLUS_TAGS), n)
    tag = [ref.PLUS_TAGS[k] if t else None for t, k in zip(tagger, tag_idx, strict=True)]
    folded = [ref.ascii_fold(f).lower() for f in true_first]
    dots = [gmail_dots(e, rng, f) if p and d == "gmail.com" else None
            for e, p, d, f in zip(main, personal, domain, folded, strict=True)]
    typo_person = personal & (rng.random(n) < EMAIL_TYPO_SHARE)
    where = rng.integers(0, len(EMAIL_TYPO_SYSTEMS), n)
    typo_system = [EMAIL_TYPO_SYSTEMS[k] if t else None for t, k in zip(typo_person, where,
                                                                        strict=True)]
    habits = _Habits(personal, tag, dots, typo_system)
    changed: dict[str, list[tuple]] = {}
    for system in ("shop", "mailchimp", "hubspot"):
        col = EMAIL_COLUMNS[system]
        ts_col, id_col = SYSTEMS[system]
        values, ts, ids = people[col].to_list(), people[ts_col].to_list(), people[id_col].to_list()
        present = _present(people, system)
        u_tag, u_dots = rng.random(n), rng.random(n)
        rows = []
        for i in np.flatnonzero(present & personal):
            if values[i] != main[i]:
                continue  # the system holds their other address or a company mailbox
            if typo_system[i] == system:
                kind, new = "email_typo", email_typo(main[i], rng)
            elif tag[i] and u_tag[i] < PLUS_TAG_SYSTEM_SHARE:
                kind, new = "plus_tag", plus_tag(main[i], tag[i])
            elif dots[i] and u_dots[i] < GMAIL_DOTS_SHARE:
                kind, new = "gmail_dots", dots[i]
            else:
                continue
            if not boxes.claim(new, pid[i]):
                continue
            values[i] = new
            rows.append((i, kind, new, main[i], ts[i], ids[i]))
        people = people.with_columns(pl.Series(col, values, dtype=pl.String))
        changed[system] = rows
    # Mailchimp shows the address as typed into its form: a fresh draw of case and spaces
    # for the members whose address is now another one.
    mc_rows = changed["mailchimp"]
    if mc_rows:
        at = np.array([r[0] for r in mc_rows])
        typed = raw_emails(rng, pl.Series([r[2] for r in mc_rows], dtype=pl.String))
        people = people.with_columns(people["email_raw"].scatter(at, typed))
        mc_rows = [(*r[:2], t, *r[3:]) for r, t in zip(mc_rows, typed.to_list(), strict=True)]
        changed["mailchimp"] = mc_rows
    for system, rows in changed.items():
        for kind in ("email_typo", "plus_tag", "gmail_dots"):
            mine = [r for r in rows if r[1] == kind]
            log.add([pid[r[0]] for r in mine], kind, system, "email", [r[5] for r in mine],
                    [r[2] for r in mine], [r[3] for r in mine], [r[4] for r in mine])
    return people, habits


PHONE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("shop", "phone", "phone_national", "phone_e164"),
    ("shop", "address_phone", "address_phone_national", "address_phone_e164"),
    ("mailchimp", "mc_phone", "phone_national", "phone_e164"),
    ("hubspot", "hs_phone", "hs_phone_national", "hs_phone_e164"),
    ("hubspot", "hs_mobile", "hs_mobile_national", "hs_mobile_e164"),
)  # fmt: skip


def _phones(seed: int, people: pl.DataFrame, log: _Log) -> pl.DataFrame:
    """Raw phone columns rewritten in other ways of writing the same number; an office's
    desk phone maybe with its extension."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_PHONES)
    n = people.height
    pid = people["person_id"].to_list()
    country = people["country_code"].to_list()
    office = (people["company_id"].is_not_null() | people["b2b"]).to_numpy()
    second = people["second_phone_e164"].to_list()
    nanp = people["country_code"].is_in(["US", "CA"]).to_numpy()
    # Where the export shows the record's country (the shop's address; Mailchimp's CC).
    located = {"shop": np.ones(n, dtype=bool), "hubspot": np.zeros(n, dtype=bool),
               "mailchimp": people["cc"].is_not_null().to_numpy()}  # fmt: skip
    for system, col, _, e164_col in PHONE_COLUMNS:
        ts_col, id_col = SYSTEMS[system]
        values, numbers = people[col].to_list(), people[e164_col].to_list()
        ts, ids = people[ts_col].to_list(), people[id_col].to_list()
        present = _present(people, system)
        u, u_ext = rng.random(n), rng.random(n)
        style, mark = rng.integers(0, 6, n), rng.integers(0, len(EXTENSION_MARKS), n)
        style = np.where(nanp | located[system], style, style % INTERNATIONAL_STYLES)
        ext = rng.integers(1, 10_000, n) // np.where(rng.random(n) < 0.5, 100, 1)
        rows: dict[str, list[tuple]] = {"phone_format": [], "phone_extension": []}
        for i in np.flatnonzero(present & (u < PHONE_FORMAT_SHARE)):
            if values[i] is None or numbers[i] is None:
                continue
            desk = office[i] and numbers[i] == second[i] and u_ext[i] < EXTENSION_SHARE
            text = phone_variant(numbers[i], country[i], int(style[i]),
                                 str(max(int(ext[i]), 1)) if desk else None, int(mark[i]))
            if text is None:
                continue
            new = ("'" + text) if values[i].startswith("'") else text
            if new == values[i]:
                continue
            rows["phone_extension" if desk else "phone_format"].append(
                (pid[i], ids[i], new, values[i], ts[i]))
            values[i] = new
        for kind, found in rows.items():
            if found:
                p, r, v, o, t = (list(x) for x in zip(*found, strict=True))
                log.add(p, kind, system, col, r, v, o, t)
        people = people.with_columns(pl.Series(col, values, dtype=pl.String))
    return people


def _moves(seed: int, window: Window, people: pl.DataFrame, log: _Log) -> pl.DataFrame:
    """Homes that move once, with the new street, postcode and city: adds move_ts (null when
    they stay), new_address1, new_address2, new_zip, new_zip_raw, new_city_idx; a Mailchimp
    profile captured after the move shows the new address."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_MOVES)
    n = people.height
    head = (people["household_id"].fill_null(people["person_id"]) - 1).to_numpy()
    seen = people.select(pl.min_horizontal("account_ts", "optin_ts", "hs_create_ts"))
    never = window.reveal_end_ts  # a home no system has seen never shows a move
    first_seen = seen.to_series().fill_null(never).to_numpy()
    home_seen = np.full(n, never, dtype=np.int64)
    np.minimum.at(home_seen, head, first_seen)
    start = home_seen[head] + MIN_DAYS_BEFORE_MOVE * DAY
    span = np.maximum(window.reveal_end_ts - start, 0)
    rate = np.asarray(MOVE_RATE_PER_YEAR)[people["region"].to_numpy()]
    moves = (rng.random(n) < -np.expm1(-rate * span / (365 * DAY))) & (span > 0)
    when = start + (rng.random(n) * span).astype(np.int64)
    moves = moves[head] & (people["role"] != STAFF).to_numpy()
    move_ts = np.where(moves, when[head], 0)

    # Where to: the same city, or another of its country and time zone.
    city = people["city_idx"].to_numpy()
    others = [[k for k, o in enumerate(ref.CITIES) if k != c and o.country == here.country
               and o.timezone == here.timezone] for c, here in enumerate(ref.CITIES)]  # fmt: skip
    away = rng.random(n) < MOVE_OTHER_CITY_SHARE
    pick = rng.integers(0, 1 << 30, n)
    new_city = np.array([others[c][k % len(others[c])] if a and others[c] else c
                         for c, a, k in zip(city, away, pick, strict=True)])  # fmt: skip
    new_city = new_city[head]
    address1, address2, zips = (s.gather(head) for s in _addresses(rng, new_city))
    zip_raw = _apostrophe(rng, zips, 0.10, always=zips.str.starts_with("0"))
    moved = pl.Series(moves)
    people = people.with_columns(
        move_ts=pl.when(moved).then(pl.Series(move_ts, dtype=pl.Int64)),
        new_address1=pl.when(moved).then(address1),
        new_address2=pl.when(moved).then(address2),
        new_zip=pl.when(moved).then(zips),
        new_zip_raw=pl.when(moved).then(zip_raw),
        new_city_idx=pl.when(moved).then(pl.Series(new_city, dtype=pl.Int64)),
    )
    # A Mailchimp profile keeps the address it captured: the new one for those who joined
    # after the move.
    names = pl.Series([c.name for c in ref.CITIES])
    regions = pl.Series([c.region for c in ref.CITIES])
    countries = pl.Series([c.country for c in ref.CITIES])
    later = (pl.col("optin_ts") >= pl.col("move_ts")).fill_null(False) & pl.col(
        "address").is_not_null()
    people = people.with_columns(address=pl.when(later).then(pl.format(
        "{}  {}  {}  {}  {}", "new_address1", pl.lit(names).gather(pl.col("new_city_idx")),
        pl.lit(regions).gather(pl.col("new_city_idx")), "new_zip",
        pl.lit(countries).gather(pl.col("new_city_idx")))).otherwise("address"))  # fmt: skip
    shown = people.filter(pl.col("move_ts").is_not_null() & pl.col("account_ts").is_not_null())
    ts = shown.select(pl.max_horizontal("move_ts", "account_ts")).to_series().to_list()
    pids, ids = shown["person_id"].to_list(), shown["shop_customer_id"].to_list()
    log.add(pids, "moved", "shop", "address1", ids, shown["new_address1"].to_list(),
            shown["address1"].to_list(), ts)
    log.add(pids, "moved", "shop", "zip", ids, shown["new_zip_raw"].to_list(),
            shown["zip_raw"].to_list(), ts)
    city_moved = shown.filter(pl.col("new_city_idx") != pl.col("city_idx"))
    log.add(city_moved["person_id"].to_list(), "moved", "shop", "city",
            city_moved["shop_customer_id"].to_list(),
            names.gather(city_moved["new_city_idx"]).to_list(),
            names.gather(city_moved["city_idx"]).to_list(),
            city_moved.select(pl.max_horizontal("move_ts", "account_ts")).to_series().to_list())
    return people


def _account_ids(rng: np.random.Generator, people: pl.DataFrame, opened: np.ndarray,
                 when: np.ndarray) -> list[str]:  # fmt: skip
    """Customer IDs for accounts opened at `when` (rows `opened`) that fit Shopify's order:
    each above the ids of the accounts opened before it and below the next one's."""
    accounts = people.filter(pl.col("account_ts").is_not_null()).sort("account_ts")
    ts = accounts["account_ts"].to_numpy()
    ids = accounts["shop_customer_id"].cast(pl.Int64).to_numpy()
    taken = set(ids.tolist())
    out = {}
    last = 0
    for i in sorted(np.flatnonzero(opened), key=lambda r: (when[r], r)):
        k = int(np.searchsorted(ts, when[i], side="right"))
        below = max(int(ids[k - 1]) if k else int(ids[0]) - ACCOUNT_ID_STEP, last)
        above = int(ids[k]) if k < len(ids) else below + ACCOUNT_ID_STEP
        value = below + 1 + int(rng.integers(0, max(1, (above - below - 1) // 2)))
        while value in taken:
            value += 1
        taken.add(value)
        last = value
        out[i] = str(value)
    return [out.get(i) for i in range(people.height)]


def _second_accounts(seed: int, window: Window, people: pl.DataFrame, habits: _Habits,
                     boxes: _Mailboxes, true_names: pl.DataFrame, log: _Log
                     ) -> pl.DataFrame:  # fmt: skip
    """Second shop accounts: adds acct2_ts, acct2_id, acct2_email, acct2_first_name,
    acct2_last_name, acct2_phone, acct2_address_phone and acct2_moved (null when none)."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_ACCOUNTS)
    n = people.height
    has = (people["account_ts"].is_not_null() & (people["role"] != STAFF)).to_numpy()
    opens = has & (rng.random(n) < SECOND_ACCOUNT_SHARE)
    lo, hi = SECOND_ACCOUNT_DELAY_DAYS
    when = people["account_ts"].fill_null(0).to_numpy() + rng.integers(lo * DAY, hi * DAY, n)
    opens &= when < window.horizon_ts
    u_own, u_nick, u_typo = rng.random(n), rng.random(n), rng.random(n)
    u_phone, u_address_phone = rng.random(n), rng.random(n)
    style = rng.integers(0, 6, n)
    tag_idx = rng.integers(0, len(ref.PLUS_TAGS), n)
    pid = people["person_id"].to_list()
    main, second = people["email"].to_list(), people["second_email"].to_list()
    shop_email = people["shop_email"].to_list()
    first, last = true_names["first_name"].to_list(), true_names["last_name"].to_list()
    email: list[str | None] = [None] * n
    kinds: list[str | None] = [None] * n
    for i in np.flatnonzero(opens):
        if second[i] and second[i] != shop_email[i] and u_own[i] < SECOND_ACCOUNT_OWN_EMAIL_SHARE:
            choices = [(None, second[i])]
        else:
            choices = []
        _, domain = _split(main[i])
        if habits.personal[i] and domain in ref.PLUS_ADDRESS_DOMAINS:
            choices.append(("plus_tag", plus_tag(main[i], habits.tag[i]
                                                 or ref.PLUS_TAGS[tag_idx[i]])))
        if habits.dots[i]:
            choices.append(("gmail_dots", habits.dots[i]))
        choices += [("email_typo", email_typo(main[i], rng)) for _ in range(3)]
        for kind, address in choices:
            if address and address != shop_email[i] and boxes.claim(address, pid[i]):
                email[i], kinds[i] = address, kind
                break
        else:
            opens[i] = False
    ids = _account_ids(rng, people, opens, when)
    short = [ref.NICKNAMES.get(f, ()) for f in first]
    first2 = [(s[int(tag_idx[i]) % len(s)] if s and u_nick[i] < SECOND_ACCOUNT_NICKNAME_SHARE
               else f) for i, (f, s) in enumerate(zip(first, short, strict=True))]  # fmt: skip
    last2 = [(name_typo(v, rng) or v) if opens[i] and u_typo[i] < SECOND_ACCOUNT_LAST_TYPO_SHARE
             else v for i, v in enumerate(last)]  # fmt: skip
    mobile = format_phones(people["phone_national"], people["phone_e164"],
                           people["country_code"], style)  # fmt: skip
    opened = pl.Series(opens)
    people = people.with_columns(
        acct2_ts=pl.when(opened).then(pl.Series(when, dtype=pl.Int64)),
        acct2_id=pl.Series(ids, dtype=pl.String),
        acct2_email=pl.Series(email, dtype=pl.String),
        acct2_first_name=pl.when(opened).then(pl.Series(first2, dtype=pl.String)),
        acct2_last_name=pl.when(opened).then(pl.Series(last2, dtype=pl.String)),
        acct2_phone=pl.when(opened & pl.Series(u_phone < SECOND_ACCOUNT_PHONE_SHARE))
        .then(mobile),
        acct2_address_phone=pl.when(
            opened & pl.Series(u_address_phone < SECOND_ACCOUNT_ADDRESS_PHONE_SHARE))
        .then(pl.coalesce("address_phone", "phone")),
    ).with_columns(acct2_moved=pl.when(opened).then(
        (pl.col("move_ts") <= pl.col("acct2_ts")).fill_null(False)))  # fmt: skip
    rows = people.filter(opened)
    at = np.flatnonzero(opens)
    ts, ids2 = rows["acct2_ts"].to_list(), rows["acct2_id"].to_list()
    log.add(rows["person_id"].to_list(), "second_account", "shop", "shop_customer_id", ids2,
            ids2, rows["shop_customer_id"].to_list(), ts)
    for kind in ("plus_tag", "gmail_dots", "email_typo"):
        mine = [k for k, i in enumerate(at) if kinds[i] == kind]
        log.add([pid[at[k]] for k in mine], kind, "shop", "email", [ids2[k] for k in mine],
                [email[at[k]] for k in mine], [main[at[k]] for k in mine], [ts[k] for k in mine])
    for col, kind, before in (("acct2_first_name", "nickname", first),
                              ("acct2_last_name", "name_typo", last)):  # fmt: skip
        after = rows[col].to_list()
        mine = [k for k, i in enumerate(at) if after[k] != before[i]]
        log.add([pid[at[k]] for k in mine], kind, "shop", col.removeprefix("acct2_"),
                [ids2[k] for k in mine], [after[k] for k in mine],
                [before[at[k]] for k in mine], [ts[k] for k in mine])
    return people


def _orders(seed: int, people: pl.DataFrame, orders: pl.DataFrame, habits: _Habits,
            boxes: _Mailboxes) -> pl.DataFrame:  # fmt: skip
    """Which orders use the second account (`account2`) and which were typed with a variant
    of the person's address at checkout (`order_email_variant`, its kind `email_variant`:
    an index into EMAIL_VARIANT_KINDS)."""
    rng = rng_for(seed, STREAM_IDENTITY_NOISE, PART_ORDERS)
    m = orders.height
    row = (orders["person_id"] - 1).to_numpy()
    acct2_ts = people["acct2_ts"].fill_null(np.iinfo(np.int64).max).to_numpy()
    account2 = (orders["ts"].to_numpy() >= acct2_ts[row]) & (
        rng.random(m) < SECOND_ACCOUNT_ORDER_SHARE)
    u_tag, u_dots, u_typo = rng.random(m), rng.random(m), rng.random(m)
    main = people["email"].to_list()
    shop_email = people["shop_email"].to_list()
    pid = people["person_id"].to_list()
    typed = ~account2 & ~orders["other_email"].to_numpy() & ~orders["test"].to_numpy()
    # The one checkout a typo person mistyped: their order with the smallest draw.
    typo_people = np.array([s == "orders" for s in habits.typo_system])
    candidates = np.flatnonzero(typed & typo_people[row])
    first_typo = (
        pl.DataFrame({"r": row[candidates], "u": u_typo[candidates], "k": candidates})
        .sort("u").group_by("r", maintain_order=True).first()["k"].to_numpy()
    )  # fmt: skip
    typo_at = np.zeros(m, dtype=bool)
    typo_at[first_typo] = True
    kind = np.zeros(m, dtype=np.int8)
    value: list[str | None] = [None] * m
    typos: dict[int, str | None] = {}
    for k in np.flatnonzero(typed & habits.personal[row]):
        i = row[k]
        if shop_email[i] != main[i] and not typo_at[k]:
            continue  # the account's address is already a variant: the checkout fills it in
        if typo_at[k]:
            if i not in typos:
                new = email_typo(main[i], rng)
                typos[i] = new if boxes.claim(new, pid[i]) else None
            v, kind_k = typos[i], 3
        elif habits.tag[i] and u_tag[k] < PLUS_TAG_ORDER_SHARE:
            v, kind_k = plus_tag(main[i], habits.tag[i]), 2
        elif habits.dots[i] and u_dots[k] < GMAIL_DOTS_ORDER_SHARE:
            v, kind_k = habits.dots[i], 1
        else:
            continue
        if v is None or v == shop_email[i] or not boxes.claim(v, pid[i]):
            continue
        value[k], kind[k] = v, kind_k
    return orders.with_columns(
        account2=pl.Series(account2),
        email_variant=pl.Series(kind, dtype=pl.Int8),
        order_email_variant=pl.Series(value, dtype=pl.String),
    )


def apply(seed: int, window: Window, people: pl.DataFrame, orders: pl.DataFrame
          ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """The harder identity world on top of enriched `people` and `orders` (see the module
    docstring). Returns (people, orders, variations): people with their per-system names,
    addresses and numbers rewritten, the move columns (move_ts, new_address1, new_address2,
    new_zip, new_zip_raw, new_city_idx), the second-account columns (acct2_*) and the
    Conversions API hashes of what the shop now holds; orders with ORDER_COLUMNS; and one
    row per person-level variation (VARIATION_SCHEMA, `ts` when it first shows). The
    variations of single orders are read from the orders (`order_variations`)."""
    from simulator.derive import capi_hashes

    log = _Log()
    true_names = people.select("first_name", "last_name")
    boxes = _Mailboxes(people)
    people = _names(seed, people, log)
    people, habits = _emails(seed, people, boxes, true_names["first_name"], log)
    people = _phones(seed, people, log)
    people = _moves(seed, window, people, log)
    people = _second_accounts(seed, window, people, habits, boxes, true_names, log)
    orders = _orders(seed, people, orders, habits, boxes)
    people = people.with_columns(capi_hashes(people))
    variations = log.frame()
    logger.info("identity noise: %d variations, %d second accounts, %d movers, %d orders "
                "with a variant address", variations.height,
                int(people["acct2_ts"].is_not_null().sum()),
                int(people["move_ts"].is_not_null().sum()),
                int((orders["email_variant"] > 0).sum()))  # fmt: skip
    return people, orders, variations


# ------------------------------------------------------------------------- exports
def is_noisy(frame: pl.DataFrame) -> bool:
    """True when `frame` (people or orders) comes from a world with identity noise."""
    return "acct2_id" in frame.columns or "account2" in frame.columns


def order_email(base: pl.Expr) -> pl.Expr:
    """The address a noisy world's order was placed with: the variant typed at checkout, the
    second account's, else `base` (the account's or the person's other address). Needs
    the order columns and acct2_email."""
    return pl.coalesce(pl.col("order_email_variant"),
                       pl.when(pl.col("account2")).then(pl.col("acct2_email")), base)  # fmt: skip


def order_identity(o: pl.DataFrame) -> pl.DataFrame:
    """Orders joined to their people (PERSON_ORDER_COLUMNS too) as a noisy world shows them,
    with `ts` still epoch seconds: the second account's id, names and phones on its orders,
    the new address on orders placed after a move, `email` by `order_email`."""
    on2 = pl.col("account2")
    moved = (pl.col("ts") >= pl.col("move_ts")).fill_null(False)
    return o.with_columns(
        email=order_email(pl.col("email")),
        shop_customer_id=pl.when(on2).then("acct2_id").otherwise("shop_customer_id"),
        first_name=pl.when(on2).then("acct2_first_name").otherwise("first_name"),
        last_name=pl.when(on2).then("acct2_last_name").otherwise("last_name"),
        phone=pl.when(on2).then("acct2_phone").otherwise("phone"),
        address_phone=pl.when(on2).then("acct2_address_phone").otherwise("address_phone"),
        address1=pl.when(moved).then("new_address1").otherwise("address1"),
        zip_raw=pl.when(moved).then("new_zip_raw").otherwise("zip_raw"),
        city_idx=pl.when(moved).then("new_city_idx").otherwise("city_idx"),
    )


def shop_accounts(people: pl.DataFrame, as_of: int, fields: tuple[str, ...]) -> pl.DataFrame:
    """The shop's customer accounts at `as_of` in a noisy world: `fields` plus `account2`,
    one row per account (a person's second account is a row of its own), each with the
    address it holds then (the new one after a move; a second account the one it was
    opened with)."""
    address = ("address1", "address2", "zip_raw", "city_idx")
    new = {"address1": "new_address1", "address2": "new_address2", "zip_raw": "new_zip_raw",
           "city_idx": "new_city_idx"}  # fmt: skip
    moved = (pl.col("move_ts") < as_of).fill_null(False)
    main = people.filter(pl.col("account_ts") < as_of).with_columns(
        pl.when(moved).then(pl.col(new[c])).otherwise(pl.col(c)).alias(c) for c in address
    ).select(*fields, account2=pl.lit(False))
    second = people.filter(pl.col("acct2_ts") < as_of).with_columns(
        *(pl.when("acct2_moved").then(pl.col(new[c])).otherwise(pl.col(c)).alias(c)
          for c in address),
        account_ts=pl.col("acct2_ts"), shop_customer_id=pl.col("acct2_id"),
        first_name=pl.col("acct2_first_name"), last_name=pl.col("acct2_last_name"),
        shop_email=pl.col("acct2_email"), phone=pl.col("acct2_phone"),
        address_phone=pl.col("acct2_address_phone"), company=pl.lit(None, pl.String),
        note=pl.lit(None, pl.String), shop_tags=pl.lit(None, pl.String),
        tax_exempt=pl.lit(False), accepts_sms=pl.lit(False), accepts_flip=pl.lit(False),
    ).select(*fields, account2=pl.lit(True))  # fmt: skip
    return pl.concat([main, second])


def changed_between(people: pl.DataFrame, lo_ts: int, hi_ts: int) -> pl.Series:
    """person_id of those whose shop account changed in [lo_ts, hi_ts): a second account
    opened or a move."""
    return people.filter(
        pl.col("acct2_ts").is_between(lo_ts, hi_ts, closed="left").fill_null(False)
        | (pl.col("move_ts").is_between(lo_ts, hi_ts, closed="left").fill_null(False)
           & pl.col("account_ts").is_not_null())
    )["person_id"]


def order_variations(orders: pl.DataFrame, people: pl.DataFrame, as_of: int) -> pl.DataFrame:
    """One row per order placed before `as_of` with a variant address typed at checkout
    (VARIATION_SCHEMA; `record_id` the order's name in the export, `value` the address as
    the export shows it, case and spaces included)."""
    from simulator.writers import _typed_email

    placed = orders.filter((pl.col("ts") < as_of) & (pl.col("email_variant") > 0))
    return placed.join(people.select("person_id", "email"), on="person_id", how="left").select(
        "person_id",
        pl.lit(pl.Series(EMAIL_VARIANT_KINDS)).gather(pl.col("email_variant").cast(pl.Int64))
        .alias("kind"),
        pl.lit("orders").alias("system"),
        pl.lit("email").alias("field"),
        pl.format("#{}", pl.col("order_idx") + 1001).alias("record_id"),
        _typed_email(pl.col("order_email_variant"), pl.col("email_kind")).alias("value"),
        pl.col("email").alias("original"),
        pl.col("ts"),
    )  # fmt: skip
