"""The persona model of each run, kept under `data/models/personas/<date>/`, so that the next
day starts from it and keeps its personas.

`state.json` holds the model (shape, parameters, mixing weights; none when the personas are
the RFM segments, `kind` "rfm"), which persona id each model component (or segment) is, the
personas' names, when k was last chosen and the next free id;
`labels.parquet` holds every customer's persona, which the next day's matching compares with.
A run for date D starts from the newest state before D, never from D's own, so rerunning a day
gives the same personas.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

MODEL = "personas"


@dataclass
class PersonaState:
    as_of_date: date
    spec: dict
    k: int
    selected_on: date
    selection: dict
    weights: list[float]
    params: list[dict]
    persona_ids: list[int]
    names: dict[int, str]
    next_id: int
    labels: pl.DataFrame = field(repr=False)
    # "model" (a latent class model) or "rfm" (no structure found: the RFM segments).
    kind: str = "model"

    @property
    def version(self) -> str:
        """A short hash of the model's parameters (to 6 significant digits: the last bits of
        a float sum depend on how threads split it), persona ids and names."""
        body = json.dumps(
            _rounded(
                [
                    self.spec,
                    self.weights,
                    _plain(self.params),
                    self.persona_ids,
                    {str(k): v for k, v in sorted(self.names.items())},
                    self.kind,
                ]
            ),
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:12]


def state_dir(models_dir: Path) -> Path:
    return models_dir / MODEL


def save(models_dir: Path, state: PersonaState) -> Path:
    """Write the state for its date (replacing one written before for that date); returns
    the folder. Files are written under temporary names and renamed, so a crash leaves either
    the old state or the new one."""
    folder = state_dir(models_dir) / state.as_of_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "as_of_date": state.as_of_date.isoformat(),
        "spec": state.spec,
        "k": state.k,
        "selected_on": state.selected_on.isoformat(),
        "selection": state.selection,
        "weights": [float(w) for w in state.weights],
        "params": _plain(state.params),
        "persona_ids": [int(i) for i in state.persona_ids],
        "names": {str(k): v for k, v in sorted(state.names.items())},
        "next_id": int(state.next_id),
        "kind": state.kind,
        "version": state.version,
    }
    labels_tmp = folder / "labels.parquet.tmp"
    state.labels.select("customer_key", "persona_id").sort("customer_key").write_parquet(labels_tmp)
    os.replace(labels_tmp, folder / "labels.parquet")
    json_tmp = folder / "state.json.tmp"
    json_tmp.write_text(json.dumps(body, indent=1, sort_keys=True))
    os.replace(json_tmp, folder / "state.json")
    return folder


def folder_before(models_dir: Path, day: date) -> Path | None:
    """The folder of the newest saved state dated before `day`, or None when there is none."""
    root = state_dir(models_dir)
    if not root.exists():
        return None
    dated = []
    for folder in root.iterdir():
        try:
            when = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if when < day and (folder / "state.json").exists() and (folder / "labels.parquet").exists():
            dated.append((when, folder))
    return max(dated)[1] if dated else None


def load_before(models_dir: Path, day: date) -> PersonaState | None:
    """The newest saved state dated before `day`, or None when there is none."""
    folder = folder_before(models_dir, day)
    if folder is None:
        return None
    body = json.loads((folder / "state.json").read_text())
    return PersonaState(
        as_of_date=date.fromisoformat(body["as_of_date"]),
        spec=body["spec"],
        k=int(body["k"]),
        selected_on=date.fromisoformat(body["selected_on"]),
        selection=body["selection"],
        weights=body["weights"],
        params=body["params"],
        persona_ids=[int(i) for i in body["persona_ids"]],
        names={int(k): v for k, v in body["names"].items()},
        next_id=int(body["next_id"]),
        labels=pl.read_parquet(folder / "labels.parquet"),
        kind=body.get("kind", "model"),
    )


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _plain(value):
    """JSON-ready copies of parameters (numpy arrays and scalars to lists and floats)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "retune"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
