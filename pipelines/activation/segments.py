"""Segments defined as data in a YAML file, validated on load with errors that say where."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

OPS: dict[str, Callable[[pl.Expr, object], pl.Expr]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda col, value: col.is_in(value),  # type: ignore[arg-type]
}
PLATFORMS = ("mailchimp", "meta", "google", "crm")
DEFAULT_PLATFORMS = ("mailchimp",)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
KEYS = frozenset({"name", "description", "rules", "platforms", "split_by", "crm"})
CRM_KEYS = frozenset({"score", "reasons"})


class SegmentFileError(ValueError):
    """The segments file is malformed; the message names the file, the segment and the field."""


@dataclass(frozen=True)
class Rule:
    column: str
    op: str
    value: object

    def expr(self) -> pl.Expr:
        return OPS[self.op](pl.col(self.column), self.value)


@dataclass(frozen=True)
class CrmFields:
    """Which audience columns the CRM file carries as the score and its top reasons."""

    score: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    rules: tuple[Rule, ...]
    platforms: tuple[str, ...]
    split_by: str | None = None
    crm: CrmFields | None = None

    def select(self, audience: pl.DataFrame) -> pl.DataFrame:
        """The customers of `audience` in this segment (before any split)."""
        condition = pl.lit(True)
        for rule in self.rules:
            condition = condition & rule.expr().fill_null(False)
        return audience.filter(condition)

    def expand(self, audience: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
        """The segment's members by exported segment name: one `(name, members)` for a plain
        segment; with `split_by`, one per value of that column, named `<name>__<value>` (the
        value in snake_case), in name order. People with no value are in no split."""
        members = self.select(audience)
        if self.split_by is None:
            return [(self.name, members)]
        values = members.get_column(self.split_by).drop_nulls().unique().sort().to_list()
        named: dict[str, object] = {}
        for value in values:
            name = f"{self.name}__{slug(value)}"
            if name in named:
                raise SegmentFileError(
                    f"segment {self.name!r}: split_by {self.split_by!r} values {named[name]!r} "
                    f"and {value!r} both make the segment name {name!r}; rename one"
                )
            named[name] = value
        return [
            (name, members.filter(pl.col(self.split_by) == value))
            for name, value in sorted(named.items())
        ]


def slug(value: object) -> str:
    """A column value as a snake_case name part (`Loyal Regulars` -> `loyal_regulars`)."""
    text = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")
    return text or "blank"


def load_segments(path: Path, columns: list[str] | None = None) -> list[Segment]:
    """Read and check the segments file; `columns`, when given, are the audience's columns."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SegmentFileError(f"{path}: cannot read segments: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise SegmentFileError(f"{path}: expected a top-level 'segments:' list")
    segments, seen = [], set()
    for i, raw in enumerate(data["segments"]):
        where = f"{path}: segment #{i + 1}"
        if not isinstance(raw, dict):
            raise SegmentFileError(f"{where}: expected a mapping")
        name = raw.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise SegmentFileError(f"{where}: 'name' must be lowercase snake_case, got {name!r}")
        where = f"{path}: segment {name!r}"
        if name in seen:
            raise SegmentFileError(f"{where}: defined twice")
        seen.add(name)
        unknown_keys = sorted(set(raw) - KEYS)
        if unknown_keys:
            raise SegmentFileError(
                f"{where}: unknown keys {unknown_keys}; a segment may have {sorted(KEYS)}"
            )

        def check_column(column: object, field: str, where: str = where) -> str:
            if not isinstance(column, str) or not column:
                raise SegmentFileError(f"{where}: {field} must name a column, got {column!r}")
            if columns is not None and column not in columns:
                raise SegmentFileError(f"{where}: {field} uses unknown column {column!r}")
            return column

        rules = []
        for j, rule in enumerate(raw.get("rules") or []):
            if not isinstance(rule, dict) or set(rule) != {"column", "op", "value"}:
                raise SegmentFileError(f"{where}: rule #{j + 1} needs column, op and value")
            if rule["op"] not in OPS:
                raise SegmentFileError(
                    f"{where}: rule #{j + 1} has op {rule['op']!r}; use one of {sorted(OPS)}"
                )
            check_column(rule["column"], f"rule #{j + 1}")
            rules.append(Rule(rule["column"], rule["op"], rule["value"]))
        split_by = raw.get("split_by")
        if split_by is not None:
            split_by = check_column(split_by, "split_by")
        if not rules and split_by is None:
            raise SegmentFileError(f"{where}: needs at least one rule (or a split_by column)")
        platforms = raw.get("platforms") or DEFAULT_PLATFORMS
        if not isinstance(platforms, list | tuple) or not all(
            isinstance(p, str) for p in platforms
        ):
            raise SegmentFileError(f"{where}: platforms must be a list, such as [mailchimp, meta]")
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            raise SegmentFileError(f"{where}: unknown platforms {unknown}; known: {PLATFORMS}")
        crm = _crm_fields(raw.get("crm"), "crm" in platforms, where, check_column)
        segments.append(
            Segment(
                name,
                str(raw.get("description", "")),
                tuple(rules),
                tuple(dict.fromkeys(platforms)),
                split_by,
                crm,
            )
        )
    return segments


def _crm_fields(
    raw: object, wanted: bool, where: str, check_column: Callable[[object, str], str]
) -> CrmFields | None:
    if raw is None:
        if wanted:
            raise SegmentFileError(
                f"{where}: the crm platform needs `crm: {{score: <column>, reasons: [...]}}`"
            )
        return None
    if not wanted:
        raise SegmentFileError(f"{where}: has crm settings but crm is not in its platforms")
    if not isinstance(raw, dict) or "score" not in raw or set(raw) - CRM_KEYS:
        raise SegmentFileError(f"{where}: crm takes score (a column) and reasons (columns)")
    reasons = raw.get("reasons") or []
    if not isinstance(reasons, list):
        raise SegmentFileError(f"{where}: crm reasons must be a list of columns")
    return CrmFields(
        check_column(raw["score"], "crm score"),
        tuple(check_column(r, "crm reasons") for r in reasons),
    )
