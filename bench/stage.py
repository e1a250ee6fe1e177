"""Run one step of the daily run in this process and print its time and peak memory as JSON.

Each stage runs in its own process (as it does under Airflow), so its peak RSS is its own.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from datetime import date
from pathlib import Path

from pipelines import daily
from pipelines.config import Settings

# What each step imports; timed apart from the work, as the pandas reference imports untimed.
ML = ("xgboost", "scipy.optimize", "sklearn.linear_model", "sklearn.metrics",
      "pipelines.ml.tasks", "pipelines.ml.trainer")
HEAVY = {
    "score_churn": ML,
    "score_ltv": ML,
    "score_lead": ML,
    "forecast_units": ML,
    "audit": ("great_expectations", "pipelines.quality.gate"),
    "report": ("jinja2", "pipelines.report.html"),
    "find_personas": (
        "scipy.special", "scipy.optimize", "sklearn.cluster", "pipelines.personas.tasks",
    ),
}


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage: Linux keeps ru_maxrss across exec,
    so a stage started by a bench that had just simulated a world would report the bench's
    peak; /proc's high-water mark starts again with the new program."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    step, day, run_id, *args = sys.argv[1:]
    settings = Settings.from_env()
    start = time.perf_counter()
    for module in ("polars", "duckdb", *HEAVY.get(step, ())):
        importlib.import_module(module)
    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = getattr(daily, step)(settings, *args, date.fromisoformat(day), run_id)
    seconds = time.perf_counter() - start
    own = peak_rss_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "import_seconds": import_seconds,
                      "peak_rss_mb": max(own, children),
                      "result": out}, default=str))


if __name__ == "__main__":
    main()
