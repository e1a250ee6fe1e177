"""The benchmark behind `make bench`: the daily run stage by stage, against bare engines."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from pipelines.config import REPO_ROOT

# Set to 1 (or pass `--identity-noise` to `python -m bench` or `bench.simulate`) for worlds with
# the simulator's identity noise (`simulator.identity_noise`), cached apart under
# `data/bench/<scale>-seed<n>-noisy/`. Read when a world is asked for, by every bench that
# takes its world from `bench.__main__.world`.
IDENTITY_NOISE_ENV = "BENCH_IDENTITY_NOISE"


def identity_noise_asked() -> bool:
    """Whether the bench's worlds have identity noise: env BENCH_IDENTITY_NOISE is 1, true or
    yes."""
    return os.environ.get(IDENTITY_NOISE_ENV, "").strip().lower() in ("1", "true", "yes")


def commit() -> str:
    """The short hash of the checked-out commit, which names the results files."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def simulator_fingerprint() -> str:
    """A hash of the simulator's source files. A cached world records the one that made it, so
    a change to the simulator (a new rule for emails, say) simulates the world again instead of
    scoring today's pipeline on yesterday's world."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "simulator").rglob("*.py")):
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def world_is_current(root: Path) -> bool:
    """Whether the world cached under `root` (its `world/.complete` marker) was made by the
    simulator as it is now."""
    marker = root / "world" / ".complete"
    return marker.exists() and marker.read_text().strip() == simulator_fingerprint()


def mark_world_complete(root: Path) -> None:
    """Mark the world under `root` as complete, made by the simulator as it is now."""
    (root / "world" / ".complete").write_text(simulator_fingerprint())
