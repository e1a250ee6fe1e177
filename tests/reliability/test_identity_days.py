"""A person's customer_key over many daily runs, on an `xs` world with identity noise
(nicknames, typos, email and phone variants, second shop accounts: simulator.identity_noise)
and the probabilistic matcher:
- a key changes only by a merge or a split, written in the key registry and logged in
  audit.identity_changes;
- every key merged away resolves through marts.customer_key_aliases to the live key of the
  person who held it, or its person left the data (logged as `left`);
- a key comes back only to those who held it (a part taking back its own key when its merge
  is undone), never to someone else;
- a rerun of a day leaves identity's memory (the key registry, the matcher's record versions,
  models and links) as it was;
- the golden record's email consent is the strictest of a person's addresses.

The world is built once for DAY, then continued one day at a time; each day every source is
ingested and only what identity needs is built (the key registry, the aliases and
audit.identity_changes). The checks run after every day, comparing each identifier's live key
with the day before's; at the end one full build gives dim_customers for the consent check.

How many days: MARKETING_TEST_IDENTITY_DAYS, 6 in `make test` (about 4 minutes on two busy
cores: 1.5 for the first build, 20-25 s a day) and 30 under `make test-reliability` (the
issue's "over 30 daily runs", about 14 minutes). The world is planned for the days asked, so
each number of days is its own world: 6 days bring 2 merges, 30 bring 20 (seed 7); a test that
saw no merge would prove nothing about merges and fails.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import SOURCES
from pipelines.transform import DAILY_EXCLUDE, REPORT_TAG, run_dbt
from pipelines.warehouse import connect, table_content_hash
from simulator import Defects, continue_days, simulate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)
DAYS = int(os.environ.get("MARKETING_TEST_IDENTITY_DAYS", "6"))
SEED = 7
KEYS = "intermediate.int_identity__keys"
ALIASES = "marts.customer_key_aliases"
CHANGES = "audit.identity_changes"
# What the key registry, its aliases and its log are built from, and nothing else.
IDENTITY = ["+int_identity__keys", "customer_key_aliases", "identity_changes"]
# Identity's memory: the tables that read their own previous contents, and what they feed.
REMEMBERED = (KEYS, ALIASES, CHANGES, "intermediate.int_identity__record_versions",
              "intermediate.int_identity__match_model",
              "intermediate.int_identity__fuzzy_links")  # fmt: skip

Identifier = tuple[str, str]


@dataclass
class Run:
    """What the days did: the problems found (one sentence each, by day), the counts, and
    what the checks remember from day to day."""

    settings: Settings
    last_day: date
    problems: list[str] = field(default_factory=list)
    merges: int = 0  # keys merged into another
    splits: int = 0  # parts that split off a person (identifiers leaving one key for one other)
    taken_back: int = 0  # keys a part took back when its merge was undone
    left: int = 0  # keys retired because all their identifiers left the data
    rerun: tuple[dict[str, str], dict[str, str]] = ({}, {})
    merged_into: dict[str, str] = field(default_factory=dict)  # retired key: its survivor
    gone: set[str] = field(default_factory=set)  # keys whose identifiers all left
    holders: dict[str, set[Identifier]] = field(default_factory=dict)  # key: all who held it


def ingest(settings: Settings, day: date) -> None:
    for source in SOURCES:
        daily.ingest(settings, source, day, f"run-{day}")


def build_identity(settings: Settings, day: date) -> None:
    run_dbt(settings, ["build", "--select", *IDENTITY, "--exclude", REPORT_TAG, *DAILY_EXCLUDE],
            day)


def rows(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def live_keys(settings: Settings) -> dict[Identifier, str]:
    """Each identifier's current customer_key."""
    sql = f"select identifier_type, identifier, customer_key from {KEYS} where valid_to is null"
    return {(t, i): k for t, i, k in rows(settings, sql)}


