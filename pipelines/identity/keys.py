"""The key registry: each person's customer_key stays the same while their cluster changes.

Identity resolution finds the people afresh on every run (int_identity__clusters). The registry
remembers which key each identifier had, one row per identifier and stretch of time (valid_from,
valid_to: null while current), and gives today's clusters keys from it:
- a cluster that holds most of one earlier key's identifiers keeps that key (it grew or shrank);
  most of its own ones first, those it had before any merge carried others into it, so when a
  merge is undone each part's key stays with the part it named;
- a cluster that holds most of several earlier keys' identifiers is a merge: the key issued
  first survives and the others retire, each an alias of the survivor;
- a cluster that holds no earlier key's majority takes back the key a merge retired if it holds
  most of that key's own identifiers (the merge was undone: a probabilistic link ended, say),
  which is no alias then; else it gets a new key, named by its anchor (its earliest-seen
  identifier), so a shop built afresh gets the keys it had; a name ever issued before is never
  reissued to someone else (it would resolve two people to one);
- identifiers that left their key's cluster (a split) take the key of where they went.
Every identifier that changes key gets a row saying how (`change`) and what joined or parted
them (`evidence`), which audit.identity_changes and marts.customer_key_aliases read.

A run for day D first forgets whatever an earlier run for D or later wrote (rows from D on,
and the ends of rows set from D on), so a rerun of a day equals its first run.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

KEYS = ["identifier_type", "identifier"]
HISTORY_SCHEMA = {
    "identifier_type": pl.String,
    "identifier": pl.String,
    "customer_key": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "change": pl.String,  # new, joined, merged, split
    "previous_key": pl.String,
    "evidence": pl.String,
}
# How many links of a chain the evidence of one merge names; the rest are counted.
MAX_EVIDENCE_LINKS = 5


def key_name(anchor: str) -> str:
    """The key a new person gets: the first 16 hex digits of the SHA-256 of their anchor
    (`type:value`). The key registry is the one place keys are named."""
    return hashlib.sha256(anchor.encode()).hexdigest()[:16]


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)


def rolled_back(history: pl.DataFrame, day: date) -> pl.DataFrame:
    """The registry as it stood before any run for `day` or later."""
    return history.filter(pl.col("valid_from") < day).with_columns(
        valid_to=pl.when(pl.col("valid_to") < day).then("valid_to")
    )


def _own_keys(past: pl.DataFrame) -> pl.DataFrame:
    """Per identifier with an open row, its own key: the one it had before the merges that
    carried it to its current key (the key of its latest row that no merge opened), which is
    its current key if it was never merged."""
    open_now = past.filter(pl.col("valid_to").is_null()).select(KEYS)
    return (
        past.join(open_now, on=KEYS, how="semi")
        .filter(pl.col("change") != "merged")
        .group_by(KEYS).agg(own_key=pl.col("customer_key").sort_by("valid_from").last())
    )  # fmt: skip


def _owners(joined: pl.DataFrame) -> pl.DataFrame:
    """Per earlier key, the cluster holding most of its own identifiers, then most of all its
    identifiers (ties: the cluster whose anchor sorts first, so that the choice is the same on
    every run). Without a merge an identifier's own key is its key, and this is the cluster
    holding most of its identifiers."""
    return (
        joined.filter(pl.col("previous_key").is_not_null())
        .group_by("previous_key", "cluster")
        .agg(pl.len(), own=(pl.col("own_key") == pl.col("previous_key")).sum())
        .sort(["previous_key", "own", "len", "cluster"], descending=[False, True, True, False])
        .group_by("previous_key", maintain_order=True).first()
        .select("previous_key", "cluster")
    )  # fmt: skip


def _taken_back(joined: pl.DataFrame, fresh: pl.DataFrame, born: pl.DataFrame,
                live: pl.Series) -> pl.DataFrame:  # fmt: skip
    """The clusters of `fresh` (carrying on no earlier key) that take back a key a merge
    retired: per retired key, the fresh cluster holding most of its own identifiers; per
    cluster, of the keys it holds most of, the one with the most, then issued first."""
    return (
        joined.join(fresh, on="cluster", how="semi")
        .filter(pl.col("own_key").is_not_null() & ~pl.col("own_key").is_in(live.implode()))
        .group_by("own_key", "cluster").len()
        .sort(["own_key", "len", "cluster"], descending=[False, True, False])
        .group_by("own_key", maintain_order=True).first()
        .join(born, left_on="own_key", right_on="customer_key", how="left")
        .sort(["cluster", "len", "born", "own_key"], descending=[False, True, False, False])
        .group_by("cluster", maintain_order=True).first()
        .select("cluster", customer_key="own_key")
    )  # fmt: skip


def _link_text(edge: dict) -> str:
    how = edge.get("evidence") or "shown together on one record"
    return (f"{edge['identifier_type']}:{edge['identifier']} ~ "
            f"{edge['linked_type']}:{edge['linked_identifier']} ({how})")  # fmt: skip


def _chain(edges: list[dict], start: set[tuple[str, str]], goal: set[tuple[str, str]]) -> str:
    """The shortest chain of links from an identifier of `start` to one of `goal`, as text:
    what joined two people's records into one."""
    adjacent: dict[tuple[str, str], list[tuple[tuple[str, str], dict]]] = {}
    for edge in edges:
        a = (edge["identifier_type"], edge["identifier"])
        b = (edge["linked_type"], edge["linked_identifier"])
        adjacent.setdefault(a, []).append((b, edge))
        adjacent.setdefault(b, []).append((a, edge))
    came: dict[tuple[str, str], tuple[tuple[str, str], dict] | None] = {s: None for s in start}
    queue = deque(sorted(start))
    while queue:
        node = queue.popleft()
        if node in goal:
            path = []
            while came[node] is not None:
                node, edge = came[node]
                path.append(edge)
            links = [_link_text(e) for e in reversed(path)]
            more = len(links) - MAX_EVIDENCE_LINKS
            tail = f"; and {more} more" if more > 0 else ""
            return "; ".join(links[:MAX_EVIDENCE_LINKS]) + tail
        for other, edge in sorted(adjacent.get(node, []), key=lambda x: x[0]):
            if other not in came:
                came[other] = (node, edge)
                queue.append(other)
    return "no chain of links found"


