"""Identity resolution's graph logic (pipelines.identity.clusters, the dbt Python model
int_identity__clusters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.identity import clusters

PROJECT = Path(__file__).parents[2] / "dbt_project"
WEAK = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]["identity_weak_types"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def graph(
    records: list[list[tuple[str, str]]],
    role: tuple[str, ...] = (),
    names: tuple[str | None, ...] = (),
) -> tuple:
    """Nodes and star edges from records (lists of (type, value)), first seen in order;
    `names` gives each record's first name (None: the record names nobody)."""
    seen: dict[tuple[str, str], datetime] = {}
    first_names: dict[tuple[str, str], set[str]] = {}
    edges = []
    for i, record in enumerate(records):
        for node in record:
            seen.setdefault(node, T0 + timedelta(days=i))
            name = names[i] if i < len(names) else None
            first_names.setdefault(node, set()).update({name} if name else set())
        hub = record[0]
        edges += [(*hub, *other) for other in record[1:]]
    nodes = pl.DataFrame(
        {
            "identifier_type": [t for t, _ in seen],
            "identifier": [v for _, v in seen],
            "first_seen_at": list(seen.values()),
            "is_role_mailbox": [v in role for _, v in seen],
            "first_names": [sorted(first_names[n]) for n in seen],
        },
        schema_overrides={"first_names": pl.List(pl.String)},
    )
    edge_frame = pl.DataFrame(
        edges or None,
        schema={
            c: pl.String
            for c in ["identifier_type", "identifier", "linked_type", "linked_identifier"]
        },
        orient="row",
    )
    return nodes, edge_frame


def people(records, role=(), max_people=1, max_size=200, names=()) -> dict:
    nodes, edges = graph(records, role, names)
    out = clusters.anchors(clusters.resolve(nodes, edges, WEAK, max_people, max_size))
    return {(r["identifier_type"], r["identifier"]): r["anchor"] for r in out.iter_rows(named=True)}


def test_records_that_share_an_identifier_are_one_person():
    got = people([
        [("shop_customer_id", "1"), ("email", "a@x.com")],
        [("email", "a@x.com"), ("hubspot_record_id", "h1")],
        [("order_id", "o1"), ("shop_customer_id", "1")],
        [("email", "b@x.com")],
    ])  # fmt: skip
    assert got[("hubspot_record_id", "h1")] == got[("order_id", "o1")] == "shop_customer_id:1"
    assert got[("email", "b@x.com")] == "email:b@x.com"


def test_a_shared_role_mailbox_does_not_merge_two_people():
    # Two office buyers order with their own accounts but the same info@ address.
    got = people(
        [
            [("shop_customer_id", "1"), ("email", "info@acme.com")],
            [("shop_customer_id", "2"), ("email", "info@acme.com")],
            [("hubspot_record_id", "h1"), ("email", "info@acme.com")],
        ],
        role=("info@acme.com",),
    )
    assert got[("shop_customer_id", "1")] != got[("shop_customer_id", "2")]
    assert got[("email", "info@acme.com")] is None


def test_a_role_mailbox_one_person_uses_still_links_their_records():
    got = people(
        [
            [("shop_customer_id", "1"), ("email", "info@acme.com")],
            [("email", "info@acme.com"), ("phone", "+15551234567")],
        ],
        role=("info@acme.com",),
    )
    assert got[("shop_customer_id", "1")] == got[("email", "info@acme.com")]


def test_a_phone_two_people_share_links_neither():
    got = people([
        [("email", "a@x.com"), ("phone", "+15551234567")],
        [("email", "b@x.com"), ("phone", "+15551234567")],
    ])  # fmt: skip
    assert got[("email", "a@x.com")] != got[("email", "b@x.com")]
    assert got[("phone", "+15551234567")] is None


def test_a_household_landline_does_not_merge_the_partners_who_give_it():
    # Jane's shop account and her partner John's CRM contact (no email) both give the home's
    # landline. The emails and ids alone would not tell them apart; the first names do.
    records = [
        [("shop_customer_id", "1"), ("email", "jane@x.com"), ("phone", "+442079460000")],
        [("hubspot_record_id", "h2"), ("phone", "+442079460000")],
    ]
    got = people(records, names=("jane", "john"))
    assert got[("shop_customer_id", "1")] != got[("hubspot_record_id", "h2")]
    assert got[("phone", "+442079460000")] is None
    # The same records naming one person (or nobody) are one customer.
    for names in (("jane", "jane"), ("jane", None)):
        got = people(records, names=names)
        assert got[("shop_customer_id", "1")] == got[("hubspot_record_id", "h2")]


