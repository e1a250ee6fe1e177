"""`python -m bench.scale_up --scale m --times 10`: churn scoring and persona clustering at ten
times a finished bench run's size (scale `l`, 1M customers, from `m`).

A simulated `l` world does not fit this machine's disk (`m`'s landing files take 5.6 GB, `l`'s
would take ten times that, and the run copies them). Scoring and clustering cost what their rows
cost, so this repeats the run's own customers under new keys, `times` times, and times the
steps' own functions on them: the churn model the run trained (its buy-till-you-die columns
refit on the larger population, as the daily step does) and a fresh persona fit (choosing k,
fitting on a sample, refining on every customer), on one thread as the segment task runs.

Run it after `make bench SCALE=<scale>`; it reads `data/bench/<scale>-seed<seed>/run`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date

import polars as pl
from threadpoolctl import threadpool_limits

from pipelines.config import REPO_ROOT, Settings
from pipelines.ml import churn, registry, trainer
from pipelines.ml.features import read_features, with_btyd
from pipelines.ml.labels import active
from pipelines.personas.features import build_features, email_reads
from pipelines.personas.personas import find_personas
from pipelines.personas.tasks import read_inputs, read_rfm
from pipelines.warehouse import connect


def repeat(frame: pl.DataFrame, times: int) -> pl.DataFrame:
    """`frame` `times` over, each copy's `customer_key` made new by a suffix."""
    return pl.concat(
        frame.with_columns(pl.col("customer_key") + f"~{i}") for i in range(times)
    )


def score_churn_at(settings: Settings, times: int, day: date) -> dict:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        features = read_features(con).filter(pl.col("as_of_date") == day)
    finally:
        con.close()
    features = repeat(features, times)
    card = registry.current(settings.models_dir, churn.MODEL)
    if card is None:
        raise SystemExit(f"{settings.models_dir}: no churn model; run make bench first")
    card, booster = registry.load(settings.models_dir, churn.MODEL, card.version)
    start = time.perf_counter()
    current = active(with_btyd(features)).sort("customer_key")
    btyd = time.perf_counter() - start
    scores = trainer.score_with(churn.SPEC, card, booster, current, day)
    return {"customers": current.height, "rows": scores.height, "btyd_seconds": btyd,
            "seconds": time.perf_counter() - start}


def personas_at(settings: Settings, times: int, day: date) -> dict:
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        inputs = read_inputs(con)
        rfm = read_rfm(con)
    finally:
        con.close()
    features = repeat(build_features(inputs, day), times).sort("customer_key")
    reads = repeat(email_reads(inputs, day), times)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        result = find_personas(features, reads, None, settings.personas, day,
                               repeat(rfm, times))
    return {"customers": features.height, "k": result.state.k,
            "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_up")
    parser.add_argument("--scale", default="m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--steps", default="churn,personas",
                        help="comma-separated: churn, personas")
    args = parser.parse_args()
    settings = Settings(home=REPO_ROOT / "data" / "bench" / f"{args.scale}-seed{args.seed}" / "run")
    if not settings.work_db.exists():
        raise SystemExit(f"{settings.work_db}: no bench run; run make bench SCALE={args.scale}")
    # The bench ends with its one-more-day run: score as of that run's date.
    con = connect(settings, path=settings.work_db, read_only=True)
    try:
        day = con.sql("select max(as_of_date) from marts.customer_features").fetchall()[0][0]
    finally:
        con.close()
    steps = set(args.steps.split(","))
    result: dict = {"from_scale": args.scale, "times": args.times, "as_of_date": day.isoformat()}
    lines = [f"| step, {args.scale} repeated {args.times}x | customers | seconds |",
             "|---|---:|---:|"]
    if "churn" in steps:
        s = result["score_churn"] = score_churn_at(settings, args.times, day)
        lines.append(f"| churn scoring: BTYD refit {s['btyd_seconds']:.1f} s, then model and "
                     f"reasons | {s['customers']:,} | {s['seconds']:.1f} |")
    if "personas" in steps:
        p = result["personas"] = personas_at(settings, args.times, day)
        lines.append(f"| personas, fresh fit (k={p['k']}) | {p['customers']:,} | "
                     f"{p['seconds']:.1f} |")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = f"scale-up-{args.scale}x{args.times}-{'-'.join(sorted(steps))}.json"
    (REPO_ROOT / "bench" / "results" / name).write_text(json.dumps(result, indent=2))
    print("\n".join([*lines, f"peak RSS {result['peak_rss_mb']:,.0f} MB"]))


if __name__ == "__main__":
    main()
