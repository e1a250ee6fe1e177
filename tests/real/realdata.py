"""Helpers of the real-data tests: a real file put in a landing folder, the daily run's first
steps on a data home."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import source_names


def link_landing(settings: Settings, source: str, export_date: str, name: str,
                 target: Path) -> Path:
    """Put `target` in the landing folder as a link named as an export of `source` is."""
    path = settings.landing_dir / source / export_date / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def run_daily_ingest_and_transform(settings: Settings, logical_date: date, run_id: str) -> dict:
    """The daily run's first steps, as the DAG runs them: every source's ingest task (those
    without files load nothing), then `transform` (dbt build with its tests)."""
    for source in source_names():
        daily.ingest(settings, source, logical_date, run_id)
    return daily.transform(settings, logical_date, run_id)
