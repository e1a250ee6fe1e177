"""`python -m bench.ingest --scale m --rounds 2`: ingest against bare DuckDB, back to back.

The full benchmark times bare DuckDB once, after the whole daily run, so its ratio carries the
machine's drift over many minutes. Here each round runs every `ingest_<source>` step (each in
its own process, on an empty warehouse) and the bare reads of the same files right after,
alternating which goes first, and reports each source's range over the rounds. It also times a
CPU-bound loop alone and two at once, because how much a second core gives varies by day here
and bare DuckDB parallelises more of its work than ours can.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import time
from pathlib import Path

from bench import commit, references
from bench.__main__ import DAY, empty_home, run_stage, world
from pipelines.config import REPO_ROOT
from pipelines.ingest.sources import source_names


def _burn(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - start


def second_core(n: int = 20_000_000) -> dict[str, float]:
    """Seconds of one CPU-bound loop alone and of each of two run at once."""
    alone = _burn(n)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pair = pool.map(_burn, [n, n])
    return {"alone_seconds": alone, "pair_seconds": max(pair)}


def ours(root: Path) -> dict[str, dict]:
    """Every source's ingest step on an empty warehouse reading the world's landing folder."""
    home = empty_home(root, "ingest")
    out = {}
    for source in source_names():
        stat = run_stage(home, "ingest", source, "bench_ingest", DAY)
        out[source] = {"seconds": stat["seconds"], "rows": stat["result"]["rows_read"],
                       "bytes": stat["result"]["bytes"]}
    shutil.rmtree(home)
    return out


def compare(root: Path, rounds: int) -> list[dict]:
    results = []
    for r in range(rounds):
        first_ours = r % 2 == 0
        if first_ours:
            mine = ours(root)
        bare = references.bare_duckdb_ingest(root / "world" / "landing", root / "bare.duckdb")
        if not first_ours:
            mine = ours(root)
        results.append({"ours_first": first_ours, "ours": mine, "bare": bare})
    return results


def _span(values: list[float], spec: str = ".2f") -> str:
    low, high = format(min(values), spec), format(max(values), spec)
    return low if low == high else f"{low}-{high}"


def markdown(result: dict) -> str:
    rounds = result["rounds"]
    sources = [s for s in rounds[0]["ours"] if rounds[0]["ours"][s]["rows"]]
    cpu = result["second_core"]
    lines = [
        f"Ingest at scale `{result['scale']}`, commit {result['commit']}, {len(rounds)} rounds "
        "back to back (ours first, then bare first, alternating).",
        f"A CPU-bound loop: {cpu['alone_seconds']:.2f} s alone, {cpu['pair_seconds']:.2f} s "
        "each for two at once.",
        "",
        "| source | rows | MB | ours s | rows/s | MB/s | bare s | bare/ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, keys: list[str]) -> str:
        mine = [sum(r["ours"][k]["seconds"] for k in keys) for r in rounds]
        bare = [sum(r["bare"].get(k, {}).get("seconds", 0.0) for k in keys) for r in rounds]
        ratio = [b / o for b, o in zip(bare, mine, strict=True)]
        first = rounds[0]["ours"]
        rows = sum(first[k]["rows"] for k in keys)
        mb = sum(first[k]["bytes"] for k in keys) / 1e6
        per_second = _span([rows / s for s in mine], ",.0f")
        mb_per_second = _span([mb / s for s in mine], ".1f")
        return (f"| {name} | {rows:,} | {mb:,.1f} | {_span(mine)} | {per_second} | "
                f"{mb_per_second} | {_span(bare)} | {_span(ratio)} |")

    lines += [row(s, [s]) for s in sources]
    lines.append(row("**all**", sources))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--scale", default="m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = world(args.scale, args.seed)
    result = {"scale": args.scale, "seed": args.seed, "commit": commit(),
              "second_core": second_core(), "rounds": compare(root, args.rounds)}
    out = REPO_ROOT / "bench" / "results" / f"ingest-{args.scale}-{result['commit']}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
