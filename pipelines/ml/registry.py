"""Model registry on disk: `models/<model>/<version>/` with booster, calibration and metadata,
and `models/<model>/current.json`, the decision of the last retrain: which version scores, or
which simple rival publishes because it ranked the holdout better, until the next retrain.

A version is named by the hash of what it was trained on (data, features, parameters), so the
same inputs give the same version and a rerun reuses it instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb


class ModelMismatchError(RuntimeError):
    """The stored model expects other features, or other feature types, than the table offers."""


@dataclass
class ModelCard:
    model: str
    version: str
    features: list[str]
    feature_types: dict[str, str]
    training_cutoffs: list[str]
    validation_cutoff: str
    params: dict
    metrics: dict = field(default_factory=dict)
    calibration_x: list[float] = field(default_factory=list)
    calibration_y: list[float] = field(default_factory=list)
    booster_sha256: str = ""
    trained_for: str = ""  # the run date the model was trained for (ISO)
    kind: str = "binary"  # "binary" (calibrated probability) or "regression" (an amount)
    # Regression only: the factor that makes the validation total come out right.
    calibration_scale: float = 1.0
    # The outcome window learnt (days after each cutoff) and the one scores are for; when they
    # differ, `scaling` says how predictions are carried from one to the other.
    label_days: int = 0
    horizon_days: int = 0
    scaling: str = ""
    # Buy-till-you-die fits (BG/NBD, Gamma-Gamma) at the training and validation cutoffs,
    # whose expectations are among the features.
    btyd: dict = field(default_factory=dict)
    # A model of several boosters (the uplift learner's four): their SHA-256 by name, each in
    # booster_<name>.json beside the card (`save_boosters`).
    boosters: dict[str, str] = field(default_factory=dict)


def version_for(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def model_dir(models_dir: Path, model: str, version: str) -> Path:
    return models_dir / model / version


def save(models_dir: Path, card: ModelCard, booster: xgb.Booster) -> Path:
    """Write the version folder under a temporary name and rename it, so it is whole or absent."""
    final = model_dir(models_dir, card.model, card.version)
    if final.exists():
        return final
    tmp = final.with_name(f".{card.version}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(tmp / "booster.json"))
    card.booster_sha256 = hashlib.sha256((tmp / "booster.json").read_bytes()).hexdigest()
    (tmp / "card.json").write_text(json.dumps(asdict(card), indent=2, sort_keys=True))
    os.replace(tmp, final)
    return final


def save_boosters(models_dir: Path, card: ModelCard, boosters: dict[str, xgb.Booster]) -> Path:
    """`save` for a model of several boosters, each written as booster_<name>.json with its
    hash on the card; whole or absent, as `save`."""
    final = model_dir(models_dir, card.model, card.version)
    if final.exists():
        return final
    tmp = final.with_name(f".{card.version}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name, booster in boosters.items():
        path = tmp / f"booster_{name}.json"
        booster.save_model(str(path))
        card.boosters[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp / "card.json").write_text(json.dumps(asdict(card), indent=2, sort_keys=True))
    os.replace(tmp, final)
    return final


def _booster(path: Path, sha256: str) -> xgb.Booster:
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise ModelMismatchError(f"{path.parent}: {path.name} does not match its recorded hash")
    booster = xgb.Booster()
    booster.load_model(bytearray(blob))
    return booster


def load_boosters(
    models_dir: Path, model: str, version: str
) -> tuple[ModelCard, dict[str, xgb.Booster]]:
    """A version written by `save_boosters`: its card and boosters by name."""
    folder = model_dir(models_dir, model, version)
    card = ModelCard(**json.loads((folder / "card.json").read_text()))
    return card, {
        name: _booster(folder / f"booster_{name}.json", sha)
        for name, sha in sorted(card.boosters.items())
    }


def load(models_dir: Path, model: str, version: str) -> tuple[ModelCard, xgb.Booster]:
    folder = model_dir(models_dir, model, version)
    card = ModelCard(**json.loads((folder / "card.json").read_text()))
    return card, _booster(folder / "booster.json", card.booster_sha256)


def set_current(models_dir: Path, model: str, version: str | None, **decision: object) -> None:
    """Record the retrain's decision: `version` is the model version in use (None: none yet);
    `decision` may name a `rival` that publishes instead (with its `calibration`), the day it
    was `decided_for`, the `label_days` learnt and the `evaluation` behind it."""
    pointer = models_dir / model / "current.json"
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": version, **decision}, sort_keys=True, default=float))
    os.replace(tmp, pointer)


def decision(models_dir: Path, model: str) -> dict | None:
    """The last retrain's decision (`set_current`), or None before the first."""
    pointer = models_dir / model / "current.json"
    return json.loads(pointer.read_text()) if pointer.exists() else None


def current(models_dir: Path, model: str) -> ModelCard | None:
    """The card of the model version in use, or None when there is none (before the first
    promotion)."""
    chosen = decision(models_dir, model)
    if not chosen or not chosen.get("version"):
        return None
    folder = model_dir(models_dir, model, chosen["version"])
    if not (folder / "card.json").exists():
        return None
    return ModelCard(**json.loads((folder / "card.json").read_text()))


def feature_types(frame: pl.DataFrame, features: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The dtype of each feature as the table has it, as stored on the model card."""
    return {f: str(frame.schema[f]) for f in features}


def mismatches(card: ModelCard, schema: dict[str, str]) -> list[str]:
    """What differs between the model's features and the table's columns (empty: none)."""
    problems = [f"{f} is missing" for f in card.features if f not in schema]
    problems += [
        f"{f} is {schema[f]}, the model was trained on {card.feature_types.get(f)}"
        for f in card.features
        if f in schema and card.feature_types.get(f) != schema[f]
    ]
    return problems


def check_features(card: ModelCard, schema: dict[str, str]) -> None:
    """Refuse to score when the table's features or their types differ from what the model
    was trained on; `schema` maps the table's columns to dtype names (`feature_types`)."""
    problems = mismatches(card, schema)
    if problems:
        raise ModelMismatchError(
            f"model {card.model} {card.version} cannot score this table: "
            + "; ".join(problems)
            + ". Retrain it (the next run does when the features change) or restore the "
            "table's columns."
        )


def calibrate(card: ModelCard, raw: np.ndarray) -> np.ndarray:
    """Map raw booster output to the score: a probability through the stored isotonic step
    function, or an amount through the stored scale."""
    if card.kind == "regression":
        return raw * card.calibration_scale
    if not card.calibration_x:
        return raw
    return np.interp(raw, np.asarray(card.calibration_x), np.asarray(card.calibration_y))