def identity_hashes(settings: Settings) -> dict[str, str]:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        return {t: table_content_hash(con, t) for t in REMEMBERED}
    finally:
        con.close()


def check_day(run: Run, day: date, before: dict[Identifier, str],
              after: dict[Identifier, str]) -> None:  # fmt: skip
    """Compare yesterday's keys with today's; append what is wrong to `run.problems`."""
    s, problems = run.settings, run.problems
    opened = {(t, i): (change, previous, key) for t, i, change, previous, key in rows(
        s, f"select identifier_type, identifier, change, previous_key, customer_key from {KEYS} "
           "where valid_from = ?", [day])}  # fmt: skip
    logged = rows(s, f"select change, previous_key, customer_key, identifiers from {CHANGES} "
                     "where changed_on = ?", [day])  # fmt: skip
    aliases = dict(rows(s, f"select alias_key, customer_key from {ALIASES}"))

    # A key changes only by a merge or a split, written in the registry and logged.
    moved = Counter()
    for ident, old in before.items():
        new = after.get(ident)
        if new is None or new == old:
            continue
        change, previous, key = opened.get(ident, (None, None, None))
        if change not in ("merged", "split") or previous != old or key != new:
            problems.append(f"{day}: {ident} went from {old} to {new} with registry row "
                            f"change={change} previous_key={previous}")  # fmt: skip
        moved[(change, old, new)] += 1
    log = Counter()
    for change, previous, key, n in logged:
        if change in ("merged", "split"):
            log[(change, previous, key)] += n
    if moved != log:
        problems.append(f"{day}: identifiers that changed key {dict(moved)} are not what "
                        f"{CHANGES} logs {dict(log)}")  # fmt: skip
    run.splits += sum(1 for (c, _, _) in log if c == "split")

    # A key that retires was merged into a live one, or every identifier of it left, logged.
    live_before, live_now = set(before.values()), set(after.values())
    left = Counter()
    for change, previous, _, n in logged:
        if change == "left":
            left[previous] += n
    held = Counter(before.values())
    for key in sorted(live_before - live_now):
        into = [k for (c, p, k) in log if c == "merged" and p == key]
        if key in aliases and len(into) == 1:
            run.merged_into[key] = into[0]
            run.merges += 1
        elif left[key] == held[key]:
            run.gone.add(key)
            run.left += 1
        else:
            problems.append(f"{day}: key {key} retired with no alias and {left[key]} of its "
                            f"{held[key]} identifiers logged as left")  # fmt: skip

    # A key live again is back with identifiers that held it (a part taking back its own key
    # when its merge was undone), never with someone else; a key new today was never issued.
    for key in sorted(live_now - live_before):
        if key not in run.holders:
            continue
        if {i for i, k in after.items() if k == key} & run.holders[key]:
            run.taken_back += 1
            run.merged_into.pop(key, None)
            if key in aliases:
                problems.append(f"{day}: key {key} is live again and still an alias")
        else:
            problems.append(f"{day}: key {key}, issued before, is live again for others")
    for ident, key in after.items():
        run.holders.setdefault(key, set()).add(ident)

    # Every key merged away so far resolves to where its chain of merges ends, if that is live.
    for key, into in aliases.items():
        if into not in live_now:
            problems.append(f"{day}: alias {key} resolves to {into}, which is not live")
    for key in run.merged_into:
        end = key
        while end in run.merged_into:
            end = run.merged_into[end]
        if end in live_now and aliases.get(key) != end:
            problems.append(f"{day}: merged key {key} resolves to {aliases.get(key)}, not {end}")
        elif end not in live_now and end not in run.gone:
            problems.append(f"{day}: merged key {key} ends at {end}, neither live nor left")
    # ... and to the person who held it: most of the identifiers it had when it retired, of
    # those live today, have the key it resolves to.
    for alias, into, held_then, there in rows(s, f"""
        select aliases.alias_key, aliases.customer_key, count(*),
            count(*) filter (where today.customer_key = aliases.customer_key)
        from {ALIASES} as aliases
        inner join {KEYS} as retired
            on retired.customer_key = aliases.alias_key and retired.valid_to = aliases.merged_on
        inner join {KEYS} as today
            on today.identifier_type = retired.identifier_type
            and today.identifier = retired.identifier and today.valid_to is null
        group by all"""):  # fmt: skip
        if 2 * there <= held_then:
            problems.append(f"{day}: alias {alias} resolves to {into}, which holds {there} of "
                            f"the {held_then} identifiers it had")  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    settings = Settings(home=tmp_path_factory.mktemp("identity-days") / "data")
    # No malformed rows: a day's file of an `xs` shop has a few rows, so one bad row puts it
    # over its error budget and rejects it (ingest's business, tested elsewhere, not identity's).
    simulate(settings, scale="xs", seed=SEED, end_date=DAY, max_days=DAYS + 1,
             defects=Defects(malformed_row_rate=0.0, malformed_json_rate=0.0),
             identity_noise=True)  # fmt: skip
    ingest(settings, DAY)
    # The report models read what the Python steps write, which this test does not run.
    run_dbt(settings, ["build", "--exclude", REPORT_TAG, *DAILY_EXCLUDE], DAY)
    result = Run(settings, DAY + timedelta(days=DAYS))
    before = live_keys(settings)
    for ident, key in before.items():
        result.holders.setdefault(key, set()).add(ident)
    for n in range(1, DAYS + 1):
        day = DAY + timedelta(days=n)
        continue_days(settings, 1)
        ingest(settings, day)
        build_identity(settings, day)
        after = live_keys(settings)
        check_day(result, day, before, after)
        before = after
    first = identity_hashes(settings)
    build_identity(settings, result.last_day)
    result.rerun = (first, identity_hashes(settings))
    run_dbt(settings, ["build", "--exclude", REPORT_TAG, *DAILY_EXCLUDE], result.last_day)
    return result


