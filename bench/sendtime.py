"""`python -m bench.sendtime --scale s --seeds 1 2 3`: the chosen send hours against the truth.

Per seed: the bench world (`bench.__main__.world`), the daily steps up to `find_personas` on its
end date (ingest, transform, the scores personas use, personas; cached under the world's folder
as `sendtime/`), then the send-time part of the personalize step, and
`pipelines.personalize.sendtime_eval.hour_accuracy` against `truth/send_times.parquet`: the
share of contacts whose chosen local hour is within one hour of their hidden one, for contacts
with 10 or more opens (the goal: at least 60%) and for thinner ones. Prints a table and writes
`bench/results/sendtime-<scale>-<commit>.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl

from bench import commit
from bench.__main__ import DAY, STEPS, run_stage, world
from pipelines.config import REPO_ROOT, Settings
from pipelines.personalize import sendtime, sendtime_store
from pipelines.personalize.sendtime_eval import hour_accuracy, rival_hours

BEFORE = "find_personas"  # the last step send times read from


def _read(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def prepared_home(root: Path) -> Path:
    """A home whose work file holds the steps up to personas on the world's end date."""
    home = root / "sendtime"
    done = home / ".prepared"
    if done.exists():
        return home
    if home.exists():
        import shutil

        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / "landing").symlink_to(root / "world" / "landing")
    upto = STEPS[: [s for s, _ in STEPS].index(BEFORE) + 1]
    for step, arg in upto:
        run_stage(home, step, arg, "sendtime-bench")
    done.touch()
    return home


def measure(scale: str, seed: int) -> dict:
    root = world(scale, seed)
    home = prepared_home(root)
    settings = Settings(home=home)
    start = time.perf_counter()
    summary = sendtime.run(settings, DAY, "sendtime-bench")
    seconds = time.perf_counter() - start
    db = settings.work_db
    chosen = _read(db, "select * from ml.send_times")
    emails = _read(db, "select customer_key, email from marts.dim_customers "
                       "where email is not null")
    raw = _read(db, "select customer_key, count(*) as raw_opens from marts.fct_email_events "
                    "where action = 'open' and customer_key is not null group by all")
    truth = pl.read_parquet(root / "world" / "truth" / "send_times.parquet")
    return {"scale": scale, "seed": seed, "seconds": round(seconds, 2), "summary": summary,
            "accuracy": hour_accuracy(chosen, emails, truth, raw),
            "rivals": rivals(settings, chosen, emails, truth, raw)}


def rivals(settings: Settings, chosen: pl.DataFrame, emails: pl.DataFrame,
           truth: pl.DataFrame, raw: pl.DataFrame) -> dict:
    """Each simple rival's accuracy, on the model's groups (its `opens`)."""
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        from pipelines.normalize import udfs

        udfs.register(con)
        contacts = sendtime_store.read_contacts(con)
        events = sendtime_store.read_events(con, DAY + timedelta(days=1))
    finally:
        con.close()
    hours = rival_hours(contacts, events)
    out = {}
    for rival in ("list", "persona", "naive"):
        picked = chosen.drop("best_hour_local").join(
            hours.select("customer_key", pl.col(rival).alias("best_hour_local")),
            on="customer_key")
        out[rival] = hour_accuracy(picked, emails, truth, raw)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    results = [measure(args.scale, seed) for seed in args.seeds]
    print("| seed | method | group | contacts | within 1 h | exact |")
    print("|---|---|---|---|---|---|")
    for r in results:
        for method, accuracy in [("model", r["accuracy"]), *r["rivals"].items()]:
            for group, a in accuracy.items():
                print(f"| {r['seed']} | {method} | {group} | {a['contacts']:,} | "
                      f"{a['within_1h']} | {a['exact']} |")
    out = REPO_ROOT / "bench" / "results" / f"sendtime-{args.scale}-{commit()}.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(out)


if __name__ == "__main__":
    main()
