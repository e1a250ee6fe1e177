"""The transform step with emails and phones normalised by the Python UDFs, beside the SQL macros
they replaced, on one bench world: `python -m bench.normalize --scale s --base ea2caa8`.

The world is ingested once; each round copies that work file and runs `dbt build` (the
transform step) with the project of `--base` (SQL macros) and with this checkout's, alternating,
then times reading every staging model that normalises (a view: every reader pays it). Last,
the phone rule on the shop's order lines once per distinct value against once per row.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tarfile
import time
from io import BytesIO
from pathlib import Path

from bench.__main__ import DAY, empty_home, world
from pipelines import daily
from pipelines.config import REPO_ROOT, Settings
from pipelines.ingest.sources import source_names
from pipelines.normalize import arrays, rules
from pipelines.transform import DAILY_EXCLUDE, REPORT_TAG, run_dbt
from pipelines.warehouse import connect

NORMALISED = {
    "stg_hubspot__contacts": "count(email), count(phone_e164)",
    "stg_mailchimp__members": "count(email), count(phone_e164)",
    "stg_mailchimp__email_activity": "count(email)",
    "stg_shop__customers": "count(email), count(phone_e164)",
    "stg_shop__orders": "count(email), count(phone_e164)",
    "stg_typeform__responses": "count(email)",
}


def base_project(rev: str, target: Path) -> Path:
    """The dbt project as it was at `rev`."""
    archive = subprocess.run(["git", "archive", rev, "dbt_project"], cwd=REPO_ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "dbt_project"


def read_staging(settings: Settings) -> tuple[float, list]:
    con = connect(settings, read_only=True)
    try:
        start = time.perf_counter()
        counts = [con.sql(f"select {cols} from staging.{m}").fetchall()[0]
                  for m, cols in NORMALISED.items()]
        return time.perf_counter() - start, counts
    finally:
        con.close()


def distinct_against_every_row(settings: Settings) -> dict:
    """Seconds for the phones of `stg_shop__orders` (an order's phone on each of its lines):
    the rule once per distinct value, as dbt and the exports call it, and once per row."""
    con = connect(settings, read_only=True)
    try:
        lines = con.sql("select phone_raw, billing_country from staging.stg_shop__orders").pl()
    finally:
        con.close()
    rules.phone_e164.cache_clear()
    start = time.perf_counter()
    arrays.phone_e164(lines["phone_raw"], lines["billing_country"], settings.default_country)
    distinct = time.perf_counter() - start
    start = time.perf_counter()
    for phone, country in lines.iter_rows():
        rules.phone_e164.__wrapped__(phone, country, settings.default_country)
    every_row = time.perf_counter() - start
    return {"rows": lines.height, "distinct": lines.unique().height,
            "distinct_s": round(distinct, 3), "every_row_s": round(every_row, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--base", default="ea2caa8")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = world(args.scale, args.seed)
    home = empty_home(root, "normalize-timing")
    settings = Settings(home=home)
    for source in source_names():
        daily.ingest(settings, source, DAY, "normalize-timing")
    ingested = home / "ingested.duckdb"
    shutil.copy(settings.work_db, ingested)
    variants = {"sql": Settings(home=home, dbt_project_dir=base_project(args.base, home / "base")),
                "udf": settings}
    results: dict[str, list] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, variant in variants.items():
            shutil.copy(ingested, variant.work_db)
            start = time.perf_counter()
            run_dbt(variant, ["build", "--exclude", REPORT_TAG, *DAILY_EXCLUDE], DAY,
                    target=f"target-{name}")
            build = time.perf_counter() - start
            read, counts = read_staging(variant)
            results[name].append({"build_s": round(build, 1), "read_staging_s": round(read, 2),
                                  "counts": counts})
            print(name, json.dumps(results[name][-1]), flush=True)
    print(json.dumps({**results, "phones": distinct_against_every_row(settings)}))


if __name__ == "__main__":
    main()
