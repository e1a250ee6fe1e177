"""The bench's identity figures (bench.quality.identity_scores) on tiny hand-made identity
tables, and the identity step's time (bench.__main__.identity_seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from bench.__main__ import identity_models, identity_rows, identity_seconds
from bench.quality import identity_scores

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RECORD_COLUMNS = ("first_name", "last_name", "email", "phone", "address", "zip", "city",
                  "country_code")  # fmt: skip


def tables(person_records: list[dict], links: list[tuple[str, str, str, str]],
           customers: dict[tuple[str, str], str | None]) -> dict[str, pl.DataFrame]:  # fmt: skip
    """The identity tables identity_pairs reads: `person_records` (record_key, hub_type, hub
    and the compared fields, absent ones null), the exact links (type, value, linked type,
    linked value), each identifier's customer_key in our resolution (None: unassigned). Each
    exact link is also a record of its two identifiers."""
    ids = list(customers)
    nodes = pl.DataFrame({
        "identifier_type": [t for t, _ in ids], "identifier": [v for _, v in ids],
        "first_seen_at": [T0 + timedelta(days=i) for i in range(len(ids))],
        "first_names": [None] * len(ids), "is_role_mailbox": [False] * len(ids),
    }, schema_overrides={"first_names": pl.List(pl.String)})  # fmt: skip
    edge_schema = {c: pl.String for c in ("identifier_type", "identifier", "linked_type",
                                          "linked_identifier")}  # fmt: skip
    edges = pl.DataFrame(links, schema=edge_schema, orient="row")
    records = pl.DataFrame(
        [(f"r{i}", t, v) for i, (a, x, b, y) in enumerate(links) for t, v in ((a, x), (b, y))],
        schema={"record_key": pl.String, "identifier_type": pl.String,
                "identifier": pl.String}, orient="row")  # fmt: skip
    people = pl.DataFrame([{c: r.get(c) for c in ("record_key", "hub_type", "hub",
                                                 *RECORD_COLUMNS)} for r in person_records],
                          schema={c: pl.String for c in ("record_key", "hub_type", "hub",
                                                         *RECORD_COLUMNS)})  # fmt: skip
    ours = pl.DataFrame({"identifier_type": [t for t, _ in ids],
                         "identifier": [v for _, v in ids],
                         "customer_key": list(customers.values())},
                        schema_overrides={"customer_key": pl.String})  # fmt: skip
    return {"ours": ours, "edges": edges, "records": records, "nodes": nodes,
            "person_records": people}


def truth(owners: dict[tuple[str, str], int]) -> pl.DataFrame:
    """The truth's identifiers: each (type, value) with its person."""
    return pl.DataFrame({"identifier_type": [t for t, _ in owners],
                         "identifier_value": [v for _, v in owners],
                         "person_id": list(owners.values())})  # fmt: skip


ANN_SHOP = {"record_key": "shop:s1", "hub_type": "shop_customer_id", "hub": "s1",
            "first_name": "ann", "last_name": "lee", "zip": "111"}
ANN_CRM = {"record_key": "hubspot:h1", "hub_type": "hubspot_record_id", "hub": "h1",
           "first_name": "anne", "last_name": "lee", "zip": "111"}
BOB_SHOP = {"record_key": "shop:s2", "hub_type": "shop_customer_id", "hub": "s2",
            "first_name": "bob", "last_name": "lee", "zip": "111"}
OWNERS = {("shop_customer_id", "s1"): 1, ("hubspot_record_id", "h1"): 1,
          ("shop_customer_id", "s2"): 2, ("shop_customer_id", "s3"): 3, ("email", "c@x.com"): 3}


def world(customers: dict[tuple[str, str], str | None]) -> dict:
    """Ann's shop account and CRM contact share only last name and zip (a nickname: no exact
    link); Bob, of her household, shares the same with both; Cy's shop account shows his
    email (an exact link)."""
    cy_shop = {"record_key": "shop:s3", "hub_type": "shop_customer_id", "hub": "s3",
               "first_name": "cy", "last_name": "moe", "email": "c@x.com", "zip": "222"}
    t = tables([ANN_SHOP, ANN_CRM, BOB_SHOP, cy_shop],
               [("shop_customer_id", "s3", "email", "c@x.com")], customers)  # fmt: skip
    return identity_scores(t, truth(OWNERS))


def test_a_pair_only_fuzzy_evidence_joins_counts_one_of_one_when_recovered():
    figures = world({("shop_customer_id", "s1"): "k1", ("hubspot_record_id", "h1"): "k1",
                     ("shop_customer_id", "s2"): "k2", ("shop_customer_id", "s3"): "k3",
                     ("email", "c@x.com"): "k3"})  # fmt: skip
    assert figures["fuzzy_only"] == {"pairs": 1, "recovered": 1, "share": 1.0,
                                     "deterministic_share": 0.0}  # fmt: skip
    assert figures["recall_of_evidence"] == 1.0
    # Exact links alone join Cy's pair, not Ann's: 1 of the 2 true pairs.
    assert figures["deterministic"] == {"precision": 1.0, "recall": 0.5,
                                        "recall_of_evidence": 0.5, "fuzzy_only_share": 0.0}
    assert figures["links_ceiling"]["recall"] == 0.5
    assert (figures["precision"], figures["recall"]) == (1.0, 1.0)


def test_a_household_sharing_last_name_and_zip_is_no_evidence_between_its_people():
    figures = world({("shop_customer_id", "s1"): "k1", ("hubspot_record_id", "h1"): "k2",
                     ("shop_customer_id", "s2"): "k3", ("shop_customer_id", "s3"): "k4",
                     ("email", "c@x.com"): "k4"})  # fmt: skip
    # The ceiling joins Ann's two records and neither with Bob's.
    assert figures["evidence_ceiling"] == {"precision": 1.0, "recall": 1.0}
    assert figures["fuzzy_only"] == {"pairs": 1, "recovered": 0, "share": 0.0,
                                     "deterministic_share": 0.0}  # fmt: skip
    assert figures["recall_of_evidence"] == 0.5