def _merge_evidence(joined: pl.DataFrame, edges: pl.DataFrame, merges: pl.DataFrame) -> dict:
    """Per merged key, the chain of links from the survivor's identifiers to its own."""
    if not merges.height:
        return {}
    clusters = merges["cluster"].unique()
    members = joined.filter(pl.col("cluster").is_in(clusters.implode()))
    ids = members.select(*KEYS, "cluster")
    inside = (
        edges.join(ids, on=KEYS)
        .join(ids.rename({"identifier_type": "linked_type", "identifier": "linked_identifier",
                          "cluster": "other_cluster"}), on=["linked_type", "linked_identifier"])
        .filter(pl.col("cluster") == pl.col("other_cluster"))
    )  # fmt: skip
    out = {}
    for cluster, survivor, merged in merges.select("cluster", "customer_key",
                                                   "previous_key").iter_rows():  # fmt: skip
        mine = members.filter(pl.col("cluster") == cluster)

        def held(key: str, mine: pl.DataFrame = mine) -> set[tuple[str, str]]:
            rows = mine.filter(pl.col("previous_key") == key).select(KEYS).iter_rows()
            return set(rows)

        links = inside.filter(pl.col("cluster") == cluster).to_dicts()
        out[merged] = _chain(links, held(survivor), held(merged))
    return out


@dataclass(frozen=True)
class Registry:
    """What the whole registry (rolled back to before the day) says that a run over a part of
    it must know: when each key was issued, every name ever issued, and the keys open now."""

    born: pl.DataFrame  # customer_key, born
    issued: set[str]
    live: pl.Series


