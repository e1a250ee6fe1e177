"""Expectation suites stored as JSON files, loaded and checked before any data is touched.

A suite file follows the GX 1.x ExpectationSuite JSON shape::

    {"name": "dim_customers",
     "meta": {"table": "marts.dim_customers",
              "references": {"customer_key": "marts.dim_customers.customer_key"}},
     "expectations": [{"type": "expect_column_values_to_not_be_null",
                       "kwargs": {"column": "customer_key"},
                       "meta": {"severity": "error"}}]}

Two extensions live under `meta`, where GX ignores them: `meta.table` names the DuckDB table
the suite validates, and `meta.references` declares referential links that the audit checks at
run time and records as `expect_column_values_to_be_in_set` (severity error). Each expectation's
`meta.severity` is "error" (the default; a failure blocks publishing) or "warning" (recorded,
never blocks).

Every problem is reported with the file's path, so a broken suite is fixed in one look rather
than discovered as a confusing failure halfway through an audit.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.quality.checks import check_checks

logger = logging.getLogger(__name__)

SEVERITIES: tuple[str, ...] = ("error", "warning")
DEFAULT_SEVERITY = "error"

# Table and column names are pasted into SQL, so only plain identifiers are accepted: that keeps
# a suite file from ever smuggling SQL into the audit and makes a typo fail at load time.
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TABLE_RE = re.compile(rf"^{_IDENT}\.{_IDENT}$")
_COLUMN_RE = re.compile(rf"^{_IDENT}$")
_REFERENCE_RE = re.compile(rf"^({_IDENT}\.{_IDENT})\.({_IDENT})$")

# Keys GX itself understands on a serialized expectation. A top-level "severity" is rejected on
# purpose: GX 1.x has its own severity field (critical/warning/info) which this pipeline does not
# read, so accepting it silently would make a "warning" block publishing.
_EXPECTATION_KEYS = frozenset({"type", "kwargs", "meta", "notes", "description"})


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class Reference:
    """A referential link: every non-null `column` value must exist in `table`.`target_column`."""

    column: str
    table: str
    target_column: str

    @property
    def target(self) -> str:
        """The referenced column as `schema.table.column`."""
        return f"{self.table}.{self.target_column}"


@dataclass(frozen=True)
class SuiteSpec:
    """One loaded, checked suite.

    `expectations` holds GX-shaped dicts (`type`, `kwargs`, `meta`) with `meta.severity` always
    filled in, so downstream code never has to apply the default itself.
    """

    name: str
    table: str
    expectations: list[dict[str, Any]]
    path: Path
    references: list[Reference] = field(default_factory=list)
    # Run-time comparisons with earlier publishes (see pipelines.quality.checks).
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_suites(directory: Path) -> list[SuiteSpec]:
    """Load and check every `*.json` suite in `directory`, sorted by file name.

    Raises:
        SuiteError: the directory is missing, a file is malformed, or two files share a name.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SuiteError(f"expectations directory {directory} does not exist")
    suites: list[SuiteSpec] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.json")):
        suite = load_suite(path)
        if suite.name in seen:
            raise SuiteError(
                f"{path}: suite name {suite.name!r} is already used by {seen[suite.name]}"
            )
        seen[suite.name] = path
        suites.append(suite)
    logger.debug("loaded %d suites from %s", len(suites), directory)
    return suites


def suite_tables(directory: Path) -> list[str]:
    """The tables the suites in `directory` cover, read without loading Great Expectations.

    Publishing needs only this list; the full check of each suite happens in the audit.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SuiteError(f"expectations directory {directory} does not exist")
    tables = []
    for path in sorted(directory.glob("*.json")):
        try:
            tables.append(json.loads(path.read_text())["meta"]["table"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SuiteError(f"{path}: cannot read meta.table ({exc})") from exc
    return sorted(set(tables))


def load_suite(path: Path) -> SuiteSpec:
    """Load and check one suite file.

    Raises:
        SuiteError: naming `path`, for unreadable or invalid JSON, a missing or malformed
            `meta.table`, an unknown expectation type, missing or invalid kwargs, or a bad
            severity or reference.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from exc
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read suite file: {exc}") from exc
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite must be a JSON object, got {type(raw).__name__}")

    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise SuiteError(f"{path}: 'name' must be a non-empty string")

    meta = raw.get("meta")
    if not isinstance(meta, dict):
        raise SuiteError(f"{path}: missing 'meta' object with 'table' (schema.table)")
    table = meta.get("table")
    if not isinstance(table, str) or not table:
        raise SuiteError(f"{path}: missing 'meta.table' (the schema.table this suite validates)")
    if not _TABLE_RE.match(table):
        raise SuiteError(f"{path}: 'meta.table' must look like schema.table, got {table!r}")

    references = _parse_references(path, meta.get("references"))
    try:
        checks = check_checks(path, meta.get("checks"))
    except ValueError as exc:
        raise SuiteError(str(exc)) from exc

    raw_expectations = raw.get("expectations")
    if not isinstance(raw_expectations, list) or not raw_expectations:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    expectations = [
        check_expectation(item, where=f"{path}: expectations[{index}]")
        for index, item in enumerate(raw_expectations)
    ]
    return SuiteSpec(
        name=name, table=table, expectations=expectations, path=path, references=references,
        checks=checks,
    )