def test_merging_the_household_costs_precision_and_still_recovers_the_fuzzy_pair():
    figures = world({("shop_customer_id", "s1"): "k1", ("hubspot_record_id", "h1"): "k1",
                     ("shop_customer_id", "s2"): "k1", ("shop_customer_id", "s3"): "k4",
                     ("email", "c@x.com"): "k4"})  # fmt: skip
    # Three pairs in k1, one of them Ann's; Cy's pair: 2 of 4 joined pairs are right.
    assert figures["precision"] == 0.5
    assert figures["merged_customers"] == 1
    assert figures["fuzzy_only"]["share"] == 1.0


def test_each_candidate_rule_is_evidence_and_a_pair_needs_both_its_columns():
    records = [
        # One inbox under a Gmail alias: the canonical local part agrees.
        {"record_key": "mailchimp:1", "hub_type": "email", "hub": "jo.smith+news@gmail.com",
         "email": "jo.smith+news@gmail.com"},
        {"record_key": "shop:s4", "hub_type": "shop_customer_id", "hub": "s4",
         "email": "josmith@gmail.com"},
        # The phone with and without its area code: the last 7 digits agree.
        {"record_key": "shop:s5", "hub_type": "shop_customer_id", "hub": "s5",
         "phone": "+15551234567"},
        {"record_key": "hubspot:h5", "hub_type": "hubspot_record_id", "hub": "h5",
         "phone": "+441234567"},
        # A move within town: last name and city.
        {"record_key": "shop:s6", "hub_type": "shop_customer_id", "hub": "s6",
         "last_name": "roe", "city": "york", "zip": "1"},
        {"record_key": "hubspot:h6", "hub_type": "hubspot_record_id", "hub": "h6",
         "last_name": "roe", "city": "york", "zip": "2"},
        # First name alone, the zip unknown on one side: no rule's columns all agree.
        {"record_key": "shop:s7", "hub_type": "shop_customer_id", "hub": "s7",
         "first_name": "una", "zip": "9"},
        {"record_key": "hubspot:h7", "hub_type": "hubspot_record_id", "hub": "h7",
         "first_name": "una"},
    ]
    owners = {("email", "jo.smith+news@gmail.com"): 4, ("shop_customer_id", "s4"): 4,
              ("email", "josmith@gmail.com"): 4, ("shop_customer_id", "s5"): 5,
              ("hubspot_record_id", "h5"): 5, ("shop_customer_id", "s6"): 6,
              ("hubspot_record_id", "h6"): 6, ("shop_customer_id", "s7"): 7,
              ("hubspot_record_id", "h7"): 7}  # fmt: skip
    apart = {node: f"{node[0]}:{node[1]}" for node in owners}
    t = tables(records, [("shop_customer_id", "s4", "email", "josmith@gmail.com")], apart)
    figures = identity_scores(t, truth(owners))
    # Person 4: 3 pairs, 2 only fuzzy; persons 5 and 6: 1 each; person 7: 1, not joined.
    assert figures["fuzzy_only"]["pairs"] == 4
    assert figures["evidence_ceiling"]["recall"] == pytest.approx(5 / 6)
    assert figures["fuzzy_only"]["recovered"] == 0


def test_a_record_whose_hub_several_people_hold_draws_no_evidence():
    shared = {"record_key": "mailchimp:1", "hub_type": "email", "hub": "fam@x.com",
              "last_name": "lee", "zip": "111"}
    owners = {("shop_customer_id", "s1"): 1, ("hubspot_record_id", "h1"): 1}
    t = tables([ANN_SHOP, ANN_CRM, shared], [],
               {("shop_customer_id", "s1"): "k1", ("hubspot_record_id", "h1"): "k2",
                ("email", "fam@x.com"): None})  # fmt: skip
    both = pl.concat([truth(owners), truth({("email", "fam@x.com"): 1}),
                      truth({("email", "fam@x.com"): 2})])  # fmt: skip
    figures = identity_scores(t, both)
    assert figures["shared"] == {"identifiers": 1, "assigned": 0}
    assert figures["fuzzy_only"]["pairs"] == 1


def test_the_identity_step_time_sums_its_models_and_nothing_else():
    timings = {
        "model.marketing.int_identity__clusters": 2.0,
        "model.marketing.int_identity__edges": 1.0,
        "model.marketing.identity_changes": 0.25,
        "model.marketing.customer_key_aliases": 0.5,
        "model.marketing.dim_customers": 5.0,
        "test.marketing.unique_int_identity__clusters_identifier": 9.0,
        "unit_test.marketing.int_identity__clusters.a_merge": 7.0,
    }
    assert identity_seconds(timings) == 3.75
    assert set(identity_models(timings)) == {"int_identity__clusters", "int_identity__edges",
                                             "identity_changes", "customer_key_aliases"}


def test_the_report_rows_show_ours_beside_exact_links_only():
    figures = world({("shop_customer_id", "s1"): "k1", ("hubspot_record_id", "h1"): "k1",
                     ("shop_customer_id", "s2"): "k2", ("shop_customer_id", "s3"): "k3",
                     ("email", "c@x.com"): "k3"})  # fmt: skip
    rows = identity_rows(figures)
    assert ("| identity: pairs only fuzzy evidence joins (1), recovered: ours / exact links "
            "only | 1.0000 / 0.0000 |") in rows
