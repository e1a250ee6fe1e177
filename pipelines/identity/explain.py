"""`marketing identity explain <email|key>`: why records were joined into one person.

It reads the work file's identity tables: the person's identifiers and the records that show
them (int_identity__identifiers, int_identity__records), the probabilistic matches between them
(int_identity__fuzzy_links), what left them out (identifiers shared by
several people) and the person's history (audit.identity_changes), following a merged key to the
person it belongs to now (marts.customer_key_aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

KEY = re.compile(r"^[0-9a-f]{16}$")
# How many records and identifiers of one kind the explanation lists; the rest are counted.
MAX_RECORDS = 25
MAX_PER_TYPE = 8


CHANGES = {"new": "first seen as a person", "merged": "merged", "split": "split",
           "left": "left"}


class ExplainError(LookupError):
    """Nothing is known by that email or key."""


@dataclass
class Explanation:
    query: str
    customer_key: str
    notes: list[str] = field(default_factory=list)
    identifiers: list[tuple[str, int, list[str]]] = field(default_factory=list)
    records: list[tuple[str, str, list[str]]] = field(default_factory=list)
    more_records: int = 0
    left_out: list[tuple[str, str]] = field(default_factory=list)
    matches: list[tuple[str, str, str]] = field(default_factory=list)
    history: list[tuple[str, str, str, str]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"customer_key {self.customer_key} (looked up by {self.query})", *self.notes, ""]
        lines.append("identifiers:")
        for kind, count, sample in self.identifiers:
            more = f" and {count - len(sample)} more" if count > len(sample) else ""
            lines.append(f"  {kind} ({count}): {', '.join(sample)}{more}")
        lines += ["", "records that join them (each record's identifiers are one person's):"]
        for source, seen, ids in self.records:
            lines.append(f"  {source}, first seen {seen}: {', '.join(ids)}")
        if self.more_records:
            lines.append(f"  and {self.more_records} more records")
        if self.matches:
            lines += ["", "records joined by probabilistic matching (no identifier in common):"]
            lines += [f"  {left} ~ {right}: {why}" for left, right, why in self.matches]
        if self.left_out:
            lines += ["", "on their records but not used to link them:"]
            lines += [f"  {ident}: {why}" for ident, why in self.left_out]
        lines += ["", "history:"]
        lines += [f"  {day} {change}{' from ' + prev if prev else ''}: {why or CHANGES[change]}"
                  for day, change, prev, why in self.history] or ["  (none logged)"]  # fmt: skip
        return "\n".join(lines)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> tuple | None:
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def resolve(con: duckdb.DuckDBPyConnection, query: str) -> tuple[str, list[str]]:
    """The live customer_key for an email, any identifier or a key (live or merged), and notes
    on how it was found. ExplainError when nothing matches, or the identifier has no person."""
    text = query.strip()
    if KEY.match(text.lower()):
        key = text.lower()
        if _one(con, "select 1 from intermediate.int_identity__keys where customer_key = ? "
                     "and valid_to is null limit 1", [key]):  # fmt: skip
            return key, []
        alias = _one(con, "select customer_key, merged_on, hops from "
                          "marts.customer_key_aliases where alias_key = ?", [key])  # fmt: skip
        if alias:
            live, day, hops = alias
            via = f" through {hops} merges" if hops > 1 else ""
            return live, [f"{key} was merged into {live} on {day}{via}; it is an alias now"]
        if _one(con, "select 1 from intermediate.int_identity__keys where customer_key = ? "
                     "limit 1", [key]):  # fmt: skip
            raise ExplainError(f"{key} is retired: its identifiers belong to nobody now "
                               "(see audit.identity_changes)")
    row = _one(con, "select customer_key, resolution, identifier_type from "
                    "intermediate.int_identity__identifiers where identifier = ? "
                    "order by identifier_type limit 1", [text.lower()])  # fmt: skip
    if row is None:
        row = _one(con, "select customer_key, resolution, identifier_type from "
                        "intermediate.int_identity__identifiers where identifier = ? "
                        "order by identifier_type limit 1", [text])  # fmt: skip
    if row is None:
        raise ExplainError(f"no customer key, email or identifier {query!r} is known")
    key, resolution, kind = row
    if key is None:
        raise ExplainError(f"{kind} {query!r} belongs to nobody: "
                           f"{'it is shared by several people' if resolution == 'shared' else 'its cluster was split back into its parts'}")  # noqa: E501
    return key, [f"{kind} {query} belongs to {key}"]


def explain(con: duckdb.DuckDBPyConnection, query: str) -> Explanation:
    """Why the records of the person `query` names were joined (see the module doc)."""
    key, notes = resolve(con, query)
    out = Explanation(query=query, customer_key=key, notes=notes)
    ids = con.execute(
        "select identifier_type, identifier, first_seen_at from "
        "intermediate.int_identity__identifiers where customer_key = ? "
        "order by identifier_type, first_seen_at, identifier", [key]).fetchall()
    by_type: dict[str, list[str]] = {}
    for kind, value, _ in ids:
        by_type.setdefault(kind, []).append(value)
    out.identifiers = [(k, len(v), v[:MAX_PER_TYPE]) for k, v in by_type.items()]
    records = con.execute(
        """
        with mine as (
            select identifier_type, identifier from intermediate.int_identity__identifiers
            where customer_key = $1
        ),
        theirs as (
            select distinct record_key from intermediate.int_identity__records
            join mine using (identifier_type, identifier)
        )
        select record_key, min(seen_at)::date::varchar as seen,
            list(distinct identifier_type || ':' || identifier
                 order by identifier_type || ':' || identifier) as ids
        from intermediate.int_identity__records
        where record_key in (select record_key from theirs)
        group by record_key
        order by seen, record_key
        """, [key]).fetchall()
    out.records = [(r, s, i) for r, s, i in records[:MAX_RECORDS]]
    out.more_records = max(0, len(records) - MAX_RECORDS)
    out.left_out = con.execute(
        """
        select distinct ids.identifier_type || ':' || ids.identifier,
            case ids.resolution when 'shared' then 'shared by several people'
                else 'in a cluster split back into its parts' end
        from intermediate.int_identity__records as records
        join intermediate.int_identity__identifiers as ids using (identifier_type, identifier)
        where ids.customer_key is null and records.record_key in (
            select record_key from intermediate.int_identity__records
            join intermediate.int_identity__identifiers using (identifier_type, identifier)
            where customer_key = $1)
        order by 1
        """, [key]).fetchall()
    out.matches = [
        (left, right, f"p={p:.3f}, {why}")
        for left, right, p, why in con.execute(
            """
            select record_key_l, record_key_r, match_probability, evidence
            from intermediate.int_identity__fuzzy_links
            where ended_on is null and (record_key_l in $1 or record_key_r in $1)
            order by record_key_l, record_key_r
            """, [[r for r, _, _ in records]]).fetchall()
    ]
    out.history = [
        (str(day), change, prev or "", why or "")
        for day, change, prev, why in con.execute(
            """
            select changed_on, change, previous_key, evidence from audit.identity_changes
            where customer_key = $1 or previous_key = $1
                or previous_key in (select alias_key from marts.customer_key_aliases
                                    where customer_key = $1)
            order by changed_on, change, previous_key
            """, [key]).fetchall()
    ]
    return out