def test_keys_change_only_by_logged_merges_and_old_keys_resolve(run, record_property):
    counts = {"days": DAYS, "merges": run.merges, "splits": run.splits,
              "taken_back": run.taken_back, "left": run.left,
              "aliases": rows(run.settings, f"select count(*) from {ALIASES}")[0][0]}  # fmt: skip
    for name, value in counts.items():
        record_property(name, value)
    print(f"identity over {DAYS} days: {counts}")
    assert run.problems == []
    # Without a merge the checks above would prove nothing about merges.
    assert run.merges > 0, counts


def test_a_rerun_of_a_day_leaves_identitys_memory_as_it_was(run):
    first, again = run.rerun
    assert again == first


def test_email_consent_is_the_strictest_of_a_persons_addresses(run, record_property):
    # Everyone any of whose addresses unsubscribed from the list is not emailable, whatever
    # their other addresses say.
    unsubscribed = """
        select distinct ids.customer_key
        from intermediate.int_identity__identifiers as ids
        inner join staging.stg_mailchimp__members as members
            on ids.identifier_type = 'email' and members.email = ids.identifier
        where members.status = 'unsubscribed' and ids.customer_key is not null
    """
    emailable = rows(run.settings, f"""
        select customer_key, email, mailchimp_status from marts.dim_customers
        where is_emailable and customer_key in ({unsubscribed})
    """)  # fmt: skip
    assert emailable == []
    # How many people the rule decided: an unsubscribed and a subscribed address on one key.
    mixed = rows(run.settings, f"""
        select count(distinct ids.customer_key)
        from intermediate.int_identity__identifiers as ids
        inner join staging.stg_mailchimp__members as members
            on ids.identifier_type = 'email' and members.email = ids.identifier
        where members.status = 'subscribed' and ids.customer_key in ({unsubscribed})
    """)[0][0]  # fmt: skip
    record_property("people_with_mixed_list_status", mixed)
    print(f"people with an unsubscribed and a subscribed address: {mixed}")