def assign(history: pl.DataFrame | None, clusters: pl.DataFrame, edges: pl.DataFrame,
           day: date, registry: Registry | None = None) -> pl.DataFrame:  # fmt: skip
    """The registry after the run for `day`.

    `clusters`: identifier_type, identifier, anchor (`type:value`, null for an identifier no
    person holds) and optionally first_seen_at. `edges`: identifier_type, identifier, linked_type,
    linked_identifier and optionally `evidence` (why they are linked; empty for two
    identifiers shown on one record). Returns the whole history (HISTORY_SCHEMA). With
    `registry`, `history` and `clusters` are a part of the whole (`assign_changed`): the
    identifiers of some clusters and of every key they hold."""
    past = rolled_back(history if history is not None else empty_history(), day)
    if "evidence" not in edges.columns:
        edges = edges.with_columns(evidence=pl.lit(None, dtype=pl.String))
    edges = edges.select(pl.col(*KEYS, "linked_type", "linked_identifier", "evidence")
                         .cast(pl.String))  # fmt: skip
    current = (past.filter(pl.col("valid_to").is_null())
               .select(*KEYS, previous_key="customer_key")
               .join(_own_keys(past), on=KEYS, how="left"))  # fmt: skip
    if "first_seen_at" not in clusters.columns:
        clusters = clusters.with_columns(first_seen_at=pl.lit(None, dtype=pl.Datetime("us", "UTC")))
    today = clusters.filter(pl.col("anchor").is_not_null()).select(
        *KEYS, "first_seen_at", cluster="anchor")
    joined = today.join(current, on=KEYS, how="left")

    # Which earlier keys each cluster carries on, and of those the one issued first survives;
    # of keys issued on one day, the one holding the cluster's anchor (its earliest-seen
    # identifier), then the one whose person was seen first: the key a build from scratch
    # would name the cluster by, so a day rebuilt from scratch (an earlier day run again)
    # gives the keys the day-by-day runs gave.
    born = (registry.born if registry is not None else
            past.group_by("customer_key").agg(pl.col("valid_from").min().alias("born")))
    seen = joined.group_by("previous_key").agg(
        pl.col("first_seen_at").min().alias("seen"),
        (pl.col("identifier_type") + ":" + pl.col("identifier") == pl.col("cluster"))
        .any().alias("holds_anchor"))  # fmt: skip
    owned = (_owners(joined)
             .join(born, left_on="previous_key", right_on="customer_key", how="left")
             .join(seen, on="previous_key", how="left"))  # fmt: skip
    survivors = (
        owned.sort(["cluster", "born", "holds_anchor", "seen", "previous_key"],
                   descending=[False, False, True, False, False], nulls_last=True)
        .group_by("cluster", maintain_order=True).first()
        .select("cluster", customer_key="previous_key")
    )  # fmt: skip
    merges = owned.join(survivors, on="cluster").filter(
        pl.col("previous_key") != pl.col("customer_key"))

    # Clusters that carry no earlier key are a part taking back its own key from an undone
    # merge, or new people.
    issued = (set(registry.issued) if registry is not None
              else set(past["customer_key"].unique().to_list()))
    fresh = (today.select("cluster").unique()
             .join(survivors, on="cluster", how="anti").sort("cluster"))  # fmt: skip
    live = registry.live if registry is not None else current["previous_key"].unique()
    taken_back = _taken_back(joined, fresh, born, live)
    fresh = fresh.join(taken_back, on="cluster", how="anti")
    names = []
    for anchor in fresh["cluster"].to_list():
        name = key_name(anchor)
        if name in issued:  # an earlier person's name: salted with the day, never reused
            name = key_name(f"{anchor}@{day.isoformat()}")
        issued.add(name)
        names.append(name)
    keys = pl.concat([survivors, taken_back,
                      fresh.with_columns(customer_key=pl.Series(names, dtype=pl.String))])

    joined = joined.join(keys, on="cluster")
    merges = merges.join(survivors, on="cluster").select("cluster", "customer_key", "previous_key")
    evidence = pl.DataFrame(
        list(_merge_evidence(joined, edges, merges).items()), orient="row",
        schema={"previous_key": pl.String, "merge_evidence": pl.String},
    )  # fmt: skip
    owner = owned.select("previous_key", owner="cluster")
    opened = (
        joined.filter(pl.col("previous_key").is_null()
                      | (pl.col("previous_key") != pl.col("customer_key")))
        .join(owner, on="previous_key", how="left")
        .join(evidence, on="previous_key", how="left")
        .with_columns(
            change=pl.when(pl.col("previous_key").is_null() & pl.col("customer_key").is_in(names))
            .then(pl.lit("new"))
            .when(pl.col("previous_key").is_null()).then(pl.lit("joined"))
            .when(pl.col("owner") == pl.col("cluster")).then(pl.lit("merged"))
            .otherwise(pl.lit("split")),
        )
        .with_columns(
            evidence=pl.when(pl.col("change") == "merged").then("merge_evidence")
            .when(pl.col("change") == "split")
            .then(pl.format("no longer linked to the records of {}{}", "previous_key",
                            pl.when(pl.col("customer_key").is_in(taken_back["customer_key"]
                                                                 .implode()))
                            .then(pl.lit("; its own key again")).otherwise(pl.lit("")))),
            valid_from=pl.lit(day), valid_to=pl.lit(None, dtype=pl.Date),
        )
    )  # fmt: skip

    # Rows end where the identifier took another key or belongs to nobody now.
    stays = joined.filter(pl.col("previous_key") == pl.col("customer_key")).select(KEYS)
    open_past = past.filter(pl.col("valid_to").is_null())
    closing = open_past.join(stays, on=KEYS, how="anti").with_columns(valid_to=pl.lit(day))
    kept = pl.concat([
        past.filter(pl.col("valid_to").is_not_null()),
        open_past.join(stays, on=KEYS, how="semi"),
        closing,
    ])  # fmt: skip
    return (pl.concat([kept.select(HISTORY_SCHEMA.keys()), opened.select(HISTORY_SCHEMA.keys())],
                      how="vertical_relaxed")
            .cast(HISTORY_SCHEMA).sort([*KEYS, "valid_from"]))  # fmt: skip


