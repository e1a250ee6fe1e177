"""The key registry (pipelines/identity/keys.py): keys survive growth, merges keep the older
key and log the chain of links, splits give the leaving part a new key (its own again when a
merge is undone), and a rerun of a day equals its first run."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.identity.keys import assign, assign_changed, key_name

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def clusters(groups: dict[str, list[str]]) -> pl.DataFrame:
    """Identifiers (`type:value`) by cluster anchor; the anchor is in its own group."""
    rows = [(i.split(":")[0], i.split(":", 1)[1], anchor)
            for anchor, ids in groups.items() for i in ids]  # fmt: skip
    return pl.DataFrame(rows, orient="row",
                        schema=["identifier_type", "identifier", "anchor"])  # fmt: skip


def edges(*links: tuple[str, str], evidence: str | None = None) -> pl.DataFrame:
    rows = [(*a.split(":", 1), *b.split(":", 1), evidence) for a, b in links]
    return pl.DataFrame(rows, orient="row", schema=[
        "identifier_type", "identifier", "linked_type", "linked_identifier", "evidence"])


def current(history: pl.DataFrame) -> dict[str, str]:
    live = history.filter(pl.col("valid_to").is_null())
    return {f"{t}:{v}": k for t, v, k in
            live.select("identifier_type", "identifier", "customer_key").iter_rows()}  # fmt: skip


NO_EDGES = edges()


def test_first_run_names_each_person_by_their_anchor():
    h = assign(None, clusters({"email:a@x.com": ["email:a@x.com", "phone:+1"],
                               "email:b@x.com": ["email:b@x.com"]}), NO_EDGES, D1)
    assert current(h) == {"email:a@x.com": key_name("email:a@x.com"),
                          "phone:+1": key_name("email:a@x.com"),
                          "email:b@x.com": key_name("email:b@x.com")}
    assert set(h["change"]) == {"new"} and h["valid_from"].unique().to_list() == [D1]


def test_a_cluster_that_grows_keeps_its_key_and_its_rows():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com"]}), NO_EDGES, D1)
    h2 = assign(h1, clusters({"email:a@x.com": ["email:a@x.com", "fbp:f1"]}), NO_EDGES, D2)
    assert current(h2) == {"email:a@x.com": key_name("email:a@x.com"),
                           "fbp:f1": key_name("email:a@x.com")}
    joined = h2.filter(pl.col("identifier") == "f1").row(0, named=True)
    assert joined["change"] == "joined" and joined["valid_from"] == D2
    # The first identifier's row is untouched: still open, from D1.
    assert h2.filter(pl.col("identifier") == "a@x.com")["valid_from"].to_list() == [D1]


def test_a_merge_keeps_the_key_issued_first_and_names_the_link():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com"]}), NO_EDGES, D1)
    h2 = assign(h1, clusters({"email:a@x.com": ["email:a@x.com"],
                              "email:b@y.com": ["email:b@y.com", "phone:+2"]}), NO_EDGES, D2)
    # Today the shop's record shows a@x.com with b's phone: one person. b's anchor is the
    # cluster's anchor only if seen first; the survivor is the key issued first either way.
    merged = clusters({"email:b@y.com": ["email:a@x.com", "email:b@y.com", "phone:+2"]})
    h3 = assign(h2, merged, edges(("email:a@x.com", "phone:+2")), D3)
    a, b = key_name("email:a@x.com"), key_name("email:b@y.com")
    assert set(current(h3).values()) == {a}
    moved = h3.filter(pl.col("change") == "merged")
    assert sorted(moved["identifier"]) == ["+2", "b@y.com"]
    assert set(moved["previous_key"]) == {b} and set(moved["valid_from"]) == {D3}
    assert moved["evidence"][0] == "email:a@x.com ~ phone:+2 (shown together on one record)"
    # b's old rows end on D3; nothing is deleted.
    assert h3.filter(pl.col("customer_key") == b)["valid_to"].to_list() == [D3, D3]


def test_a_merge_through_a_fuzzy_link_carries_its_evidence():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com"],
                                "email:a2@x.com": ["email:a2@x.com"]}), NO_EDGES, D1)
    h2 = assign(h1, clusters({"email:a@x.com": ["email:a@x.com", "email:a2@x.com"]}),
                edges(("email:a@x.com", "email:a2@x.com"), evidence="fuzzy match 0.999"), D2)
    row = h2.filter(pl.col("change") == "merged").row(0, named=True)
    assert row["evidence"] == "email:a@x.com ~ email:a2@x.com (fuzzy match 0.999)"
    # Keys issued the same day: the survivor is the one whose key sorts first.
    assert row["customer_key"] == min(key_name("email:a@x.com"), key_name("email:a2@x.com"))


def test_a_split_gives_the_leaving_part_a_new_key_never_an_old_one():
    ids = ["email:a@x.com", "phone:+1", "email:b@y.com"]
    h1 = assign(None, clusters({"email:a@x.com": ids}), NO_EDGES, D1)
    a = key_name("email:a@x.com")
    h2 = assign(h1, clusters({"email:a@x.com": ids[:2], "email:b@y.com": ids[2:]}), NO_EDGES, D2)
    now = current(h2)
    assert now["email:a@x.com"] == now["phone:+1"] == a
    assert now["email:b@y.com"] == key_name("email:b@y.com") != a
    left = h2.filter(pl.col("change") == "split").row(0, named=True)
    assert left["previous_key"] == a and "no longer linked" in left["evidence"]


def test_a_key_is_never_issued_to_another_person():
    ids = ["email:a@x.com", "phone:+1", "fbp:f1"]
    h1 = assign(None, clusters({"email:a@x.com": ids}), NO_EDGES, D1)
    a = key_name("email:a@x.com")
    # The phone and the browser, most of the key's identifiers, keep it; a@x.com, the anchor
    # that named it, parts from them and may not take its own name: someone else holds it.
    h2 = assign(h1, clusters({"email:a@x.com": ids[:1], "phone:+1": ids[1:]}), NO_EDGES, D2)
    now = current(h2)
    assert now["phone:+1"] == now["fbp:f1"] == a
    assert now["email:a@x.com"] == key_name(f"email:a@x.com@{D2.isoformat()}")


def test_a_part_split_off_when_its_merge_is_undone_takes_its_own_key_back():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com", "phone:+1"],
                                "email:b@y.com": ["email:b@y.com"]}), NO_EDGES, D1)
    both = clusters({"email:a@x.com": ["email:a@x.com", "phone:+1", "email:b@y.com"]})
    h2 = assign(h1, both, edges(("email:a@x.com", "email:b@y.com"),
                                evidence="probabilistic match 0.97"), D2)  # fmt: skip
    a, b = key_name("email:a@x.com"), key_name("email:b@y.com")
    assert set(current(h2).values()) == {a}
    # The probabilistic link ends: b is b again, under the key it had (no alias of a's now,
    # see customer_key_aliases), not under a fresh one that nothing held before resolves to.
    h3 = assign(h2, clusters({"email:a@x.com": ["email:a@x.com", "phone:+1"],
                              "email:b@y.com": ["email:b@y.com"]}), NO_EDGES, D3)
    assert current(h3) == {"email:a@x.com": a, "phone:+1": a, "email:b@y.com": b}
    back = h3.filter(pl.col("valid_from") == D3).row(0, named=True)
    assert (back["change"], back["previous_key"]) == ("split", a)
    assert back["evidence"] == f"no longer linked to the records of {a}; its own key again"


def test_an_undone_merge_leaves_the_older_key_with_its_own_person_not_the_larger_part():
    """The merged-in part was the larger: the survivor's key goes with the records it named,
    not with the most identifiers (which would give one person's key to another)."""
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com"],
                                "email:b@y.com": ["email:b@y.com", "phone:+2", "fbp:f"]}),
                NO_EDGES, D1)  # fmt: skip
    a, b = key_name("email:a@x.com"), key_name("email:b@y.com")
    merged = clusters({"email:a@x.com": ["email:a@x.com", "email:b@y.com", "phone:+2", "fbp:f"]})
    h2 = assign(h1, merged, edges(("email:a@x.com", "email:b@y.com")), D2)
    assert set(current(h2).values()) == {a}
    h3 = assign(h2, clusters({"email:a@x.com": ["email:a@x.com"],
                              "email:b@y.com": ["email:b@y.com", "phone:+2", "fbp:f"]}),
                NO_EDGES, D3)  # fmt: skip
    assert current(h3) == {"email:a@x.com": a, "email:b@y.com": b, "phone:+2": b, "fbp:f": b}
    # a@x.com never changed key on D3: only b's part has rows opening then.
    assert sorted(h3.filter(pl.col("valid_from") == D3)["identifier"]) == ["+2", "b@y.com", "f"]