def check_expectation(item: object, where: str, *, build: bool = True) -> dict[str, Any]:
    """Check one expectation dict against GX and return it normalised (severity filled in).

    `where` prefixes every error message (file and position), so callers building expectations
    at run time get the same checks and equally clear messages. `build=False` skips the trial
    build by GX, for callers that build the expectation right after anyway.

    Raises:
        SuiteError: for anything GX would reject, or an unknown severity.
    """
    if not isinstance(item, dict):
        raise SuiteError(f"{where}: an expectation must be an object, got {type(item).__name__}")
    unknown_keys = sorted(set(item) - _EXPECTATION_KEYS)
    if unknown_keys:
        hint = " (put severity under 'meta')" if "severity" in unknown_keys else ""
        raise SuiteError(f"{where}: unknown keys {unknown_keys}{hint}")
    expectation_type = item.get("type")
    if not isinstance(expectation_type, str) or not expectation_type:
        raise SuiteError(f"{where}: missing 'type'")
    where = f"{where} ({expectation_type})"
    if expectation_type not in registered_expectation_types():
        raise SuiteError(f"{where}: unknown expectation type {expectation_type!r}")
    kwargs = item.get("kwargs")
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: missing 'kwargs' object")
    meta = item.get("meta", {})
    if not isinstance(meta, dict):
        raise SuiteError(f"{where}: 'meta' must be an object")
    severity = meta.get("severity", DEFAULT_SEVERITY)
    if severity not in SEVERITIES:
        raise SuiteError(
            f"{where}: meta.severity must be one of {list(SEVERITIES)}, got {severity!r}"
        )

    normalised = copy.deepcopy(item)
    normalised["meta"] = {**meta, "severity": severity}
    if build:
        build_expectation(normalised, where)
    return normalised


def registered_expectation_types() -> frozenset[str]:
    """Names of every expectation class GX has registered (core ones register on import)."""
    _import_gx()
    from great_expectations.expectations.registry import (
        list_registered_expectation_implementations,
    )

    return frozenset(list_registered_expectation_implementations())


def build_expectation(expectation: Mapping[str, Any], where: str) -> Any:
    """Build the GX Expectation object for a checked expectation dict.

    Building each expectation ourselves matters: `ExpectationSuite(expectations=[...])` only
    logs an invalid expectation and drops it, which would let a typo silently turn a check off.

    Raises:
        SuiteError: GX rejects the kwargs (missing, unknown or of the wrong type).
    """
    _import_gx()
    from great_expectations.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    try:
        return ExpectationConfiguration(
            type=expectation["type"],
            kwargs=dict(expectation["kwargs"]),
            meta=dict(expectation.get("meta") or {}),
        ).to_domain_obj()
    # GX's pydantic (v1 API) ValidationError subclasses ValueError, so this covers bad kwargs.
    except (GreatExpectationsError, TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise SuiteError(f"{where}: invalid kwargs: {detail}") from exc


def _parse_references(path: Path, raw: object) -> list[Reference]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: 'meta.references' must map column -> schema.table.column")
    references = []
    for column, target in raw.items():
        if not _COLUMN_RE.match(column):
            raise SuiteError(f"{path}: meta.references key {column!r} is not a column name")
        match = _REFERENCE_RE.match(target) if isinstance(target, str) else None
        if match is None:
            raise SuiteError(
                f"{path}: meta.references[{column!r}] must look like schema.table.column, "
                f"got {target!r}"
            )
        references.append(Reference(column=column, table=match[1], target_column=match[2]))
    return references


def _import_gx() -> None:
    """Import GX with analytics off; deferred because the import takes seconds."""
    from pipelines.quality._gx import import_gx

    import_gx()