def _rolled_back_sql(table: str, day: date) -> str:
    """`rolled_back` in SQL, over a registry table."""
    return (f"select * replace (case when valid_to < date '{day}' then valid_to end as valid_to)"
            f" from {table} where valid_from < date '{day}'")


def assign_changed(session: duckdb.DuckDBPyConnection, previous: str | None,
                   clusters: duckdb.DuckDBPyRelation, edges: duckdb.DuckDBPyRelation,
                   day: date) -> duckdb.DuckDBPyRelation:  # fmt: skip
    """`assign` over the registry table `previous` (None: none yet), deciding only the
    clusters whose identifiers are not exactly one key's open identifiers, with every key they
    hold: a cluster that is, and its key, `assign` leaves as they are. Returns the whole
    registry as a relation, in `assign`'s order."""
    session.register("identity_clusters_now", clusters)
    session.register("identity_edges_now", edges)
    columns = ", ".join(HISTORY_SCHEMA)
    if previous is None:
        session.register("identity_past", pl.DataFrame(schema=HISTORY_SCHEMA).to_arrow())
    else:
        session.register("identity_past", session.sql(_rolled_back_sql(previous, day)))
    scope = session.sql("""
        with today as (
            select identifier_type, identifier, anchor from identity_clusters_now
            where anchor is not null
        ),
        open_now as (
            select identifier_type, identifier, customer_key from identity_past
            where valid_to is null
        ),
        joined as (
            select * from today full join open_now using (identifier_type, identifier)
        ),
        loose_anchors as (
            select anchor from joined where anchor is not null group by anchor
            having count(distinct customer_key) != 1 or count(*) > count(customer_key)
        ),
        loose_keys as (
            select customer_key from joined where customer_key is not null group by customer_key
            having count(distinct anchor) != 1 or count(*) > count(anchor)
        ),
        -- A cluster whose one key is loose (it has identifiers elsewhere) is loose too.
        loose as (
            select anchor from loose_anchors
            union
            select distinct joined.anchor from joined
            inner join loose_keys using (customer_key) where joined.anchor is not null
        )
        select distinct identifier_type, identifier from joined
        where anchor in (select anchor from loose)
            or customer_key in (select customer_key from loose_keys)
    """).pl()  # fmt: skip
    session.register("identity_scope", scope.to_arrow())

    def part(relation: str) -> pl.DataFrame:
        return session.sql(f"select * from {relation} semi join identity_scope "
                           "using (identifier_type, identifier)").pl()  # fmt: skip

    registry = Registry(
        born=session.sql("select customer_key, min(valid_from) as born from identity_past "
                         "group by customer_key").pl(),
        issued=set(session.sql("select distinct customer_key from identity_past")
                   .pl()["customer_key"].to_list()),
        live=session.sql("select distinct customer_key as previous_key from identity_past "
                         "where valid_to is null").pl()["previous_key"],
    )  # fmt: skip
    history = part("identity_past").cast(HISTORY_SCHEMA)
    changed = assign(history, part("identity_clusters_now"), part("identity_edges_now"), day,
                     registry)  # fmt: skip
    session.register("identity_assigned", changed.to_arrow())
    return session.sql(f"""
        select {columns} from identity_past anti join identity_scope
            using (identifier_type, identifier)
        union all
        select {columns} from identity_assigned
        order by identifier_type, identifier, valid_from
    """)  # fmt: skip