def test_an_identifier_that_belongs_to_nobody_now_ends_its_row():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com", "phone:+1"]}), NO_EDGES, D1)
    shared = clusters({"email:a@x.com": ["email:a@x.com"]}).vstack(
        pl.DataFrame({"identifier_type": ["phone"], "identifier": ["+1"], "anchor": [None]},
                     schema={"identifier_type": pl.String, "identifier": pl.String,
                             "anchor": pl.String}))  # fmt: skip
    h2 = assign(h1, shared, NO_EDGES, D2)
    assert "phone:+1" not in current(h2)
    assert h2.filter(pl.col("identifier") == "+1")["valid_to"].to_list() == [D2]


def test_a_rerun_of_a_day_equals_its_first_run():
    h1 = assign(None, clusters({"email:a@x.com": ["email:a@x.com"],
                                "email:b@y.com": ["email:b@y.com"]}), NO_EDGES, D1)
    both = clusters({"email:a@x.com": ["email:a@x.com", "email:b@y.com"]})
    link = edges(("email:a@x.com", "email:b@y.com"))
    h2 = assign(h1, both, link, D2)
    assert assign(h2, both, link, D2).equals(h2)
    # A rerun of D2 with other input forgets the first D2 run's merge entirely.
    apart = assign(h2, clusters({"email:a@x.com": ["email:a@x.com"],
                                 "email:b@y.com": ["email:b@y.com"]}), NO_EDGES, D2)
    assert apart.equals(h1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), min_size=6, max_size=6), min_size=1, max_size=6))
