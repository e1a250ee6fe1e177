"""`python -m bench.simulate --scale l --history-days 365`: time the simulator alone.

Simulates into a temporary folder, measures wall time, peak memory (RSS) and rows written,
then deletes the world. For scales whose files the pipeline benchmark cannot hold on this disk
(l over two years is some 60 GB of landing files); `python -m bench` reports the same figures
for the world it simulates and keeps.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench import commit, identity_noise_asked
from pipelines.config import REPO_ROOT, SCALES, Settings

# Counts that are not rows of a file: the number of GA4 files, and Mailchimp members, which
# are the rows of the four status files counted again.
NOT_ROWS = ("ga4_files", "mailchimp_members")


def rows_written(counts: dict[str, int]) -> int:
    """Rows of every landing file the simulator wrote (truth tables left out)."""
    return sum(v for k, v in counts.items() if not k.startswith("truth_") and k not in NOT_ROWS)


def run(scale: str, seed: int, history_days: int, where: Path,
        identity_noise: bool = False) -> dict:  # fmt: skip
    from simulator import simulate

    home = Path(tempfile.mkdtemp(prefix=f"simulate-{scale}-", dir=where))
    try:
        start = time.perf_counter()
        counts = simulate(Settings(home=home), scale=scale, seed=seed, history_days=history_days,
                          identity_noise=identity_noise)  # fmt: skip
        seconds = time.perf_counter() - start
        landing_bytes = sum(p.stat().st_size for p in (home / "landing").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    rows = rows_written(counts)
    return {
        "scale": scale,
        "people": SCALES[scale],
        "seed": seed,
        "history_days": history_days,
        "identity_noise": identity_noise,
        "commit": commit(),
        "seconds": seconds,
        "rows": rows,
        "rows_per_second": rows / seconds,
        "landing_gb": landing_bytes / 1e9,
        # The simulation is this process's only heavy work: its peak is the simulator's.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate")
    parser.add_argument("--scale", default="m", choices=sorted(SCALES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--where", type=Path, default=REPO_ROOT / "data" / "bench")
    parser.add_argument("--identity-noise", action="store_true",
                        help="the world with the simulator's identity noise (or env "
                             "BENCH_IDENTITY_NOISE=1)")
    args = parser.parse_args()
    args.where.mkdir(parents=True, exist_ok=True)
    noise = args.identity_noise or identity_noise_asked()
    r = run(args.scale, args.seed, args.history_days, args.where, noise)
    suffix = "-noisy" if noise else ""
    out = REPO_ROOT / "bench" / "results" / f"simulate-{args.scale}{suffix}-{r['commit']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2))
    print(
        f"| simulate {r['scale']} ({r['people']:,} people, {r['history_days']} days) | "
        f"{r['seconds']:.0f} s | {r['rows']:,} rows | {r['rows_per_second']:,.0f} rows/s | "
        f"peak {r['peak_rss_mb'] / 1024:.2f} GiB | {r['landing_gb']:.1f} GB of files |"
    )


if __name__ == "__main__":
    main()
