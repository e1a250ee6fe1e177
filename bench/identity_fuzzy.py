"""`python -m bench.identity_fuzzy --people 65000 --new 1000 --rounds 3`: the probabilistic
identity matcher at scale.

On the synthetic population of tests/unit/fuzzy_world.py (65,000 people are about 100k
records): `train`, a full `match`, and the daily incremental `match` of `--new` records
against all, each `--rounds` times (the median and the range are printed: the machine's
speed varies from minute to minute). Beside the incremental run it times the way it does not
take, a full-run blocking join with "and (l.is_new or r.is_new)" in each rule, in alternate
order. Precision and recall of the full run against the truth, the threshold and the model's
expected precision. Writes `bench/results/identity-fuzzy-<people>-<commit>.json`.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from bench import commit
from pipelines.config import REPO_ROOT
from pipelines.identity import fuzzy
from pipelines.identity.features import INPUT_COLUMNS, comparison_columns
from tests.unit.fuzzy_world import population, true_pairs


def timed(fn: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def blocking_filter(records: pl.DataFrame, model: dict, new: pl.Series) -> pl.DataFrame:
    """The incremental run as a full run whose blocking keeps pairs with a new record."""
    frame = comparison_columns(records).with_columns(
        is_new=pl.col("record_key").is_in(new.implode()))
    settings = copy.deepcopy(model)
    settings["blocking_rules_to_generate_predictions"] = [
        {**rule, "blocking_rule": f"{rule['blocking_rule']} and (l.is_new or r.is_new)"}
        for rule in fuzzy._prediction_rules(model)
    ]  # fmt: skip
    linker, _, con = fuzzy._linker(frame, settings)
    try:
        scored = linker.inference.predict(threshold_match_probability=fuzzy.MIN_THRESHOLD,
                                          warning_mode="never")  # fmt: skip
        return con.sql(f"select record_key_l, record_key_r from {scored.physical_name}").pl()
    finally:
        con.close()


def measure(people: int, n_new: int, rounds: int) -> dict:
    world = population(seed=1, n_people=people)
    records = world.select(INPUT_COLUMNS)
    new = records["record_key"].sample(n_new, seed=3)
    train_s, model = timed(lambda: fuzzy.train(records), rounds)
    full_s, full = timed(lambda: fuzzy.match(records, model), rounds)
    incremental_s, filter_s = [], []
    for i in range(rounds):
        order = [("incremental", incremental_s), ("filter", filter_s)]
        for name, times in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            if name == "incremental":
                incremental = fuzzy.match(records, model, new=new, threshold=full.threshold)
            else:
                blocking_filter(records, model, new)
            times.append(time.perf_counter() - start)
    truth = true_pairs(world)
    accepted = full.pairs.join(truth, on=["record_key_l", "record_key_r"], how="left")
    missing = truth.filter(~pl.col("same_cluster"))
    found = missing.join(full.pairs, on=["record_key_l", "record_key_r"], how="semi")
    involved = pl.col("record_key_l").is_in(new.implode()) | pl.col("record_key_r").is_in(
        new.implode())
    return {
        "records": records.height, "new": n_new, "rounds": rounds,
        "train_s": train_s, "match_full_s": full_s,
        "match_incremental_s": incremental_s, "match_incremental_blocking_filter_s": filter_s,
        "pairs": full.pairs.height, "threshold": full.threshold,
        "expected_precision": full.expected_precision, "guarded": full.guarded,
        "precision": float(accepted["same_cluster"].is_not_null().mean()),
        "recall": found.height / missing.height,
        "incremental_equals_full": incremental.pairs.equals(full.pairs.filter(involved)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=65_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = measure(args.people, args.new, args.rounds)
    for key, value in result.items():
        if isinstance(value, list):
            print(f"{key:40s} median {statistics.median(value):7.2f} s  "
                  f"({min(value):.2f}-{max(value):.2f})")  # fmt: skip
        else:
            print(f"{key:40s} {value}")
    out = REPO_ROOT / "bench" / "results" / f"identity-fuzzy-{args.people}-{commit()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
