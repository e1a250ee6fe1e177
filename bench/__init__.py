"""The benchmark behind `make bench`: the daily run stage by stage, against bare engines."""

from __future__ import annotations

import os
import subprocess

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
