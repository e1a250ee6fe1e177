"""The brand file (`brand.yml`): voice, words to use and avoid, allowed claims, real offers.

The user's file is env `MARKETING_BRAND_FILE`, else `brand.yml` in `MARKETING_HOME`, else the
shipped one (the simulated shop's). A file that does not parse, or breaks the schema, stops with
the file and the line at fault: copy made from a misread brand file would be wrong everywhere.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.config import Settings

DEFAULT_BRAND_FILE = Path(__file__).with_name("brand.yml")
MAX_TEXT = 500  # a longer value in the brand file is a paste mistake, not a word or a claim


class BrandFileError(ValueError):
    """The brand file cannot be used; the message names the file, the line and the reason."""


def _short(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters (this one has {len(value)})")
    return value.strip()


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
    description: str = Field(min_length=1)
    terms: str = Field(min_length=1)
    discount_percent: float | None = Field(default=None, gt=0, le=100)
    amount: float | None = Field(default=None, ge=0)
    valid_from: date
    valid_to: date
    categories: list[str] = Field(default_factory=list)
    # The campaign goals the offer is for (empty: every goal): a first-order code is for
    # acquisition, a come-back code for win-back.
    goals: list[Literal["winback", "retention", "launch", "promotion", "acquisition"]] = Field(
        default_factory=list)

    _short = field_validator("description", "terms")(_short)

    @model_validator(mode="after")
    def _one_value(self) -> Offer:
        if (self.discount_percent is None) == (self.amount is None):
            raise ValueError("give exactly one of discount_percent or amount")
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def suits(self, goal: str) -> bool:
        return not self.goals or goal in self.goals

    def covers(self, categories: list[str]) -> bool:
        """Whether the offer applies to a persona whose top categories are `categories`."""
        return not self.categories or any(c in self.categories for c in categories)


class Voice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adjectives: list[str] = Field(min_length=1)
    sentences: list[str] = Field(default_factory=list)

    _short = field_validator("sentences")(lambda v: [_short(s) for s in v])


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    url: str = Field(pattern=r"^https?://\S+$")
    voice: Voice
    words_to_use: list[str] = Field(default_factory=list)
    words_to_avoid: list[str] = Field(default_factory=list)
    claims: list[str] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    ctas: list[str] = Field(min_length=1)

    _short = field_validator("claims", "ctas", "words_to_use", "words_to_avoid")(
        lambda v: [_short(s) for s in v])

    def offers_on(self, day: date, categories: list[str], goal: str | None = None
                  ) -> list[Offer]:
        """The offers valid on `day` that cover `categories` (and suit `goal`), in file
        order."""
        return [o for o in self.offers if o.valid_on(day) and o.covers(categories)
                and (goal is None or o.suits(goal))]


def brand_file(settings: Settings) -> Path:
    """Which brand file the run uses: env MARKETING_BRAND_FILE, the home's brand.yml, or the
    shipped default."""
    if os.environ.get("MARKETING_BRAND_FILE"):
        return Path(os.environ["MARKETING_BRAND_FILE"]).resolve()
    own = settings.home / "brand.yml"
    return own if own.exists() else DEFAULT_BRAND_FILE


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at pydantic's error location `loc`, or of the
    deepest node on the way to it."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
            if node is None:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def load_brand(path: Path) -> Brand:
    """The brand file at `path`, checked; raises BrandFileError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BrandFileError(f"{path}: cannot read the brand file ({error})") from error
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BrandFileError(f"{path}{where}: the brand file does not parse ({problem})"
                             ) from error
    if not isinstance(data, dict):
        raise BrandFileError(f"{path} line 1: the brand file must be a mapping of keys "
                             "(name, url, voice, words_to_use, words_to_avoid, claims, offers, "
                             "ctas)")
    try:
        return Brand.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(root, loc)
        field = ".".join(str(p) for p in loc) or "(top level)"
        where = f" line {line}" if line else ""
        raise BrandFileError(f"{path}{where}: {field}: {first['msg']}") from error


def read_brand(settings: Settings) -> tuple[Brand, Path]:
    """The run's brand and the file it came from."""
    path = brand_file(settings)
    return load_brand(path), path
