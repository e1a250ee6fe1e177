"""Identity resolution: identifiers as nodes, record links as edges, people as components.

Three passes, so that identifiers several people share cannot chain people together:
1. person-level identifiers (emails, customer and CRM ids, orders and their hashes) form
   components over the links among themselves;
2. a shareable identifier (phone, device cookie, Pixel browser id, Meta ad click id, a
   Mailchimp email id from a clicked link, or a role mailbox such as info@) joins the
   components it touches only when they are at most `max_people_per_identifier` people (a
   role mailbox: one, whatever the setting). They are more when, together, they hold more
   personal emails, shop customer ids or CRM ids of a kind than the setting and than any of
   them holds alone (one person's two emails, linked by a record that shows both, are one
   person's), or when they name more people: components whose records' first names have
   none in common are different people (a household's landline is no link between the
   partners who both give it), and so is a first name the identifier's own records give
   that no component it touches carries (colleagues behind one mailbox);
3. components over the kept links are the people. One that still holds more than that (links
   that were each fine alone: more personal identifiers of a kind than any part alone, or
   parts whose first names have none in common), or more than `max_cluster_size`
   identifiers, is split back into its pass-1 parts, and its shareable identifiers stay
   unassigned.

Each cluster is named by its earliest-seen identifier (its anchor), so that the person's
customer_key stays the same from run to run as new identifiers join them.

Every pass looks only inside a connected component of the whole graph (all links, the
shareable identifiers' too), so a run resolves again only the components that changed
(`resolve_changed`): a component whose identifiers and links are what the last run saw keeps
its rows. The dbt Python model int_identity__clusters calls it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)

# The order in which identifiers name a person when they were first seen at the same time.
TYPE_RANK = (
    "shop_customer_id", "hubspot_record_id", "email", "mailchimp_member_id", "order_id",
    "phone", "external_id_sha256", "email_sha256", "phone_sha256", "ga4_user_pseudo_id", "fbp",
    "meta_click_id", "mailchimp_email_id", "facebook_user_id", "instagram_user_id",
)  # fmt: skip


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected component of each of `n` nodes given edges a[i]-b[i]."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


# Identifier types that belong to one person each: two different values mean two people.
PERSONAL_TYPES = ("email", "shop_customer_id", "hubspot_record_id")


def name_groups(pairs: np.ndarray, person: np.ndarray, first_names: pl.Series,
                weak: np.ndarray, n: int, own: bool = False) -> np.ndarray:  # fmt: skip
    """Per node, how many people the components it touches (`pairs`: node, component) name:
    touched components that share a first name are taken for one person, those whose first
    names have none in common for different people; components with no name say nothing.
    With `own`, the first names of a shareable node's own records count too (a mailbox
    whose newsletter signup names someone its shop account does not). Zero for a node that
    touches nothing named."""
    names = (
        pl.DataFrame({"component": person, "name": first_names, "weak": weak})
        .filter(~pl.col("weak")).explode("name").drop_nulls("name")
        .select("component", "name").unique()
    )  # fmt: skip
    touched = pl.DataFrame({"node": pairs[:, 0], "component": pairs[:, 1]},
                           schema={"node": pl.Int64, "component": pl.Int64})  # fmt: skip
    named = touched.join(names, on="component")
    if own:
        # Each of a shareable node's own names stands for someone until a component that
        # carries the name too says it is that component's person.
        mine = (
            pl.DataFrame({"node": np.arange(n), "name": first_names, "weak": weak})
            .filter("weak").explode("name").drop_nulls("name")
            .with_row_index("component").select(
                "node", pl.col("component").cast(pl.Int64) + n, "name")
        )  # fmt: skip
        named = pl.concat([named, mine])
    groups = np.zeros(n, dtype=np.int64)
    if not named.height:
        return groups
    pair_ids = named.select("node", "component").unique().with_row_index("pair")
    named = named.join(pair_ids, on=["node", "component"])
    same = named.join(named, on=["node", "name"], suffix="_other")
    label = components(pair_ids.height, same["pair"].to_numpy().astype(np.int64),
                       same["pair_other"].to_numpy().astype(np.int64))  # fmt: skip
    per_node = (pair_ids.with_columns(group=pl.Series(label[pair_ids["pair"].to_numpy()]))
                .group_by("node").agg(pl.col("group").n_unique()))  # fmt: skip
    groups[per_node["node"].to_numpy()] = per_node["group"].to_numpy()
    return groups


def resolve(
    nodes: pl.DataFrame,
    edges: pl.DataFrame,
    weak_types: list[str],
    max_people: int,
    max_cluster_size: int,
) -> pl.DataFrame:
    """Assign each node of `nodes` (identifier_type, identifier, first_seen_at,
    is_role_mailbox, and optionally first_names: the first names of the records that show
    it) a cluster, from `edges` (identifier_type, identifier, linked_type,
    linked_identifier). Returns the nodes with `cluster` (null when unassigned) and
    `resolution`: linked, shared (touches too many people), or split (in a cluster that had
    to be split back)."""
    nodes = nodes.with_row_index("node").with_columns(
        weak=pl.col("identifier_type").is_in(weak_types) | pl.col("is_role_mailbox"),
        limit=pl.when(pl.col("is_role_mailbox")).then(1).otherwise(max_people),
    )
    index = nodes.select("identifier_type", "identifier", "node")
    e = (
        edges.join(index, on=["identifier_type", "identifier"])
        .rename({"node": "a"})
        .join(index.rename({"identifier_type": "linked_type", "identifier": "linked_identifier"}),
              on=["linked_type", "linked_identifier"])
        .rename({"node": "b"})
        .select(pl.col("a").cast(pl.Int64), pl.col("b").cast(pl.Int64))
    )  # fmt: skip
    n = nodes.height
    weak = nodes["weak"].to_numpy()
    a, b = e["a"].to_numpy(), e["b"].to_numpy()
    strong_edge = ~weak[a] & ~weak[b]
    person = components(n, a[strong_edge], b[strong_edge])
    # Per pass-1 component, how many personal identifiers of each type it holds.
    types = nodes["identifier_type"].to_numpy()
    personal = np.stack(
        [np.bincount(person, weights=(types == t) & ~weak, minlength=n) for t in PERSONAL_TYPES],
        axis=1,
    )

    # Pass 2: what the components each shareable identifier touches would hold together.
    src, dst = np.concatenate([a, b]), np.concatenate([b, a])
    touching = weak[src] & ~weak[dst]
    pairs = np.unique(np.stack([src[touching], person[dst[touching]]], axis=1), axis=0)
    together = np.zeros((n, len(PERSONAL_TYPES)))
    alone = np.zeros((n, len(PERSONAL_TYPES)))
    if len(pairs):
        np.add.at(together, pairs[:, 0], personal[pairs[:, 1]])
        np.maximum.at(alone, pairs[:, 0], personal[pairs[:, 1]])
    limit = nodes["limit"].to_numpy()
    first_names = (nodes["first_names"] if "first_names" in nodes.columns
                   else pl.Series([None] * n, dtype=pl.List(pl.String)))  # fmt: skip
    named = name_groups(pairs.reshape(-1, 2), person, first_names, weak, n, own=True)
    shared = weak & (
        (together > np.maximum(alone, limit[:, None])).any(axis=1) | (named > limit)
    )
    kept = ~shared[a] & ~shared[b]
    cluster = components(n, a[kept], b[kept])

    # Pass 3: a cluster too big, or holding too many people, falls back to its parts.
    sizes = np.bincount(cluster, minlength=n)
    parts = np.zeros((n, len(PERSONAL_TYPES)))
    first_of_part = np.unique(person, return_index=True)[1]
    np.add.at(parts, cluster[first_of_part], personal[person[first_of_part]])
    within = np.zeros((n, len(PERSONAL_TYPES)))
    np.maximum.at(within, cluster[first_of_part], personal[person[first_of_part]])
    crowded = (parts > np.maximum(within, max_people)).any(axis=1)
    # Or its parts name more people than that (a chain of shareable identifiers, each fine
    # alone, that joined a shop account and another person's CRM contact).
    cluster_parts = np.unique(np.stack([cluster, person], axis=1), axis=0)
    crowded |= name_groups(cluster_parts, person, first_names, weak, n) > max_people
    bad = (sizes > max_cluster_size) | crowded
    for c in np.flatnonzero(bad & (sizes > 0)):
        log.warning("identity: a cluster of %d identifiers was split back into its parts", sizes[c])
    oversized = bad[cluster]
    split = oversized & weak
    # Person-level parts keep their pass-1 component, numbered apart from the others.
    cluster = np.where(oversized, person + n, cluster)

    return nodes.select("identifier_type", "identifier", "first_seen_at").with_columns(
        cluster=pl.Series(cluster).scatter(np.flatnonzero(shared | split), None),
        resolution=pl.Series(
            np.where(shared, "shared", np.where(split, "split", "linked")), dtype=pl.String
        ),
    )


def anchors(resolved: pl.DataFrame) -> pl.DataFrame:
    """Each node's cluster anchor: the cluster's earliest-seen identifier (`type:value`), by
    which its customer_key is named; null for unassigned nodes."""
    rank = {t: i for i, t in enumerate(TYPE_RANK)}
    first = (
        resolved.filter(pl.col("cluster").is_not_null())
        .with_columns(rank=pl.col("identifier_type").replace_strict(rank, default=len(rank)))
        .sort(["cluster", "first_seen_at", "rank", "identifier"], nulls_last=True)
        .group_by("cluster", maintain_order=True)
        .first()
        .select("cluster", anchor=pl.col("identifier_type") + ":" + pl.col("identifier"))
    )
    return resolved.join(first, on="cluster", how="left").drop("cluster")




# What a run keeps of each identifier beside its resolution: the component of the whole graph
# it was in, that component's fingerprint (the sum of its identifiers' and links' hashes) and the
# rules it was resolved by.
OUTPUT_COLUMNS = ("identifier_type", "identifier", "first_seen_at", "resolution", "anchor",
                  "graph_component", "graph_fingerprint", "resolved_by")  # fmt: skip

# A node's hash covers everything `resolve` reads of it, so a changed name or role mailbox
# changes its component's fingerprint as a new or dropped link does.
def _node_hash(t: str) -> str:
    return (f"hash({t}.identifier_type, {t}.identifier, {t}.first_seen_at, {t}.first_names, "
            f"{t}.is_role_mailbox)")


def _link_hash(t: str) -> str:
    return f"hash({t}.identifier_type, {t}.identifier, {t}.linked_type, {t}.linked_identifier)"


def rules_fingerprint(weak_types: list[str], max_people: int, max_cluster_size: int) -> str:
    """What the resolution depends on besides the graph: this module's code and the settings.
    A run whose rules differ from the last one's resolves every component again."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(json.dumps([sorted(weak_types), max_people, max_cluster_size]).encode())
    return digest.hexdigest()[:16]


