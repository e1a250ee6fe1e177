"""Model registry on disk: `models/<model>/<version>/` with booster, calibration and metadata.

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
import xgboost as xgb


class ModelMismatchError(RuntimeError):
    """The stored model expects other features than the table offers."""


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


def load(models_dir: Path, model: str, version: str) -> tuple[ModelCard, xgb.Booster]:
    folder = model_dir(models_dir, model, version)
    card = ModelCard(**json.loads((folder / "card.json").read_text()))
    blob = (folder / "booster.json").read_bytes()
    if hashlib.sha256(blob).hexdigest() != card.booster_sha256:
        raise ModelMismatchError(f"{folder}: booster.json does not match its recorded hash")
    booster = xgb.Booster()
    booster.load_model(bytearray(blob))
    return card, booster


def set_current(models_dir: Path, model: str, version: str) -> None:
    """Make `version` the one that scores until the next scheduled retrain."""
    pointer = models_dir / model / "current.json"
    tmp = pointer.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": version}))
    os.replace(tmp, pointer)


def current(models_dir: Path, model: str) -> ModelCard | None:
    """The card of the model that scores now, or None before the first training."""
    pointer = models_dir / model / "current.json"
    if not pointer.exists():
        return None
    version = json.loads(pointer.read_text())["version"]
    folder = model_dir(models_dir, model, version)
    if not (folder / "card.json").exists():
        return None
    return ModelCard(**json.loads((folder / "card.json").read_text()))


def check_features(card: ModelCard, available: list[str]) -> None:
    """Refuse to score when the table's features differ from what the model was trained on."""
    missing = [f for f in card.features if f not in available]
    if missing:
        raise ModelMismatchError(
            f"model {card.model} {card.version} needs features the table lacks: {missing}"
        )


def calibrate(card: ModelCard, raw: np.ndarray) -> np.ndarray:
    """Map raw scores to probabilities with the stored isotonic step function."""
    if not card.calibration_x:
        return raw
    return np.interp(raw, np.asarray(card.calibration_x), np.asarray(card.calibration_y))
