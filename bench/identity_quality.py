"""`python -m bench.identity_quality --scale s --identity-noise`: identity resolution's figures
against the truth and the identity step's time, without the rest of the daily run.

On the cached world of `bench/__main__.py` (a copy of it, since it is continued by a day):
ingest and `dbt build` (the report models excepted) for the end date, the identity figures of
`bench.quality.identity_pairs` (ours, exact links only, the exact-match and evidence
ceilings, the fuzzy-only pairs), then one more day simulated, ingested and built, and the
identity models' dbt time in each build (`bench.__main__.identity_seconds`). `make bench` has
the same rows and line in its full report. Writes
`bench/results/identity-<scale>[-noisy]-<commit>.md` and `.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import timedelta

from bench import IDENTITY_NOISE_ENV, commit, identity_noise_asked, quality
from bench.__main__ import (
    DAY,
    identity_models,
    identity_rows,
    identity_seconds,
    identity_timing,
    run_stage,
    world,
)
from pipelines.config import REPO_ROOT, Settings
from pipelines.ingest.sources import source_names
from pipelines.transform import dbt_paths, read_run_results


def build(home, run_id: str, day) -> dict[str, float]:
    """Ingest every source and build the models for `day`; the build's dbt timings."""
    for source in source_names():
        run_stage(home, "ingest", source, run_id, day)
    run_stage(home, "transform", None, run_id, day)
    return read_run_results(dbt_paths(Settings(home=home))[0] / "run_results.json").timings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.identity_quality")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--identity-noise", action="store_true",
                        help=f"the world with identity noise (or env {IDENTITY_NOISE_ENV}=1)")
    args = parser.parse_args()
    noise = args.identity_noise or identity_noise_asked()

    root = world(args.scale, args.seed, noise)
    home = root / "identity"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(root / "world", home / "world")
    (home / "landing").symlink_to(home / "world" / "landing")
    full = build(home, "identity_full", DAY)
    figures = quality.identity_pairs(Settings(home=home).work_db, root / "world" / "truth")
    from simulator import continue_days

    continue_days(Settings(home=home / "world"), 1)
    next_day = build(home, "identity_next_day", DAY + timedelta(days=1))
    seconds = {"full": identity_seconds(full), "next_day": identity_seconds(next_day)}
    result = {"scale": args.scale, "seed": args.seed, "identity_noise": noise,
              "commit": commit(), "identity": figures, "identity_seconds": seconds,
              "identity_models": {"full": identity_models(full),
                                  "next_day": identity_models(next_day)}}
    table = "\n".join([
        f"### identity at scale `{args.scale}`{' (identity noise)' if noise else ''}, "
        f"commit {result['commit']}", "", "| quality | value |", "|---|---:|",
        *identity_rows(figures), "", identity_timing(seconds)])  # fmt: skip
    out = REPO_ROOT / "bench" / "results" / (
        f"identity-{args.scale}{'-noisy' if noise else ''}-{result['commit']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
