"""The ads settings file (`ads.yml`): the attribution window and the budget bounds, checked on
load with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class AdsSettingsError(ValueError):
    """The ads settings file cannot be used; the message names the file and the field."""


class Attribution(BaseModel):
    """The window in which an ad is credited with an order: days after a click, days after a
    view (only the platform sees views)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    click_days: int = Field(default=7, ge=1, le=28)
    view_days: int = Field(default=1, ge=0, le=7)


class Budget(BaseModel):
    """Bounds for recommended daily budgets, in the ad account's currency."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    total_per_day: float | None = Field(default=None, gt=0)
    min_per_adset: float = Field(default=0.0, ge=0)
    max_per_adset: float | None = Field(default=None, gt=0)
    max_change_per_week: float | None = Field(default=0.3, gt=0)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Budget:
        if self.max_per_adset is not None and self.max_per_adset < self.min_per_adset:
            raise ValueError(
                f"max_per_adset ({self.max_per_adset}) is below min_per_adset "
                f"({self.min_per_adset})"
            )
        return self


class Fit(BaseModel):
    """How much history the response curves are fitted on and the least an ad set needs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    history_days: int = Field(default=365, ge=28)
    current_days: int = Field(default=7, ge=1, le=28)
    min_active_days: int = Field(default=28, ge=7)
    min_conversions: int = Field(default=20, ge=1)


class AdsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    attribution: Attribution = Attribution()
    budget: Budget = Budget()
    fit: Fit = Fit()


def load_ads_settings(path: Path) -> AdsSettings:
    """Read and check `path`; raises AdsSettingsError naming the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AdsSettingsError(f"{path}: cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise AdsSettingsError(f"{path}: is not valid YAML ({error})") from error
    raw = raw if raw is not None else {}
    if not isinstance(raw, dict):
        raise AdsSettingsError(f"{path}: must be a mapping with attribution and budget")
    try:
        return AdsSettings.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AdsSettingsError(f"{path}: {where}: {first['msg']}") from error

