"""The benchmark behind `make bench`: the daily run stage by stage, against bare engines."""

from __future__ import annotations

import subprocess

from pipelines.config import REPO_ROOT


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
