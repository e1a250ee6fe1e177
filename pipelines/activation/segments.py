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
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
    "in": lambda col, value: col.is_in(value),  # type: ignore[arg-type]
}
PLATFORMS = ("mailchimp",)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
class Segment:
    name: str
    description: str
    rules: tuple[Rule, ...]
    platforms: tuple[str, ...]

    def select(self, audience: pl.DataFrame) -> pl.DataFrame:
        """The customers of `audience` in this segment."""
        condition = pl.lit(True)
        for rule in self.rules:
            condition = condition & rule.expr().fill_null(False)
        return audience.filter(condition)


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
        rules = []
        for j, rule in enumerate(raw.get("rules") or []):
            if not isinstance(rule, dict) or set(rule) != {"column", "op", "value"}:
                raise SegmentFileError(f"{where}: rule #{j + 1} needs column, op and value")
            if rule["op"] not in OPS:
                raise SegmentFileError(
                    f"{where}: rule #{j + 1} has op {rule['op']!r}; use one of {sorted(OPS)}")
            if columns is not None and rule["column"] not in columns:
                raise SegmentFileError(
                    f"{where}: rule #{j + 1} uses unknown column {rule['column']!r}")
            rules.append(Rule(rule["column"], rule["op"], rule["value"]))
        if not rules:
            raise SegmentFileError(f"{where}: needs at least one rule")
        platforms = tuple(raw.get("platforms") or PLATFORMS)
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            raise SegmentFileError(f"{where}: unknown platforms {unknown}; known: {PLATFORMS}")
        segments.append(Segment(name, str(raw.get("description", "")), tuple(rules), platforms))
    return segments