def test_a_record_that_shows_both_emails_links_them_and_their_phone():
    # The CRM lists the work address beside the personal one; the phone each source gives
    # then belongs to the person, though their component holds two emails.
    got = people([
        [("hubspot_record_id", "h1"), ("email", "ann@work.com"), ("email", "ann@gmail.com")],
        [("shop_customer_id", "1"), ("email", "ann@gmail.com"), ("phone", "+15551230000")],
        [("email", "ann@work.com"), ("phone", "+15551230000")],
    ])  # fmt: skip
    assert got[("email", "ann@work.com")] == got[("email", "ann@gmail.com")] is not None
    assert got[("phone", "+15551230000")] == got[("shop_customer_id", "1")]


def test_two_emails_no_record_shows_together_are_not_guessed_to_be_one_person():
    # One phone behind a shop account and a newsletter signup with another address: the
    # same person or two in one home, nothing says which, so neither is assumed.
    got = people([
        [("shop_customer_id", "1"), ("email", "ann@gmail.com"), ("phone", "+15551230000")],
        [("email", "ann@work.com"), ("phone", "+15551230000")],
    ])  # fmt: skip
    assert got[("email", "ann@work.com")] != got[("email", "ann@gmail.com")]
    assert got[("phone", "+15551230000")] is None


def test_a_listed_mailbox_two_named_people_use_merges_neither():
    # Colleagues Kim (the shop account) and Lee (the CRM contact) both use orders@.
    got = people(
        [
            [("shop_customer_id", "1"), ("email", "orders@acme.com")],
            [("hubspot_record_id", "h1"), ("email", "orders@acme.com")],
        ],
        role=("orders@acme.com",),
        names=("kim", "lee"),
    )
    assert got[("shop_customer_id", "1")] != got[("hubspot_record_id", "h1")]
    assert got[("email", "orders@acme.com")] is None


def test_a_chain_of_shared_identifiers_does_not_merge_differently_named_people():
    # Kim's shop account uses the office's orders@; Lee signed it up for the newsletter with
    # Lee's own mobile, which Lee's CRM contact also gives. Each link alone touches one
    # person; the chain would join Kim's account to Lee's contact.
    got = people(
        [
            [("shop_customer_id", "1"), ("email", "orders@acme.com")],
            [("email", "orders@acme.com"), ("phone", "+15551230000")],
            [("hubspot_record_id", "h1"), ("email", "lee@acme.com"), ("phone", "+15551230000")],
        ],
        role=("orders@acme.com",),
        names=("kim", None, "lee"),
    )
    assert got[("shop_customer_id", "1")] != got[("hubspot_record_id", "h1")]


def test_a_mailbox_a_colleague_signed_up_with_does_not_bring_them_into_the_account():
    # Noah's CRM contact holds the office's ops@ and his own address; Zoe signed ops@ up for
    # the newsletter with her phone. Her record has nothing personal but the name it gives.
    got = people(
        [
            [("hubspot_record_id", "h1"), ("email", "ops@acme.com"), ("email", "noah@acme.com")],
            [("email", "ops@acme.com"), ("phone", "+15551230000"),
             ("mailchimp_email_id", "ab12")],
        ],
        role=("ops@acme.com",),
        names=("noah", "zoe"),
    )  # fmt: skip
    assert got[("email", "ops@acme.com")] is None
    assert got[("phone", "+15551230000")] != got[("hubspot_record_id", "h1")]
    assert got[("hubspot_record_id", "h1")] == got[("email", "noah@acme.com")]


def test_shareable_identifiers_cannot_chain_people_together():
    # Each device alone touches one person with an email, but together they would join
    # a@ and b@ through an order that carries no email: the cluster is split back.
    got = people([
        [("email", "a@x.com"), ("ga4_user_pseudo_id", "d1")],
        [("order_id", "o1"), ("ga4_user_pseudo_id", "d1")],
        [("order_id", "o1"), ("ga4_user_pseudo_id", "d2")],
        [("email", "b@x.com"), ("ga4_user_pseudo_id", "d2")],
    ])  # fmt: skip
    assert got[("email", "a@x.com")] != got[("email", "b@x.com")]


def test_a_meta_ad_click_ties_an_anonymous_device_to_the_browser_that_bought():
    # The device never logged in; the ad click it landed from comes back in the _fbc cookie
    # of a Conversions API event whose browser (fbp) later bought with an email.
    got = people([
        [("ga4_user_pseudo_id", "d1"), ("meta_click_id", "IwAR1")],
        [("fbp", "fb.1.1.9"), ("meta_click_id", "IwAR1")],
        [("email_sha256", "h(a)"), ("fbp", "fb.1.1.9"), ("order_id", "o1")],
        [("email", "a@x.com"), ("email_sha256", "h(a)")],
    ])  # fmt: skip
    assert got[("ga4_user_pseudo_id", "d1")] == got[("email", "a@x.com")] is not None