def test_keys_change_only_by_a_logged_merge_or_split(days):
    """Random daily partitions of six identifiers: every change of an identifier's key is a
    row saying merged or split from the key it had, a retired key comes back only to
    identifiers that held it (a merge undone), never to someone else, and a rerun of a day
    equals its first run."""
    ids = [f"email:p{i}@x.com" for i in range(6)]
    history, retired = None, set()
    holders: dict[str, set[str]] = {}
    held_before: dict[str, set[str]] = {}
    for n, labels in enumerate(days):
        day = D1 + timedelta(days=n)
        groups: dict[str, list[str]] = {}
        for i, label in zip(ids, labels, strict=True):
            groups.setdefault(str(label), []).append(i)
        frame = clusters({members[0]: members for members in groups.values()})
        before = current(history) if history is not None else {}
        history = assign(history, frame, NO_EDGES, day)
        assert assign(history, frame, NO_EDGES, day).equals(history)  # a rerun of the day
        after = current(history)
        assert set(after) == set(ids)
        # One key per cluster, different clusters different keys.
        assert len({after[m[0]] for m in groups.values()}) == len(groups)
        for m in groups.values():
            assert len({after[i] for i in m}) == 1
        for i in ids:
            if i in before and before[i] != after[i]:
                row = history.filter((pl.col("identifier") == i.split(":")[1])
                                     & (pl.col("valid_from") == day)).row(0, named=True)
                assert row["change"] in ("merged", "split") and row["previous_key"] == before[i]
        for i, key in after.items():
            holders.setdefault(key, set()).add(i)
        for key in set(after.values()) & retired:
            back = {i for i, k in after.items() if k == key}
            assert back & held_before[key], f"{key} went to {back}, none of which held it"
        live = set(after.values())
        retired |= set(before.values()) - live
        held_before = {k: set(v) for k, v in holders.items()}


def test_of_keys_issued_on_one_day_the_person_seen_first_survives():
    from datetime import UTC, datetime

    def seen(frame: pl.DataFrame, first: dict[str, int]) -> pl.DataFrame:
        return frame.with_columns(first_seen_at=pl.col("identifier").replace_strict(
            {k: datetime(2026, 1, d, tzinfo=UTC) for k, d in first.items()}))

    # "zz" sorts last but was seen first: a device's visit before the person signed up.
    days = {"a@x.com": 5, "zz": 1}
    h1 = assign(None, seen(clusters({"email:a@x.com": ["email:a@x.com"],
                                     "fbp:zz": ["fbp:zz"]}), days), NO_EDGES, D1)
    h2 = assign(h1, seen(clusters({"fbp:zz": ["email:a@x.com", "fbp:zz"]}), days),
                edges(("email:a@x.com", "fbp:zz")), D2)
    assert set(current(h2).values()) == {key_name("fbp:zz")}


def _changed_run(con, history: pl.DataFrame | None, frame: pl.DataFrame, links: pl.DataFrame,
                 day: date) -> pl.DataFrame:  # fmt: skip
    """assign_changed over `history` kept as a table, as the dbt model runs it."""
    previous = None
    if history is not None:
        con.register("history_frame", history.to_arrow())
        con.execute("create or replace table registry as select * from history_frame")
        previous = "registry"
    con.register("clusters_frame", frame.to_arrow())
    con.register("links_frame", links.to_arrow())
    return assign_changed(con, previous, con.table("clusters_frame"), con.table("links_frame"),
                          day).pl()  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 4), min_size=7, max_size=7), min_size=1, max_size=6),
       st.lists(st.integers(0, 5), max_size=6))  # fmt: skip
def test_deciding_only_the_changed_clusters_equals_deciding_all(days, reruns):
    """Random daily clusters of seven identifiers (-1: the identifier is in no cluster that
    day), some days run twice: deciding only the clusters that are not exactly one key's
    identifiers gives the registry deciding every cluster gives, row for row."""
    import duckdb

    con = duckdb.connect()
    ids = [f"email:p{i}@x.com" for i in range(7)]
    full = changed = None
    runs = [n for n in range(len(days)) for _ in range(2 if n in reruns else 1)]
    for n in runs:
        groups: dict[str, list[str]] = {}
        for i, label in zip(ids, days[n], strict=True):
            if label >= 0:
                groups.setdefault(str(label), []).append(i)
        frame = clusters({members[0]: members for members in groups.values()})
        links = edges(*((m[0], other) for m in groups.values() for other in m[1:]))
        day = D1 + timedelta(days=n)
        full = assign(full, frame, links, day)
        changed = _changed_run(con, changed, frame, links, day)
        assert changed.equals(full)
