"""The `personalize` step: what to show each person (`ml.recommendations`, recommend.py) and
when to send to them (`ml.send_times`, sendtime.py).

Each part opens the work file, does its job and closes it (one writer at a time)."""

from __future__ import annotations

from datetime import date

from pipelines.config import Settings
from pipelines.personalize import recommend, sendtime


def run_personalize(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Run each part of the step for the logical date; returns each part's summary."""
    return {"recommend": recommend.run(settings, logical_date, run_id),
            "sendtime": sendtime.run(settings, logical_date, run_id)}
