"""The saved world: everything needed to write more days without replaying the simulation.

`truth/state/` holds `meta.json` (seed, scale, calendar, format, defect settings, the
current end date) and one Parquet file per world table. The play-out already covers every
day a world can be continued by, so continuing only reads these tables.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from simulator.defects import Defects
from simulator.exports import Tables
from simulator.population import Window

logger = logging.getLogger(__name__)

STATE_DIR = "state"
META_FILE = "meta.json"
TABLES: tuple[str, ...] = (
    "people", "devices", "orders", "lines", "sessions", "activity", "campaigns", "mc_events",
    "crm_events", "deals", "surveys", "attribution", "adsets", "ads", "ads_daily",
)  # fmt: skip
STATE_VERSION = 2  # 2: people carry second contacts and persona traits
# Saved only for a world with identity noise (`identity_noise.apply`).
VARIATIONS_FILE = "identity_variations.parquet"


@dataclass
class Meta:
    """What a world is: how it was made and how far it has been exported."""

    seed: int
    scale: str
    n_people: int
    end_date: dt.date
    history_days: int
    max_days: int
    current_end: dt.date
    orders_format: str
    currency: str
    defects: Defects
    personas: int = 7
    identity_noise: bool = False

    @property
    def window(self) -> Window:
        """The world's calendar."""
        return Window(end_date=self.end_date, history_days=self.history_days,
                      max_days=self.max_days)  # fmt: skip

    def to_json(self) -> dict[str, object]:
        """The JSON-ready form written to meta.json (`identity_noise` only when on, so that a
        world without it is written as before)."""
        noise = {"identity_noise": True} if self.identity_noise else {}
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "scale": self.scale,
            "n_people": self.n_people,
            "end_date": self.end_date.isoformat(),
            "history_days": self.history_days,
            "max_days": self.max_days,
            "current_end": self.current_end.isoformat(),
            "orders_format": self.orders_format,
            "currency": self.currency,
            "defects": self.defects.to_json(),
            "personas": self.personas,
            **noise,
        }

    @classmethod
    def from_json(cls, data: dict) -> Meta:
        """Read meta.json's content; ValueError for a state written by another version."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"saved world has state version {data.get('version')}, "
                             f"this simulator reads {STATE_VERSION}")  # fmt: skip
        return cls(
            seed=int(data["seed"]),
            scale=str(data["scale"]),
            n_people=int(data["n_people"]),
            end_date=dt.date.fromisoformat(data["end_date"]),
            history_days=int(data["history_days"]),
            max_days=int(data["max_days"]),
            current_end=dt.date.fromisoformat(data["current_end"]),
            orders_format=str(data["orders_format"]),
            currency=str(data["currency"]),
            defects=Defects.from_json(data["defects"]),
            personas=int(data["personas"]),
            identity_noise=bool(data.get("identity_noise", False)),
        )


def state_dir(truth_dir: Path) -> Path:
    """Where a world's state lives under the truth folder."""
    return truth_dir / STATE_DIR


def exists(truth_dir: Path) -> bool:
    """True when a saved world is present."""
    return (state_dir(truth_dir) / META_FILE).is_file()


def save(truth_dir: Path, meta: Meta, tables: Tables, hazard: np.ndarray) -> None:
    """Replace any saved world with this one."""
    root = state_dir(truth_dir)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in TABLES:
        value = getattr(tables, name)
        frame = value.collect() if isinstance(value, pl.LazyFrame) else value
        frame.write_parquet(root / f"{name}.parquet", row_group_size=256_000)
    pl.DataFrame({f"h{k:03d}": hazard[k] for k in range(hazard.shape[0])}).write_parquet(
        root / "hazard.parquet"
    )
    (root / "list_id.txt").write_text(tables.list_id + "\n")
    if tables.variations is not None:
        tables.variations.write_parquet(root / VARIATIONS_FILE)
    write_meta(truth_dir, meta)
    logger.info("saved world state to %s", root)


def save_tables(truth_dir: Path, tables: Tables, names: tuple[str, ...]) -> None:
    """Rewrite the saved tables `names` (after campaigns changed the future)."""
    root = state_dir(truth_dir)
    for name in names:
        value = getattr(tables, name)
        frame = value.collect() if isinstance(value, pl.LazyFrame) else value
        tmp = root / f"{name}.parquet.tmp"
        frame.write_parquet(tmp, row_group_size=256_000)
        tmp.replace(root / f"{name}.parquet")


def write_meta(truth_dir: Path, meta: Meta) -> None:
    """Write `meta.json` (after every continued day)."""
    path = state_dir(truth_dir) / META_FILE
    path.write_text(json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n")


def scan_sessions(truth_dir: Path) -> pl.LazyFrame:
    """The saved sessions, read lazily (they are sorted by day, so a filter on `day` reads
    only the row groups it needs)."""
    return pl.scan_parquet(state_dir(truth_dir) / "sessions.parquet")


def load(truth_dir: Path) -> tuple[Meta, Tables, np.ndarray]:
    """Read a saved world: its meta, tables (sessions lazily) and hazard snapshots."""
    root = state_dir(truth_dir)
    if not exists(truth_dir):
        raise FileNotFoundError(f"no saved world under {root}")
    meta = Meta.from_json(json.loads((root / META_FILE).read_text()))
    frames = {
        name: scan_sessions(truth_dir) if name == "sessions"
        else pl.read_parquet(root / f"{name}.parquet")
        for name in TABLES
    }  # fmt: skip
    hazard_frame = pl.read_parquet(root / "hazard.parquet")
    hazard = np.stack([hazard_frame[c].to_numpy() for c in hazard_frame.columns])
    variations = root / VARIATIONS_FILE
    tables = Tables(
        window=meta.window,
        seed=meta.seed,
        list_id=(root / "list_id.txt").read_text().strip(),
        variations=pl.read_parquet(variations) if variations.exists() else None,
        **frames,  # type: ignore[arg-type]
    )
    return meta, tables, hazard
