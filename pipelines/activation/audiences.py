"""Audiences defined as data in a YAML file, validated on load with errors that say where."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

OPS: dict[str, Callable[[pl.Expr, object], pl.Expr]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda col, values: col.is_in(list(values)),  # type: ignore[call-overload]
}
PLATFORMS = ("mailchimp", "meta", "google", "crm")
DEFAULT_PLATFORMS = ("mailchimp",)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
KEYS = frozenset({
    "name", "description", "rules", "platforms", "split_by", "crm", "holdout", "experiment",
    "outcome_days",
})
TOP_KEYS = frozenset({"audiences", "experiment_salt"})
# A holdout above a half would treat fewer people than it leaves out; outcome windows shorter
# than a week see little of a campaign's effect, and longer than half a year mostly other things.
MAX_HOLDOUT = 0.5
OUTCOME_DAYS = (7, 180)
DEFAULT_OUTCOME_DAYS = 28
DEFAULT_SALT = "marketing-pipelines"
CRM_KEYS = frozenset({"score", "reasons"})


class AudienceFileError(ValueError):
    """The audiences file is malformed; the message names the file, the audience and the field."""


# A rule's value as YAML reads it: a number, text, true/false or a date (YYYY-MM-DD).
Scalar = StrictBool | StrictInt | StrictFloat | StrictStr | date


class RuleSpec(BaseModel):
    """One rule as written in the file. `in` takes a list (a lone value would be read by Polars
    as a column name, and could select everyone); every other op takes one value."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    column: StrictStr
    op: Literal[">=", ">", "<=", "<", "==", "!=", "in"]
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _one_value_or_a_list(self) -> RuleSpec:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(
                f"op 'in' needs a list of values, such as [{self.value!r}], "
                f"not the single value {self.value!r}"
            )
        if self.op == "in" and not self.value:
            raise ValueError("op 'in' needs at least one value in its list")
        if self.op != "in" and isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} compares with one value; use 'in' for a list")
        return self


# What a rule's values must be, by the kind of column they are compared with: (Python types
# YAML gives, what to tell the user). A value of another type would fail inside Polars.
VALUE_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "number": ((int, float), "a number"),
    "text": ((str,), "text (in quotes if it looks like a number)"),
    "true/false": ((bool,), "true or false"),
    "date": ((date,), "a date written YYYY-MM-DD"),
}


def column_kind(dtype: pl.DataType) -> str | None:
    """The kind of values a column holds, as `VALUE_KINDS` names it (None: not comparable)."""
    if dtype == pl.Boolean:
        return "true/false"
    if dtype.is_numeric():
        return "number"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "text"
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return "date"
    return None


def _value_problem(spec: RuleSpec, dtype: pl.DataType) -> str | None:
    """Why the rule's value(s) cannot be compared with a column of `dtype`, or None."""
    if dtype == pl.Null:
        return None  # an empty column: nobody matches, whatever the value
    kind = column_kind(dtype)
    if kind is None:
        return f"column {spec.column!r} holds {dtype}, which rules cannot compare"
    types, expected = VALUE_KINDS[kind]
    values = spec.value if isinstance(spec.value, list) else [spec.value]
    for value in values:
        # True is an int to Python, but not a number to the user.
        if not isinstance(value, types) or (kind != "true/false" and isinstance(value, bool)):
            return (
                f"column {spec.column!r} holds {kind} values but the rule compares it with "
                f"{value!r}; the value must be {expected}"
            )
    return None


