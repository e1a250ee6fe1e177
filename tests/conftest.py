"""Shared fixtures: settings on a temporary data home, and tiny landing files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from pipelines.config import Settings

# No time limit per example: speed is the benchmark's to measure, and on a loaded machine (two
# pytest workers on two cores) a first example that warms up Polars or DuckDB can take 200 ms.
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "data", duckdb_memory_limit="1GB", duckdb_threads=1)


def write_landing(settings: Settings, source: str, day: str, name: str, text: str,
                  encoding: str = "utf-8") -> Path:
    """Drop a file into the landing folder as an integration would."""
    path = settings.landing_dir / source / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
