"""The KPI file (`kpis.yml`): each KPI of the worksheet with its label, definition, unit, good
direction and targets per channel, checked on load with errors that name the file and the field,
and written to the work file (`settings.kpis`) for the report models and the analysts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

if TYPE_CHECKING:
    import duckdb

# The worksheet's KPIs and the channels each is measured on (reports.rpt_kpi_worksheet
# computes exactly these; a target for another channel could never be compared).
KPI_CHANNELS: dict[str, tuple[str, ...]] = {
    "spend": ("paid",),
    "impressions": ("paid",),
    "reach": ("paid",),
    "frequency": ("paid",),
    "ctr": ("paid",),
    "cpc": ("paid",),
    "cpm": ("paid",),
    "conversions": ("paid",),
    "conversion_rate": ("paid",),
    "cpa": ("paid",),
    "new_customer_cac": ("paid",),
    "roas_platform": ("paid",),
    "roas_reconciled": ("paid",),
    "email_sends": ("email",),
    "email_open_rate": ("email",),
    "email_click_rate": ("email",),
    "email_unsubscribe_rate": ("email",),
    "repeat_rate": ("shop",),
    "retention": ("shop",),
    "ltv_to_cac": ("shop",),
    "nps": ("shop",),
}


class KpisSettingsError(ValueError):
    """The KPI file cannot be used; the message names the file and the field."""


class Kpi(BaseModel):
    """One KPI as the user describes it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    label: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    unit: Literal["currency", "share", "ratio", "count", "people", "score"]
    good: Literal["higher", "lower"]
    targets: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _ints_are_numbers(cls, data: object) -> object:
        # YAML reads `3` as an int; strict mode would refuse it as a target.
        if isinstance(data, dict) and isinstance(data.get("targets"), dict):
            data = {**data, "targets": {k: float(v) if isinstance(v, int) and not isinstance(
                v, bool) else v for k, v in data["targets"].items()}}
        return data


class KpisSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    kpis: dict[str, Kpi]


def load_kpis(path: Path) -> KpisSettings:
    """Read and check `path`: every worksheet KPI described once, targets only on the channels
    the KPI is measured on, shares between 0 and 1. Raises KpisSettingsError naming the file
    and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KpisSettingsError(f"{path}: cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise KpisSettingsError(f"{path}: is not valid YAML ({error})") from error
    if not isinstance(raw, dict):
        raise KpisSettingsError(f"{path}: must be a mapping with `kpis`")
    try:
        settings = KpisSettings.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KpisSettingsError(f"{path}: {where}: {first['msg']}") from error
    unknown = sorted(set(settings.kpis) - set(KPI_CHANNELS))
    if unknown:
        raise KpisSettingsError(
            f"{path}: kpis.{unknown[0]}: not a KPI the worksheet computes "
            f"(it computes {', '.join(KPI_CHANNELS)})")
    missing = [name for name in KPI_CHANNELS if name not in settings.kpis]
    if missing:
        raise KpisSettingsError(f"{path}: kpis.{missing[0]}: missing; every worksheet KPI "
                                "needs a label, definition, unit and good direction")
    for name, kpi in settings.kpis.items():
        for channel, target in kpi.targets.items():
            where = f"{path}: kpis.{name}.targets.{channel}"
            if channel not in KPI_CHANNELS[name]:
                raise KpisSettingsError(
                    f"{where}: {name} is measured on {', '.join(KPI_CHANNELS[name])} only")
            if kpi.unit == "share" and not 0 <= target <= 1:
                raise KpisSettingsError(f"{where}: a share is between 0 and 1 (0.02 is 2%), "
                                        f"not {target}")
            if kpi.unit != "score" and target < 0:
                raise KpisSettingsError(f"{where}: must not be negative, not {target}")
    return settings


def kpi_table(settings: KpisSettings) -> pl.DataFrame:
    """One row per KPI and channel it is measured on, in the worksheet's order: label,
    definition, unit, good direction and target (null where none is set)."""
    rows = [
        {"kpi": name, "channel": channel, "kpi_order": order, "label": kpi.label,
         "definition": " ".join(kpi.definition.split()), "unit": kpi.unit,
         "good_direction": kpi.good, "target": kpi.targets.get(channel)}
        for order, name in enumerate(KPI_CHANNELS, start=1)
        for kpi in [settings.kpis[name]]
        for channel in KPI_CHANNELS[name]
    ]
    return pl.DataFrame(rows, schema={
        "kpi": pl.String, "channel": pl.String, "kpi_order": pl.Int32, "label": pl.String,
        "definition": pl.String, "unit": pl.String, "good_direction": pl.String,
        "target": pl.Float64})


def write_kpis(con: duckdb.DuckDBPyConnection, settings: KpisSettings) -> int:
    """Replace `settings.kpis` in the DuckDB connection `con` with the file's KPIs; returns
    the rows written."""
    table = kpi_table(settings)
    con.execute("create schema if not exists settings")
    con.register("kpi_rows", table.to_arrow())
    try:
        con.execute("create or replace table settings.kpis as select * from kpi_rows")
    finally:
        con.unregister("kpi_rows")
    return table.height