def _rule_problem(exc: ValidationError) -> str:
    """The first problem pydantic found in a rule, in words."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"][:1])
    if field == "op":
        return f"has op {error['input']!r}; use one of {sorted(OPS)}"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if field == "column":
        return f"column must name a column, got {error['input']!r}"
    if field == "value":
        value = error["input"]
        return (
            f"value {value!r} is not a number, text, true/false or a date "
            "(nor a list of them, for 'in')"
        )
    return f"{field}: {error['msg']}"


@dataclass(frozen=True)
class Rule:
    column: str
    op: str
    value: object

    def expr(self) -> pl.Expr:
        return OPS[self.op](pl.col(self.column), self.value)


@dataclass(frozen=True)
class CrmFields:
    """Which customer columns the CRM file carries as the score and its top reasons."""

    score: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExperimentSettings:
    """An audience's holdout: the share of its people left out of every upload file, the
    experiment's name, how many days after entry its outcomes are counted, and the file's salt
    for the assignment hash."""

    name: str
    holdout: float
    outcome_days: int = DEFAULT_OUTCOME_DAYS
    salt: str = DEFAULT_SALT


@dataclass(frozen=True)
class Audience:
    name: str
    description: str
    rules: tuple[Rule, ...]
    platforms: tuple[str, ...]
    split_by: str | None = None
    crm: CrmFields | None = None
    experiment: ExperimentSettings | None = None

    def experiment_name(self, exported: str) -> str | None:
        """The experiment an exported audience (`expand`'s name) runs, or None without a
        holdout: the experiment's name, and for a split `<experiment>__<value>`."""
        if self.experiment is None:
            return None
        if self.split_by is None:
            return self.experiment.name
        return f"{self.experiment.name}__{exported.removeprefix(self.name + '__')}"

    def select(self, customers: pl.DataFrame) -> pl.DataFrame:
        """The members of `customers` in this audience (before any split)."""
        condition = pl.lit(True)
        for rule in self.rules:
            condition = condition & rule.expr().fill_null(False)
        return customers.filter(condition)

    def unscored(self, customers: pl.DataFrame) -> list[str]:
        """The columns this audience's rules (and split) read that no customer has a value in,
        as a score no model has written yet (`uplift_decile` before any experiment has
        completed): the audience is then empty, and the export says why."""
        columns = [r.column for r in self.rules] + ([self.split_by] if self.split_by else [])
        return [
            c for c in dict.fromkeys(columns)
            if customers.height and customers.get_column(c).null_count() == customers.height
        ]

    def expand(self, customers: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
        """The audience's members by exported audience name: one `(name, members)` for a plain
        audience; with `split_by`, one per value of that column, named `<name>__<value>` (the
        value in snake_case), in name order. People with no value are in no split."""
        members = self.select(customers)
        if self.split_by is None:
            return [(self.name, members)]
        values = members.get_column(self.split_by).drop_nulls().unique().sort().to_list()
        named: dict[str, object] = {}
        for value in values:
            name = f"{self.name}__{slug(value)}"
            if name in named:
                raise AudienceFileError(
                    f"audience {self.name!r}: split_by {self.split_by!r} values {named[name]!r} "
                    f"and {value!r} both make the audience name {name!r}; rename one"
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


def load_audiences(
    path: Path, columns: Mapping[str, pl.DataType] | Sequence[str] | None = None
) -> list[Audience]:
    """Read and check the audiences file against the customer frame: `columns`, when given, are its
    columns, with their types (`customers.schema`) when rule values are to be checked too."""
    schema = columns if isinstance(columns, Mapping) else None
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AudienceFileError(f"{path}: cannot read audiences: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("audiences"), list):
        raise AudienceFileError(f"{path}: expected a top-level 'audiences:' list")
    unknown_top = sorted(set(data) - TOP_KEYS)
    if unknown_top:
        raise AudienceFileError(
            f"{path}: unknown top-level keys {unknown_top}; the file may have {sorted(TOP_KEYS)}"
        )
    salt = data.get("experiment_salt", DEFAULT_SALT)
    if not isinstance(salt, str) or not salt.strip():
        raise AudienceFileError(f"{path}: experiment_salt must be non-empty text, got {salt!r}")
    audiences, seen, experiments = [], set(), {}
    for i, raw in enumerate(data["audiences"]):
        where = f"{path}: audience #{i + 1}"
        if not isinstance(raw, dict):
            raise AudienceFileError(f"{where}: expected a mapping")
        name = raw.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise AudienceFileError(f"{where}: 'name' must be lowercase snake_case, got {name!r}")
        where = f"{path}: audience {name!r}"
        if name in seen:
            raise AudienceFileError(f"{where}: defined twice")
        seen.add(name)
        unknown_keys = sorted(set(raw) - KEYS)
        if unknown_keys:
            raise AudienceFileError(
                f"{where}: unknown keys {unknown_keys}; an audience may have {sorted(KEYS)}"
            )

        def check_column(column: object, field: str, where: str = where) -> str:
            if not isinstance(column, str) or not column:
                raise AudienceFileError(f"{where}: {field} must name a column, got {column!r}")
            if columns is not None and column not in columns:
                raise AudienceFileError(f"{where}: {field} uses unknown column {column!r}")
            return column

        rules = []
        for j, rule in enumerate(raw.get("rules") or []):
            if not isinstance(rule, dict) or set(rule) != {"column", "op", "value"}:
                raise AudienceFileError(f"{where}: rule #{j + 1} needs column, op and value")
            try:
                spec = RuleSpec.model_validate(rule)
            except ValidationError as exc:
                raise AudienceFileError(
                    f"{where}: rule #{j + 1} ({rule.get('column')!r}) {_rule_problem(exc)}"
                ) from None
            check_column(spec.column, f"rule #{j + 1}")
            problem = schema is not None and _value_problem(spec, schema[spec.column])
            if problem:
                raise AudienceFileError(f"{where}: rule #{j + 1}: {problem}")
            value = tuple(spec.value) if isinstance(spec.value, list) else spec.value
            rules.append(Rule(spec.column, spec.op, value))
        split_by = raw.get("split_by")
        if split_by is not None:
            split_by = check_column(split_by, "split_by")
        if not rules and split_by is None:
            raise AudienceFileError(f"{where}: needs at least one rule (or a split_by column)")
        platforms = raw.get("platforms") or DEFAULT_PLATFORMS
        if not isinstance(platforms, list | tuple) or not all(
            isinstance(p, str) for p in platforms
        ):
            raise AudienceFileError(f"{where}: platforms must be a list, such as [mailchimp, meta]")
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            raise AudienceFileError(f"{where}: unknown platforms {unknown}; known: {PLATFORMS}")
        crm = _crm_fields(raw.get("crm"), "crm" in platforms, where, check_column)
        if crm is not None and schema is not None and column_kind(schema[crm.score]) != "number":
            raise AudienceFileError(
                f"{where}: crm score column {crm.score!r} holds {schema[crm.score]}, "
                "not numbers; name a score column"
            )
        experiment = _experiment(raw, name, salt, where)
        if experiment is not None:
            if experiment.name in experiments:
                raise AudienceFileError(
                    f"{where}: experiment {experiment.name!r} is also audience "
                    f"{experiments[experiment.name]!r}'s; give each audience its own experiment"
                )
            experiments[experiment.name] = name
        audiences.append(
            Audience(
                name,
                str(raw.get("description", "")),
                tuple(rules),
                tuple(dict.fromkeys(platforms)),
                split_by,
                crm,
                experiment,
            )
        )
    return audiences


def _experiment(raw: dict, name: str, salt: str, where: str) -> ExperimentSettings | None:
    """The audience's holdout settings, checked, or None when it has no holdout."""
    holdout = raw.get("holdout")
    if holdout is None:
        extra = sorted({"experiment", "outcome_days"} & set(raw))
        if extra:
            raise AudienceFileError(
                f"{where}: {extra[0]} is set but holdout is not; add holdout (such as 0.1) "
                f"or remove {extra[0]}"
            )
        return None
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not (
        0 < holdout <= MAX_HOLDOUT
    ):
        raise AudienceFileError(
            f"{where}: holdout must be the share of people held out, above 0 and at most "
            f"{MAX_HOLDOUT} (0.1 holds out a tenth), got {holdout!r}"
        )
    experiment = raw.get("experiment", name)
    if not isinstance(experiment, str) or not NAME.match(experiment):
        raise AudienceFileError(
            f"{where}: experiment must be a lowercase snake_case name, got {experiment!r}"
        )
    days = raw.get("outcome_days", DEFAULT_OUTCOME_DAYS)
    low, high = OUTCOME_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        raise AudienceFileError(
            f"{where}: outcome_days must be a whole number of days from {low} to {high}, "
            f"got {days!r}"
        )
    return ExperimentSettings(experiment, float(holdout), days, salt)


def _crm_fields(
    raw: object, wanted: bool, where: str, check_column: Callable[[object, str], str]
) -> CrmFields | None:
    if raw is None:
        if wanted:
            raise AudienceFileError(
                f"{where}: the crm platform needs `crm: {{score: <column>, reasons: [...]}}`"
            )
        return None
    if not wanted:
        raise AudienceFileError(f"{where}: has crm settings but crm is not in its platforms")
    if not isinstance(raw, dict) or "score" not in raw or set(raw) - CRM_KEYS:
        raise AudienceFileError(f"{where}: crm takes score (a column) and reasons (columns)")
    reasons = raw.get("reasons") or []
    if not isinstance(reasons, list):
        raise AudienceFileError(f"{where}: crm reasons must be a list of columns")
    return CrmFields(
        check_column(raw["score"], "crm score"),
        tuple(check_column(r, "crm reasons") for r in reasons),
    )
