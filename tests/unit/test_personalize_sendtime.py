"""Send-time optimisation: read weighting, the prefetch (machine-open) discount, shrinkage toward
the persona's pattern, time zones across daylight saving time, and the Mailchimp columns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.activation.export import reco_columns
from pipelines.activation.platforms import FORMATS, mailchimp_rows
from pipelines.personalize.sendtime import (
    CLICK_WEIGHT,
    EARLY_OPEN_WEIGHT,
    best_send_times,
    contact_zone,
    local_parts,
    prior_strength,
    reads,
    run,
    send_group,
    send_hour_utc,
)

AS_OF = date(2026, 10, 31)
SEND_HOUR_UTC = 14


def _sent(day: int) -> datetime:
    return datetime(2026, 1, 5, SEND_HOUR_UTC, tzinfo=UTC) + timedelta(days=day)


def _event(key: str, day: int, action: str, after: timedelta) -> dict:
    return {"customer_key": key, "campaign_id": f"c{day}", "sent_at": _sent(day),
            "action": action, "action_at": _sent(day) + after}


def _events(rows: list[dict]) -> pl.DataFrame:
    schema = {"customer_key": pl.String, "campaign_id": pl.String,
              "sent_at": pl.Datetime("us", "UTC"), "action": pl.String,
              "action_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema=schema)


def _reader(key: str, utc_hour: int, campaigns: range, click: bool = False) -> list[dict]:
    """A person who opens each campaign at `utc_hour` (the next day if it has passed)."""
    rows = []
    for day in campaigns:
        wait = timedelta(hours=(utc_hour - SEND_HOUR_UTC) % 24, minutes=10)
        rows.append(_event(key, day, "open", wait))
        if click:
            rows.append(_event(key, day, "click", wait + timedelta(minutes=2)))
    return rows


def _contacts(personas: dict[str, str | None], zone: str = "UTC") -> pl.DataFrame:
    return pl.DataFrame({
        "customer_key": list(personas), "mailchimp_timezone": [zone] * len(personas),
        "country_code": [None] * len(personas), "region_code": [None] * len(personas),
        "persona_name": list(personas.values())}, schema={
        "customer_key": pl.String, "mailchimp_timezone": pl.String, "country_code": pl.String,
        "region_code": pl.String, "persona_name": pl.String})


def test_a_campaign_is_one_read_weighted_by_what_the_person_did():
    events = _events([
        _event("a", 0, "open", timedelta(hours=5)),
        _event("a", 0, "click", timedelta(hours=5, minutes=1)),
        _event("a", 0, "open", timedelta(hours=9)),  # a second look at the same email
        _event("a", 1, "open", timedelta(hours=3)),
        _event("a", 2, "open", timedelta(minutes=2)),  # in the prefetch window, nothing later
        _event("a", 3, "open", timedelta(minutes=1)),  # a prefetch, then the person reads
        _event("a", 3, "open", timedelta(hours=6)),
    ])
    got = {r["campaign_id"]: r for r in reads(events).iter_rows(named=True)}
    assert (got["c0"]["kind"], got["c0"]["weight"]) == ("click", CLICK_WEIGHT)
    assert got["c0"]["read_at"] == _sent(0) + timedelta(hours=5, minutes=1)
    assert (got["c1"]["kind"], got["c1"]["weight"]) == ("open", 1.0)
    assert (got["c2"]["kind"], got["c2"]["weight"]) == ("early_open", EARLY_OPEN_WEIGHT)
    assert got["c2"]["opened"] == EARLY_OPEN_WEIGHT
    assert (got["c3"]["kind"], got["c3"]["read_at"]) == ("open", _sent(3) + timedelta(hours=6))
    assert got["c3"]["opened"] == 1.0
    assert CLICK_WEIGHT > 1.0 > EARLY_OPEN_WEIGHT


def test_machine_opens_at_the_send_do_not_outvote_a_persons_real_reads():
    # Every email is "opened" minutes after the 14:00 send (a prefetching mail client); the
    # person really reads a third of them at 20:00.
    rows = [_event("mpp", d, "open", timedelta(minutes=3)) for d in range(30)]
    rows += _reader("mpp", 20, range(0, 30, 3))
    out, _ = best_send_times(_contacts({"mpp": None}), _events(rows), AS_OF)
    row = out.row(0, named=True)
    assert row["best_hour_local"] == 20
    assert row["opens"] == pytest.approx(10 + 20 * EARLY_OPEN_WEIGHT)


def _habit(rng: np.random.Generator, key: str, hour: int, campaigns: range) -> list[dict]:
    """A person who reads at `hour` UTC give or take an hour, and a third of the time whenever
    they happen to look."""
    rows = []
    for day in campaigns:
        h = hour + int(rng.integers(-1, 2)) if rng.random() < 0.67 else int(rng.integers(0, 24))
        wait = timedelta(hours=(h - SEND_HOUR_UTC) % 24, minutes=int(rng.integers(5, 55)))
        rows.append(_event(key, day, "open", wait))
    return rows


def test_a_thin_contact_moves_to_the_persona_hour_and_a_thick_one_keeps_its_own():
    rng = np.random.default_rng(3)
    personas = {f"p{i}": "Night Owls" for i in range(60)} | {"thin": "Night Owls",
                                                            "thick": "Night Owls"}
    rows = []
    for i in range(60):
        rows += _habit(rng, f"p{i}", 22 + int(rng.integers(-1, 2)), range(int(rng.integers(2, 30))))
    rows += _reader("thin", 8, range(1))
    rows += _reader("thick", 8, range(30), click=True)
    out, summary = best_send_times(_contacts(personas), _events(rows), AS_OF)
    got = {r["customer_key"]: r for r in out.iter_rows(named=True)}
    assert got["thin"]["best_hour_local"] in (21, 22, 23)
    assert got["thin"]["evidence"] == "persona"
    assert got["thin"]["weight_own"] < 0.5
    assert got["thick"]["best_hour_local"] == 8
    assert got["thick"]["evidence"] == "own"
    assert got["thick"]["weight_own"] > 0.5
    assert got["thick"]["clicks"] == 30
    assert summary["prior_strength_hours"] > 1


def test_a_contact_without_opens_gets_the_persona_hour_and_says_so():
    personas = {f"p{i}": "Early Birds" for i in range(20)} | {"silent": "Early Birds",
                                                               "stranger": None}
    rows = [r for i in range(20) for r in _reader(f"p{i}", 6, range(i, i + 8))]
    out, _ = best_send_times(_contacts(personas), _events(rows), AS_OF)
    got = {r["customer_key"]: r for r in out.iter_rows(named=True)}
    assert got["silent"]["best_hour_local"] == 6
    assert (got["silent"]["evidence"], got["silent"]["weight_own"]) == ("persona", 0.0)
    assert (got["silent"]["opens"], got["silent"]["clicks"]) == (0.0, 0)
    # No persona: the list's pattern, which here is everyone's 6 o'clock.
    assert (got["stranger"]["evidence"], got["stranger"]["best_hour_local"]) == ("list", 6)


def test_local_hours_follow_daylight_saving_time():
    zones = pl.DataFrame({"customer_key": ["ny", "ny"], "timezone": ["America/New_York"] * 2})
    frame = pl.DataFrame({
        "customer_key": ["ny", "ny"],
        "at": [datetime(2026, 7, 1, 13, 30, tzinfo=UTC), datetime(2026, 1, 14, 14, 30, tzinfo=UTC)],
    })
    got = local_parts(frame.head(1), "at", zones.head(1))
    assert got.row(0, named=True)["local_hour"] == 9  # EDT, UTC-4
    got = local_parts(frame.tail(1), "at", zones.tail(1))
    assert got.row(0, named=True)["local_hour"] == 9  # EST, UTC-5
    assert got.row(0, named=True)["local_weekday"] == 3  # a Wednesday, ISO
    # The UTC hour to send 9:00 local moves with the clocks, on either side of the changes.
    assert send_hour_utc("America/New_York", 9, date(2026, 3, 7)) == 14
    assert send_hour_utc("America/New_York", 9, date(2026, 3, 9)) == 13
    assert send_hour_utc("Europe/Berlin", 9, date(2026, 10, 24)) == 7
    assert send_hour_utc("Europe/Berlin", 9, date(2026, 10, 26)) == 8
    assert send_hour_utc("Australia/Sydney", 9, date(2026, 1, 15)) == 22
    assert send_group(7) == "send-07utc"


def test_the_send_hour_is_that_of_the_day_after_the_run():
    rows = _reader("ny", 13, range(10))  # reads at 13:10 UTC in January
    contacts = _contacts({"ny": None}, zone="America/New_York")
    out, _ = best_send_times(contacts, _events(rows), date(2026, 6, 30))
    row = out.row(0, named=True)
    assert row["best_hour_local"] == 8  # 13:10 UTC in January is 8:10 EST
    assert row["send_hour_utc"] == 12  # 8:00 EDT on 1 July
    assert row["send_group"] == "send-12utc"
    assert row["timezone"] == "America/New_York"


def test_the_zone_is_mailchimps_when_it_is_one_else_the_addresss():
    assert contact_zone("Europe/Paris", "US", "NY") == "Europe/Paris"
    assert contact_zone(" America/Denver ", None, None) == "America/Denver"
    assert contact_zone("Mars/Olympus", "US", "CA") == "America/Los_Angeles"
    assert contact_zone(None, "DE", None) == "Europe/Berlin"
    assert contact_zone(None, None, None) == "UTC"


@pytest.mark.parametrize("alpha", [2.0, 20.0])
def test_the_prior_strength_is_the_one_the_counts_show(alpha: float):
    rng = np.random.default_rng(7)
    prior = np.full(24, 1 / 24)
    shares = rng.dirichlet(alpha * prior, size=3000)
    counts = np.array([rng.multinomial(12, s) for s in shares], dtype=float)
    found = prior_strength(counts, np.broadcast_to(prior, counts.shape))
    assert alpha / 1.6 < found < alpha * 1.6


def test_mailchimp_rows_carry_the_merge_fields_and_the_send_group_tag():
    members = pl.DataFrame({
        "email_norm": ["a@x.com", "b@x.com"], "first_name": ["Ann", "Bo"],
        "last_name": ["Lee", "Ng"], "persona_name": ["Night Owls", None],
        "send_hour_utc": [9, None], "send_timezone": ["Europe/Paris", None],
        "send_group": ["send-09utc", None], "reco_1": ["=Kenya AA 250g", None],
        "reco_2": ["Decaf", None], "reco_3": [None, None],
    }, schema_overrides={"send_hour_utc": pl.Int32, "reco_3": pl.String})
    rows = mailchimp_rows(members, "winback")
    assert tuple(rows.columns) == FORMATS["mailchimp"].columns
    a, b = rows.iter_rows(named=True)
    assert a["Tags"] == "winback,Night Owls,send-09utc"
    assert (a["SENDHOUR"], a["TZ"], a["RECO2"], a["RECO3"]) == ("9", "Europe/Paris", "Decaf", None)
    assert not a["RECO1"].startswith("=")  # a product name is never a formula
    assert (b["Tags"], b["SENDHOUR"], b["RECO1"]) == ("winback", None, None)
    # Customers the personalize step has not reached: the same layout, blank merge fields.
    bare = mailchimp_rows(members.select("email_norm", "first_name", "last_name"), "all")
    assert tuple(bare.columns) == FORMATS["mailchimp"].columns
    assert bare["SENDHOUR"].null_count() == 2


def test_reco_columns_put_the_top_three_products_in_rank_order():
    top = pl.DataFrame({"customer_key": ["a", "a", "a", "a", "b"], "rank": [2, 1, 4, 3, 1],
                        "product_name": ["Two", "One", "Four", "Three", "Only"]})
    got = {r["customer_key"]: r for r in reco_columns(top).iter_rows(named=True)}
    assert (got["a"]["reco_1"], got["a"]["reco_2"], got["a"]["reco_3"]) == ("One", "Two", "Three")
    assert (got["b"]["reco_1"], got["b"]["reco_2"]) == ("Only", None)


def _warehouse(settings, events: pl.DataFrame) -> None:
    """The tables the step reads: two customers, one on the Mailchimp list with a zone, a
    persona for one, and `events` as the email activity."""
    from pipelines.warehouse import work_connection

    customers = pl.DataFrame({"customer_key": ["a", "b"], "email": ["a@x.com", "b@x.com"],
                              "country_code": ["US", "DE"], "region_code": ["NY", None]})
    members = pl.DataFrame({"email": ["a@x.com"], "timezone": ["America/Chicago"]})
    personas = pl.DataFrame({"customer_key": ["a"], "persona_id": [1],
                             "persona_name": ["Night Owls"]})
    with work_connection(settings) as con:
        for schema in ("marts", "staging", "ml"):
            con.execute(f"create schema {schema}")
        for name, frame in (("marts.dim_customers", customers), ("ml.personas", personas),
                            ("staging.stg_mailchimp__members", members),
                            ("marts.fct_email_events", events)):
            con.register("frame", frame.to_arrow())
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")


def test_the_step_writes_every_contact_and_a_rerun_writes_the_same_rows(settings):
    from tests.conftest import query

    rows = [*_reader("a", 1, range(12)), _event("b", 3, "open", timedelta(hours=2))]
    rows.append(_event("b", 400, "open", timedelta(hours=2)))  # after the run date: unseen
    _warehouse(settings, _events(rows))
    summary = run(settings, date(2026, 3, 1), "r1")
    assert summary["contacts"] == 2 and summary["reads"] == 13
    first = query(settings, "select * from ml.send_times order by customer_key")
    assert [(r[0], r[2]) for r in first] == [("a", "America/Chicago"), ("b", "Europe/Berlin")]
    assert first[0][3] == 19  # 01:10 UTC in January is 19:10 in Chicago
    run(settings, date(2026, 3, 1), "r2")
    assert query(settings, "select * from ml.send_times order by customer_key") == first


def test_a_shop_without_email_activity_writes_no_send_times_and_says_so(settings):
    from tests.conftest import query

    _warehouse(settings, _events([]))
    summary = run(settings, AS_OF, "r1")
    assert summary["contacts"] == 0
    assert "no email opens or clicks" in summary["skipped"]
    assert query(settings, "select count(*) from ml.send_times") == [(0,)]