def test_a_shared_ad_link_does_not_merge_the_people_who_opened_it():
    # b@ copied a landing URL with a@'s fbclid: the click id reaches both browsers.
    got = people([
        [("email", "a@x.com"), ("fbp", "fbA"), ("meta_click_id", "IwAR1")],
        [("email", "b@x.com"), ("ga4_user_pseudo_id", "dB")],
        [("ga4_user_pseudo_id", "dB"), ("meta_click_id", "IwAR1")],
    ])  # fmt: skip
    assert got[("email", "a@x.com")] != got[("email", "b@x.com")]
    assert got[("meta_click_id", "IwAR1")] is None


def test_a_mailchimp_email_click_ties_an_anonymous_device_to_the_member():
    # The device never logged in; it landed from a campaign link carrying the member's EUID.
    got = people([
        [("email", "a@x.com"), ("mailchimp_email_id", "3f9a0c12be")],
        [("ga4_user_pseudo_id", "d1"), ("mailchimp_email_id", "3f9a0c12be")],
    ])  # fmt: skip
    assert got[("ga4_user_pseudo_id", "d1")] == got[("email", "a@x.com")] is not None


def test_a_forwarded_newsletter_does_not_merge_the_people_who_clicked_it():
    # a@ forwarded a campaign to b@, whose logged-in device clicked a@'s link (a@'s mc_eid).
    got = people([
        [("email", "a@x.com"), ("mailchimp_email_id", "3f9a0c12be")],
        [("email", "b@x.com"), ("ga4_user_pseudo_id", "dB")],
        [("ga4_user_pseudo_id", "dB"), ("mailchimp_email_id", "3f9a0c12be")],
    ])  # fmt: skip
    assert got[("email", "a@x.com")] != got[("email", "b@x.com")]
    assert got[("mailchimp_email_id", "3f9a0c12be")] is None


def test_an_oversized_cluster_is_split_back_into_people():
    devices = [[("email", "a@x.com"), ("fbp", f"fb{i}")] for i in range(10)]
    got = people([*devices, [("email", "a@x.com"), ("shop_customer_id", "1")]], max_size=5)
    assert got[("shop_customer_id", "1")] == got[("email", "a@x.com")]
    assert got[("fbp", "fb0")] is None


def test_the_key_is_named_by_the_earliest_identifier_and_survives_new_links():
    before = people([[("email", "a@x.com")], [("email", "a@x.com"), ("phone", "+15551234567")]])
    after = people([
        [("email", "a@x.com")],
        [("email", "a@x.com"), ("phone", "+15551234567")],
        [("shop_customer_id", "9"), ("email", "a@x.com")],
    ])  # fmt: skip
    assert before[("email", "a@x.com")] == after[("shop_customer_id", "9")] == "email:a@x.com"


