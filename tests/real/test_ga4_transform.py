"""A shop whose only export is Google's GA4 sample: the daily run's ingest tasks and `transform`
(dbt build and every dbt test) for 2021-01-31 give sessions and web events that agree with a
count made here straight from the Parquet file.

The sample is a random draw of events (SOURCE.md), so its sessions are incomplete: the checks
are of consistency with the file, not of the public dataset's totals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.config import Settings
from tests.conftest import query

from .realdata import link_landing, run_daily_ingest_and_transform

pytestmark = [pytest.mark.real, pytest.mark.integration, pytest.mark.slow]

DAY = date(2021, 1, 31)
NOT_SET = "(not set)"  # what GA4 writes where the site sent no value


def expected_sessions(path) -> dict[str, tuple[int, float]]:
    """Every session (user_pseudo_id, ga_session_id) with its purchases and revenue, read
    from the file: a transaction id counts once, at its first event; a purchase without one
    counts each time."""
    events = duckdb.sql(
        "select user_pseudo_id || ':' || list_filter(event_params, "
        "lambda p: p.key = 'ga_session_id')[1].value.int_value, event_name, event_timestamp, "
        f"ecommerce.transaction_id, ecommerce.purchase_revenue from read_parquet('{path}')"
    ).fetchall()
    sessions: dict[str, list[tuple]] = defaultdict(list)
    for key, *event in events:
        if key is not None:
            sessions[key].append(tuple(event))
    result = {}
    for key, session in sessions.items():
        purchases, revenue, seen = 0, 0.0, set()
        for name, _, transaction, amount in sorted(session, key=lambda e: e[1]):
            if name != "purchase":
                continue
            if transaction not in (None, NOT_SET):
                if transaction in seen:
                    continue
                seen.add(transaction)
            purchases += 1
            revenue += amount or 0.0
        result[key] = (purchases, revenue)
    return result


@pytest.fixture(scope="module")
def ga4_shop(real_file, tmp_path_factory):
    parquet = real_file("ga4_obfuscated_sample_ecommerce", "ga4_events_sampled.snappy.parquet")
    settings = Settings(home=tmp_path_factory.mktemp("ga4_shop") / "data",
                        duckdb_memory_limit="1GB", duckdb_threads=1)
    link_landing(settings, "ga4", DAY.isoformat(), "events_20201101_20210131.parquet", parquet)
    summary = run_daily_ingest_and_transform(settings, DAY, "real-ga4")
    return settings, parquet, summary



def test_dbt_builds_and_every_test_passes_on_ga4_alone(ga4_shop):
    _, _, summary = ga4_shop
    assert set(summary["status"]) <= {"success", "pass"}, summary
    assert summary["status"]["pass"] > 100, summary


def test_sessions_purchases_and_revenue_match_the_file(ga4_shop):
    settings, parquet, _ = ga4_shop
    expected = expected_sessions(parquet)
    built = {key: (purchases, float(revenue)) for key, purchases, revenue in query(
        settings, "select session_key, purchases, purchase_revenue from marts.fct_sessions")}
    assert len(built) == len(expected) == 20_705
    assert built.keys() == expected.keys()
    differing = {k: (built[k], v) for k, v in expected.items()
                 if built[k][0] != v[0] or abs(built[k][1] - v[1]) > 0.005}
    assert differing == {}
    # The sample repeats six transactions within their session: counted once.
    assert sum(p for p, _ in built.values()) == 618
    assert round(sum(r for _, r in built.values()), 2) == 41_233.00


def test_web_events_keep_every_event_and_no_placeholder_transaction(ga4_shop):
    settings, _, _ = ga4_shop
    assert query(settings, "select count(*), count(*) filter (where event_name = 'purchase'), "
                           "count(*) filter (where transaction_id = '(not set)'), "
                           "count(distinct session_key) from marts.fct_web_events") == [
        (24_219, 624, 0, 20_705)]


def test_no_placeholder_joins_devices_into_one_person(ga4_shop):
    """GA4 alone knows a person only by the transaction ids their device bought with, and a
    real id belongs to one device here; '(not set)' on 90 purchases once joined 87 devices."""
    settings, parquet, _ = ga4_shop
    events = pq.read_table(parquet, columns=["event_name", "user_pseudo_id", "ecommerce"])
    buyers = {e["user_pseudo_id"] for e in events.to_pylist()
              if e["event_name"] == "purchase" and e["ecommerce"]
              and e["ecommerce"]["transaction_id"] not in (None, NOT_SET)}
    devices = query(settings, "select customer_key, count(distinct user_pseudo_id) "
                              "from marts.fct_sessions where customer_key is not null group by 1")
    assert len(devices) == len(buyers) and {n for _, n in devices} == {1}
    assert query(settings, "select count(*) from marts.dim_customers") == [(len(buyers),)]
