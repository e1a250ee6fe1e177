"""`python -m bench.orchestration --scale s`: how much of a one-day `marketing run` is
orchestration rather than the steps' work (issue 36: under 20% at `s`).

On a copy of the bench world (`bench.__main__.world`): `marketing run` for its end date (the
first run), one more day simulated, then `marketing run` for that day, timed. Airflow runs
every task in the one `airflow dags test` process, so the one-day run's wall time splits into:
- **Airflow and the CLI outside the tasks**: the wall time less the tasks' durations (the
  console's step lines): the CLI's and Airflow's start-up, parsing the DAG, the metadata
  database, the run's checks;
- **dbt start-up, parse and per-node overhead**: each dbt step's duration less the execution
  time of the nodes it ran (its `run_results.json`), which leaves dbt's start-up and parse, its
  per-node bookkeeping and the step's own Python around dbt;
- **Python imports**: the libraries and modules the steps import (bench.stage's lists), timed
  in a fresh interpreter: paid once per run, inside the first task that needs each;
- **the work**: the rest.

Writes bench/results/orchestration-<scale>-<commit>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from bench import commit
from bench.__main__ import DAY, world
from bench.stage import HEAVY
from pipelines.config import REPO_ROOT, Settings
from pipelines.transform import REPORTS_TARGET, dbt_paths, read_run_results

# The console's line for a finished step (pipelines.console.StepLine.render).
STEP_LINE = re.compile(r"^(?:ok  |FAIL) (\S+)\s+([0-9.]+) s\b", re.MULTILINE)
# The steps that run dbt, with the target folder each writes its run results to.
DBT_STEPS = {"transform": "target", "transform_reports": REPORTS_TARGET}


@dataclass(frozen=True)
class Overhead:
    """A run's wall time split into orchestration and work, in seconds."""

    wall: float
    outside_tasks: float
    dbt_overhead: float
    imports: float

    @property
    def orchestration(self) -> float:
        return self.outside_tasks + self.dbt_overhead + self.imports

    @property
    def work(self) -> float:
        return self.wall - self.orchestration


def step_seconds(console: str) -> dict[str, float]:
    """Each step's duration from `marketing run`'s output."""
    return {task: float(seconds) for task, seconds in STEP_LINE.findall(console)}


def split(wall: float, steps: dict[str, float], dbt_nodes: dict[str, float],
          imports: float) -> Overhead:  # fmt: skip
    """The run's wall time split; `dbt_nodes`: per dbt step, its nodes' summed execution."""
    missing = set(dbt_nodes) - set(steps)
    if missing:
        raise ValueError(f"no step line for the dbt steps {sorted(missing)}")
    # A build the run kept (pipelines/reuse.py) ran no dbt: its run results are an earlier
    # invocation's, and would count as negative overhead.
    stale = sorted(s for s, nodes in dbt_nodes.items() if nodes > steps[s])
    if stale:
        raise ValueError(f"the dbt steps {stale} took less than their nodes: their run results "
                         "are not this run's (was the build kept?)")
    return Overhead(wall=wall, outside_tasks=wall - sum(steps.values()),
                    dbt_overhead=sum(steps[s] - n for s, n in dbt_nodes.items()),
                    imports=imports)  # fmt: skip


def table(o: Overhead, scale: str, sha: str) -> str:
    """The Markdown table: each part's seconds and share of the one-day run."""
    rows = [("Airflow and the CLI outside the tasks", o.outside_tasks),
            ("dbt start-up, parse and per-node overhead", o.dbt_overhead),
            ("Python imports (once per run)", o.imports),
            ("**orchestration**", o.orchestration),
            ("the steps' work", o.work)]  # fmt: skip
    lines = [f"### orchestration in the one-day `marketing run` at `{scale}`, commit {sha}", "",
             "| part | seconds | share of the run |", "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.1f} | {seconds / o.wall:.1%} |" for name, seconds in rows]
    lines.append(f"| one-day run, wall | {o.wall:.1f} | 100% |")
    return "\n".join(lines)


def import_seconds() -> float:
    """The steps' imports (bench.stage: what each step imports, and polars and duckdb) in a
    fresh interpreter, as the run's one process pays them."""
    modules = sorted({"polars", "duckdb", "pipelines.daily",
                      *(m for heavy in HEAVY.values() for m in heavy)})  # fmt: skip
    code = ("import importlib, time; t = time.perf_counter()\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO_ROOT)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def marketing_run(home: Path, day) -> tuple[float, str]:
    """`marketing run --date day` on `home`: its wall time and output; fails loudly."""
    marketing = Path(sys.executable).parent / "marketing"
    env = {**os.environ, "MARKETING_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.run([str(marketing), "run", "--date", day.isoformat()], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"marketing run --date {day} failed:\n{proc.stdout[-3000:]}"
                         f"{proc.stderr[-3000:]}")  # fmt: skip
    return wall, proc.stdout


def dbt_node_seconds(settings: Settings) -> dict[str, float]:
    """Per dbt step, the summed execution time of the nodes its last build ran."""
    return {step: sum(read_run_results(dbt_paths(settings, target)[0] / "run_results.json")
                      .timings.values())
            for step, target in DBT_STEPS.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestration")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    root = world(args.scale, args.seed, identity_noise=False)
    home = root / "orchestration"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(root / "world", home)
    settings = Settings(home=home)
    first_wall, _ = marketing_run(home, DAY)
    from simulator import continue_days

    continue_days(settings, 1)
    wall, console = marketing_run(home, DAY + timedelta(days=1))
    overhead = split(wall, step_seconds(console), dbt_node_seconds(settings), import_seconds())
    sha = commit()
    text = table(overhead, args.scale, sha)
    out = REPO_ROOT / "bench" / "results" / f"orchestration-{args.scale}-{sha}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(
        {"scale": args.scale, "seed": args.seed, "commit": sha, "first_run_wall": first_wall,
         **asdict(overhead), "orchestration": overhead.orchestration, "work": overhead.work,
         "steps": step_seconds(console)}, indent=2))  # fmt: skip
    out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
