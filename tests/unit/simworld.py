"""Shared xs worlds and file readers for the simulator tests.

Worlds are built once per test session (a module-level cache) because several test modules
read the same ones; each takes a few seconds at scale xs.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from simulator import Defects, continue_days, simulate, truth_dir

END = dt.date(2026, 10, 31)
CONTINUED = 3
SCHEMAS = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class SimWorld:
    """A simulated world: its settings, the creation counts and the continuation counts."""

    settings: Settings
    created: dict[str, int]
    continued: dict[str, int]

    @property
    def landing(self) -> Path:
        return self.settings.landing_dir

    @property
    def truth(self) -> Path:
        return truth_dir(self.settings)

    def folder(self, source: str, day: dt.date = END) -> Path:
        return self.landing / source / day.isoformat()


_CACHE: dict[str, SimWorld] = {}


def world(root: Path, name: str, **kwargs: object) -> SimWorld:
    """Build (once per session) the world `name` under `root`: simulate with `kwargs`, then
    continue it by `continue_by` days (default CONTINUED)."""
    if name not in _CACHE:
        continue_by = int(kwargs.pop("continue_by", CONTINUED))  # type: ignore[arg-type]
        settings = Settings(home=root / name)
        created = simulate(settings, scale="xs", end_date=END, **kwargs)  # type: ignore[arg-type]
        continued = continue_days(settings, continue_by) if continue_by else {}
        _CACHE[name] = SimWorld(settings, created, continued)
    return _CACHE[name]


def main_world(root: Path) -> SimWorld:
    """The world most tests read: xs, seed 42, a year of history, three continued days."""
    return world(root, "main", seed=42, history_days=365)


def noisy_world(root: Path) -> SimWorld:
    """The main world's settings with the harder identity world on (`identity_noise`)."""
    return world(root, "noisy", seed=42, history_days=365, identity_noise=True)


def defect_world(root: Path) -> SimWorld:
    """A world with high defect rates, so rates can be checked with tight tolerances."""
    defects = Defects(
        malformed_row_rate=0.04, duplicate_row_rate=0.05, malformed_json_rate=0.01,
        ga4_duplicate_event_rate=0.04, ga4_late_session_rate=0.2, capi_duplicate_rate=0.1,
        test_order_rate=0.05, refund_rate=0.1, cancel_rate=0.05, empty_files=4,
    )  # fmt: skip
    return world(root, "defects", seed=5, history_days=150, defects=defects, continue_by=4)


def file_hashes(home: Path) -> dict[str, str]:
    """SHA-256 of every file under `home`, by relative path."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def decode(path: Path) -> str:
    """A landing file's text: UTF-8, or Latin-1 for the one file written that way."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and every data row of a CSV, parsed with Python's csv module (the reference
    reader), malformed rows included."""
    rows = list(csv.reader(io.StringIO(decode(path), newline="")))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def read_csv(path: Path) -> pl.DataFrame:
    """A CSV as text columns, without the rows whose field count is wrong."""
    header, rows = csv_rows(path)
    good = [r for r in rows if len(r) == len(header)]
    return pl.DataFrame(
        {h: [r[i] or None for r in good] for i, h in enumerate(header)},
        schema={h: pl.String for h in header},
    )


def ndjson(path: Path) -> Iterator[dict]:
    """The JSON objects of an NDJSON file, skipping lines that do not parse."""
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def truth(w: SimWorld, name: str) -> pl.DataFrame:
    return pl.read_parquet(w.truth / f"{name}.parquet")
