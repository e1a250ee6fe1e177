"""`python -m bench.persona_workers WORK_DB [--rows 600,1500,4000]`: how long choosing the
number of personas takes in one process and in two, by the number of customers in the sample.

The personas step scores every k (3-10 by default) in worker processes when it has more than
one core (pipelines.personas.select.score_ks); each spawned process first pays its imports
(Polars, scikit-learn, the pipeline). This measures `select_k` with the step's own settings on a
sample of `--rows` of the work file's customers (features as of `--date`), with one process and
then two, so the choice can rest on figures rather than a guess. Prints one line per run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from threadpoolctl import threadpool_limits

from pipelines.config import Settings
from pipelines.personas import tasks
from pipelines.personas.features import build_features
from pipelines.personas.model import ModelSpec
from pipelines.personas.personas import eligible_customers
from pipelines.personas.select import select_k
from pipelines.warehouse import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_db", type=Path, help="a work file after a daily run")
    parser.add_argument("--rows", default="600,1500,4000")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 10, 31))
    args = parser.parse_args()
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "work.duckdb"  # read from a copy: the work file may be in use
        shutil.copy(args.work_db, copy)
        con = connect(settings, path=copy, read_only=True)
        try:
            inputs = tasks.read_inputs(con)
        finally:
            con.close()
    customers = eligible_customers(build_features(inputs, args.date))
    params = settings.personas
    print(f"{customers.height} customers with a positive net spend", flush=True)
    for rows in (int(r) for r in args.rows.split(",")):
        frame = customers.sample(n=min(rows, customers.height), seed=1).sort("customer_key")
        spec = ModelSpec.from_frame(frame)
        for workers in (1, 2):
            start = time.perf_counter()
            with threadpool_limits(limits=1):  # as the step runs it
                chosen = select_k(spec, frame, params.k_min, params.k_max, params.seeds,
                                  params.bootstraps, params.selection_sample,
                                  params.min_stability, seed=params.seeds[0],
                                  max_iter=params.max_iter, workers=workers)
            print(f"rows={frame.height} processes={workers} k={chosen.k} "
                  f"seconds={time.perf_counter() - start:.2f}", flush=True)


if __name__ == "__main__":
    main()