def _graph_components(nodes: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Each node's component over all `edges`, named by its smallest `type:value`."""
    index = nodes.select("identifier_type", "identifier").with_row_index("node")
    e = (
        edges.join(index, on=["identifier_type", "identifier"]).rename({"node": "a"})
        .join(index.rename({"identifier_type": "linked_type", "identifier": "linked_identifier"}),
              on=["linked_type", "linked_identifier"])
        .rename({"node": "b"})
    )  # fmt: skip
    label = components(index.height, e["a"].to_numpy().astype(np.int64),
                       e["b"].to_numpy().astype(np.int64))  # fmt: skip
    return (index.with_columns(label=pl.Series(label, dtype=pl.Int64),
                               name=pl.col("identifier_type") + ":" + pl.col("identifier"))
            .with_columns(graph_component=pl.col("name").min().over("label"))
            .select("identifier_type", "identifier", "graph_component"))  # fmt: skip


def _changed(session: duckdb.DuckDBPyConnection, previous: str) -> pl.DataFrame:
    """The identifiers to resolve again: new ones, and those of every earlier component whose
    fingerprint is not what it was. A link now joining two earlier components, or a new
    identifier to one, counts in each component it touches, so the set is closed: no link
    leads from it to a component that keeps its rows."""
    return session.sql(f"""
        with nodes as (
            select n.identifier_type, n.identifier, {_node_hash("n")} as h
            from identity_nodes_now as n
        ),
        placed as (
            select nodes.*, before.graph_component as c
            from nodes left join {previous} as before using (identifier_type, identifier)
        ),
        links as (
            select {_link_hash("l")} as h,
                a.c as ca, b.c as cb
            from identity_links_now as l
            inner join placed as a
                on a.identifier_type = l.identifier_type and a.identifier = l.identifier
            inner join placed as b
                on b.identifier_type = l.linked_type and b.identifier = l.linked_identifier
        ),
        now as (
            select c, sum(h::hugeint) as fingerprint from (
                select c, h from placed where c is not null
                union all select ca, h from links where ca is not null
                union all select cb, h from links where cb is not null and ca is distinct from cb
            ) group by c
        ),
        stored as (
            select distinct graph_component as c, graph_fingerprint as fingerprint
            from {previous}
        ),
        changed as (
            select c from stored left join now using (c)
            where now.fingerprint is distinct from stored.fingerprint
        )
        select identifier_type, identifier from placed
        where c is null or c in (select c from changed)
    """).pl()  # fmt: skip


def resolve_changed(
    session: duckdb.DuckDBPyConnection,
    nodes: duckdb.DuckDBPyRelation,
    links: duckdb.DuckDBPyRelation,
    previous: str | None,
    weak_types: list[str],
    max_people: int,
    max_cluster_size: int,
) -> duckdb.DuckDBPyRelation:
    """Today's clusters (OUTPUT_COLUMNS, one row per node), resolving only the components of
    the whole graph that changed since `previous` (the table the last run wrote, or None):
    the rest keep their rows, which a resolution from scratch would give again since every
    pass stays inside a component. `nodes`: int_identity__nodes; `links`:
    int_identity__links."""
    rules = rules_fingerprint(weak_types, max_people, max_cluster_size)
    session.register("identity_nodes_now", nodes)
    session.register("identity_links_now", links)
    if previous is not None and session.sql(
            f"select count(*) from {previous} where resolved_by != ?", params=[rules]
    ).fetchall()[0][0]:
        previous = None  # resolved by other rules: all of it again
    if previous is None:
        todo = session.sql("select identifier_type, identifier from identity_nodes_now").pl()
    else:
        todo = _changed(session, previous)
    session.register("identity_todo", todo.to_arrow())
    # `.pl()`, not `pl.from_arrow(.arrow())`: DuckDB's Arrow reader of an empty relation has
    # no batch to give its schema, and a shop whose only source is its ads has no identifiers.
    todo_nodes = session.sql(
        "select * from identity_nodes_now semi join identity_todo "
        "using (identifier_type, identifier)").pl()  # fmt: skip
    todo_links = session.sql(
        "select identifier_type, identifier, linked_type, linked_identifier "
        "from identity_links_now semi join identity_todo using (identifier_type, identifier)"
    ).pl()  # fmt: skip
    log.info("identity: %d of %d identifiers are in changed components, resolved again",
             todo_nodes.height, session.sql("select count(*) from identity_nodes_now")
             .fetchall()[0][0])  # fmt: skip
    fresh = anchors(resolve(todo_nodes, todo_links, weak_types, max_people, max_cluster_size))
    fresh = fresh.join(_graph_components(todo_nodes, todo_links),
                       on=["identifier_type", "identifier"])  # fmt: skip
    session.register("identity_fresh", fresh.to_arrow())
    # Named, not `before.*`: the kept rows must line up with the fresh ones column by column.
    kept = "" if previous is None else f"""
        union all
        select {", ".join(OUTPUT_COLUMNS)} from {previous} as before
        semi join identity_nodes_now using (identifier_type, identifier)
        anti join identity_todo using (identifier_type, identifier)"""
    return session.sql(f"""
        with node_hashes as (
            select fresh.graph_component, {_node_hash("n")} as h
            from identity_nodes_now as n
            inner join identity_fresh as fresh using (identifier_type, identifier)
        ),
        link_hashes as (
            select fresh.graph_component, {_link_hash("l")} as h
            from identity_links_now as l
            inner join identity_fresh as fresh using (identifier_type, identifier)
            semi join identity_todo as other
                on other.identifier_type = l.linked_type
                and other.identifier = l.linked_identifier
        ),
        fingerprints as (
            select graph_component, sum(h::hugeint) as graph_fingerprint
            from (select * from node_hashes union all select * from link_hashes)
            group by graph_component
        )
        select fresh.identifier_type, fresh.identifier, fresh.first_seen_at, fresh.resolution,
            fresh.anchor, fresh.graph_component, fingerprints.graph_fingerprint,
            '{rules}' as resolved_by
        from identity_fresh as fresh
        inner join fingerprints using (graph_component)
        {kept}
        order by identifier_type, identifier
    """)  # fmt: skip
