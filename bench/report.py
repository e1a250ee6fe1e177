"""`python -m bench.report --scale m`: the report's size and render time in headless Chromium.

Runs the daily steps on the cached bench world of that scale and seed (`bench.__main__.world`:
simulated once, reused), in a home of its own beside it (`data/bench/<scale>-seed<n>/report`,
its landing folder the world's), then measures the day's report (`reports/<date>/index.html`)
and the quality pages' index beside it:

- bytes on disk (the report must stay under 2 MB at `m`: it travels as an e-mail attachment);
- render time in Debian's Chromium, headless, through the browser tests' harness
  (tests/browser/harness.py): navigation start to the load event and first contentful paint,
  the median of `--loads` fresh loads (under 2 s at `m`); a load with a console error or a
  request off the page fails the bench rather than counting.

`--reuse` keeps an earlier run's ingest, models and scores in that home and runs again only the
steps from the report models on (transform_reports, export, audit, publish, report): for work
on the report and its dbt models, at a fraction of a full run. Writes
bench/results/report-<scale>-<commit>.json and .md and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from bench import commit
from bench.__main__ import DAY, STEPS, daily_run, empty_home, run_stage, world
from pipelines.config import REPO_ROOT, Settings
from tests.browser.harness import chromium, chromium_executable

# The targets the report issue sets for scale m.
MAX_BYTES = 2_000_000
MAX_RENDER_MS = 2_000.0


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def measure(report: Path, quality_index: Path, loads: int) -> dict:
    """Size and render times of the report and of the quality pages' index."""
    with chromium() as browser:
        report_ms = browser.render_times(report, loads)
        quality_ms = browser.render_times(quality_index, loads, allow=(quality_index.parent,))
    return {
        "report_bytes": report.stat().st_size,
        "report_render_ms": report_ms,
        "report_render_ms_median": statistics.median(report_ms),
        "quality_index_bytes": quality_index.stat().st_size,
        "quality_folder_bytes": folder_bytes(quality_index.parent),
        "quality_pages": sum(1 for _ in (quality_index.parent / "validations").glob("*.html")),
        "quality_render_ms": quality_ms,
        "quality_render_ms_median": statistics.median(quality_ms),
    }


def markdown(r: dict) -> str:
    size_ok = "under" if r["report_bytes"] < MAX_BYTES else "OVER"
    time_ok = "under" if r["report_render_ms_median"] < MAX_RENDER_MS else "OVER"
    loads = len(r["report_render_ms"])
    return "\n".join([
        f"### report, scale `{r['scale']}` ({r['people']:,} people), commit {r['commit']}",
        "",
        f"{r['machine']}; {r['browser']}; median of {loads} loads; "
        + ("the report steps rerun on an earlier run's scores."
           if r.get("reused_scores") else "after a full daily run."),
        "",
        "| page | bytes | render ms (median) | all loads ms | note |",
        "|---|---:|---:|---|---|",
        f"| report `index.html` | {r['report_bytes']:,} | "
        f"{r['report_render_ms_median']:.0f} | "
        f"{', '.join(f'{t:.0f}' for t in r['report_render_ms'])} | "
        f"{size_ok} 2 MB, {time_ok} 2 s; built in {r['report_seconds']:.1f} s |",
        f"| quality `index.html` | {r['quality_index_bytes']:,} | "
        f"{r['quality_render_ms_median']:.0f} | "
        f"{', '.join(f'{t:.0f}' for t in r['quality_render_ms'])} | "
        f"{r['quality_pages']} suite pages, folder {r['quality_folder_bytes']:,} bytes |",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("--scale", default="m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--reuse", action="store_true",
                        help="keep an earlier run's scores; rerun from the report models on")
    args = parser.parse_args()

    root = world(args.scale, args.seed)
    home = root / "report"
    settings = Settings(home=home)
    run_id = "bench_report"
    started = time.perf_counter()
    if args.reuse and settings.work_db.exists():
        steps = STEPS[STEPS.index(("transform_reports", None)):]
        stages = [run_stage(home, step, arg, run_id, DAY) for step, arg in steps]
    else:
        empty_home(root, "report")
        stages = daily_run(home, run_id, DAY)
    pipeline_seconds = time.perf_counter() - started
    stage = stages[-1]  # the report step
    report = settings.reports_dir / DAY.isoformat() / "index.html"
    quality_index = settings.reports_dir / DAY.isoformat() / "quality" / "index.html"
    simulated = json.loads((root / "world" / "simulate.json").read_text())
    result = {
        "scale": args.scale,
        "seed": args.seed,
        "commit": commit(),
        "people": simulated["counts"]["truth_customers"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "browser": chromium_version(chromium_executable()),
        "pipeline_seconds": pipeline_seconds,
        "reused_scores": len(stages) < len(STEPS),
        "report_seconds": stage["seconds"],
        "report_peak_rss_mb": stage["peak_rss_mb"],
        **measure(report, quality_index, args.loads),
    }
    out = REPO_ROOT / "bench" / "results" / f"report-{args.scale}-{result['commit']}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


def chromium_version(executable: str) -> str:
    """`Chromium 1xx.0...` as the browser reports itself."""
    proc = subprocess.run([executable, "--version"], capture_output=True, text=True,
                          check=False)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return lines[-1].strip() if lines else executable


if __name__ == "__main__":
    main()