def strong_components(records) -> dict:
    """Union-find over the links records make among person-level identifiers only."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for record in records:
        strong = [n for n in record if n[0] not in WEAK]
        for n in strong:
            find(n)
        if strong and record[0] in strong:
            for other in strong[1:]:
                parent[find(other)] = find(strong[0])
    return {n: find(n) for n in parent}


@settings(max_examples=80, deadline=None)
@given(st.lists(
    st.lists(st.tuples(st.sampled_from(["email", "phone", "shop_customer_id", "fbp"]),
                       st.sampled_from("abcde")), min_size=1, max_size=4, unique=True),
    min_size=1, max_size=12,
))  # fmt: skip
def test_shareable_identifiers_never_put_two_emails_in_one_person(records):
    got = people(records)
    strong = strong_components(records)
    emails_by_person: dict[str, set] = {}
    for (kind, value), anchor in got.items():
        if anchor is not None and kind == "email":
            emails_by_person.setdefault(anchor, set()).add(strong[(kind, value)])
    # Two emails share a person only when person-level links alone join them.
    assert all(len(parts) == 1 for parts in emails_by_person.values())
    # Every identifier a record names gets resolved or is reported unassigned, none lost.
    assert set(got) == {n for record in records for n in record}


@pytest.mark.parametrize("max_people", [1, 2])
def test_the_limit_on_people_per_shareable_identifier_is_configurable(max_people):
    got = people(
        [[("email", "a@x.com"), ("phone", "+1555")], [("email", "b@x.com"), ("phone", "+1555")]],
        max_people=max_people,
    )
    merged = got[("email", "a@x.com")] == got[("email", "b@x.com")]
    assert merged is (max_people == 2)


def test_a_shop_without_identifiers_resolves_to_no_clusters():
    """A shop whose only export is its ad reports has no identifier at all: the model's
    inputs are empty relations, which must still give an empty table, not an error."""
    con = duckdb.connect()
    con.execute("create table nodes (identifier_type varchar, identifier varchar, "
                "first_seen_at timestamptz, first_names varchar[], is_role_mailbox boolean)")
    con.execute("create table links (identifier_type varchar, identifier varchar, "
                "linked_type varchar, linked_identifier varchar, evidence varchar)")
    out = clusters.resolve_changed(con, con.table("nodes"), con.table("links"), None,
                                   WEAK, 1, 200).pl()  # fmt: skip
    assert out.height == 0
    assert tuple(out.columns) == clusters.OUTPUT_COLUMNS


def _resolve_in_duckdb(con, records, names, previous):
    """`records` resolved by resolve_changed from `previous` (a table name or None); the rows
    and the number of identifiers it resolved again (from the log's figure, read back as the
    rows whose fingerprint it recomputed: those not copied from `previous`)."""
    nodes, edges = graph(records, names=names)
    con.register("nodes_frame", nodes.to_arrow())
    con.register("edges_frame", edges.to_arrow())
    con.execute("create or replace table nodes as select * from nodes_frame")
    con.execute("create or replace table links as select * from edges_frame")
    return clusters.resolve_changed(con, con.table("nodes"), con.table("links"), previous,
                                    WEAK, 1, 200).pl()  # fmt: skip


def _anchors(frame: pl.DataFrame) -> dict:
    return {(r["identifier_type"], r["identifier"]): (r["anchor"], r["resolution"])
            for r in frame.iter_rows(named=True)}  # fmt: skip


RECORD = st.lists(
    st.tuples(st.sampled_from(["email", "shop_customer_id", "phone", "fbp"]),
              st.sampled_from(["1", "2", "3", "4", "5", "6"])),
    min_size=1, max_size=3, unique=True,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(before=st.lists(RECORD, min_size=1, max_size=8),
       after=st.lists(RECORD, min_size=1, max_size=8),
       names=st.lists(st.sampled_from([None, "ann", "bob"]), max_size=16))  # fmt: skip
def test_resolving_only_the_changed_components_equals_resolving_everything(before, after, names):
    """A day adds records and drops others (a changed email, an ended match): resolving only
    the components that changed, from yesterday's table, gives what resolving all does."""
    con = duckdb.connect()
    yesterday = _resolve_in_duckdb(con, before, names, None)
    con.register("yesterday_frame", yesterday.to_arrow())
    con.execute("create table yesterday as select * from yesterday_frame")
    today = before[len(before) // 2:] + after
    again = _resolve_in_duckdb(con, today, names, "yesterday")
    scratch = _resolve_in_duckdb(con, today, names, None)
    assert _anchors(again) == _anchors(scratch)
    assert again.sort("identifier_type", "identifier").equals(
        scratch.sort("identifier_type", "identifier"))


def test_a_day_that_touches_one_person_resolves_only_that_persons_component(caplog):
    con = duckdb.connect()
    people_then = [[("email", f"p{i}@x.com"), ("shop_customer_id", str(i))] for i in range(5)]
    yesterday = _resolve_in_duckdb(con, people_then, (), None)
    con.register("yesterday_frame", yesterday.to_arrow())
    con.execute("create table yesterday as select * from yesterday_frame")
    with caplog.at_level("INFO", logger=clusters.__name__):
        today = _resolve_in_duckdb(
            con, [*people_then, [("email", "p0@x.com"), ("phone", "+1555")]], (), "yesterday")
    # The phone joined person 0: their two identifiers and the phone; the rest are kept.
    assert "3 of 11 identifiers" in caplog.text
    assert _anchors(today)[("phone", "+1555")][0] == _anchors(today)[("email", "p0@x.com")][0]


def test_other_rules_resolve_everything_again():
    con = duckdb.connect()
    records = [[("email", "a@x.com"), ("phone", "+1555")],
               [("email", "b@x.com"), ("phone", "+1555")]]
    nodes, edges = graph(records)
    con.register("n", nodes.to_arrow())
    con.register("e", edges.to_arrow())
    one = clusters.resolve_changed(con, con.table("n"), con.table("e"), None, WEAK, 1, 200).pl()
    con.register("one_frame", one.to_arrow())
    con.execute("create table one as select * from one_frame")
    two = clusters.resolve_changed(con, con.table("n"), con.table("e"), "one", WEAK, 2, 200).pl()
    got = _anchors(two)
    # With two people allowed per phone, the phone now joins them: nothing was kept.
    assert got[("email", "a@x.com")][0] == got[("email", "b@x.com")][0]
