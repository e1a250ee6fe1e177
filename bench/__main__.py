"""`python -m bench --scale s`: time the daily run stage by stage, beside bare DuckDB and pandas.

Writes bench/results/<scale>-<commit>.json and .md and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from bench import (
    IDENTITY_NOISE_ENV,
    commit,
    identity_noise_asked,
    mark_world_complete,
    quality,
    references,
    world_is_current,
    xgb_device,
)
from bench.simulate import rows_written
from pipelines.config import REPO_ROOT, Settings
from pipelines.ingest.sources import source_names
from pipelines.transform import dbt_paths, read_run_results

DAY = date(2026, 10, 31)
# The DAG's order (dags/marketing_daily.py): exports are built before the audit that gates them.
STEPS = [
    *[("ingest", s) for s in source_names()],
    ("transform", None),
    ("score_churn", None),
    ("score_ltv", None),
    ("score_lead", None),
    ("forecast_units", None),
    ("find_personas", None),
    ("optimise_ads", None),
    ("run_experiments", None),
    ("personalize", None),
    ("generate_content", None),
    ("transform_reports", None),
    ("export", None),
    ("audit", None),
    ("publish", None),
    ("report", None),
]



def _rival_rows(what: str, model: float, rivals: dict[str, float]) -> list[str]:
    """A quality row per rival and one saying plainly whether the published scores beat the
    strongest (equal when a rival is what published: it beat the model on the holdout)."""
    name, best = quality.strongest(rivals)
    verdict = ("the published scores are this rival's" if abs(model - best) < 1e-9
               else f"the published scores beat it by {model - best:.3f}" if model > best
               else f"the published scores LOSE to it by {best - model:.3f}")
    return [f"| {what}: {rival} | {value:.3f} |" for rival, value in rivals.items()] + [
        f"| {what}: strongest rival {name} | {verdict} |"]

def world(scale: str, seed: int, identity_noise: bool | None = None) -> Path:
    """Simulate the landing files and truth once per scale and seed (and identity noise, by
    default as `identity_noise_asked` says); later runs reuse them."""
    noise = identity_noise_asked() if identity_noise is None else identity_noise
    root = REPO_ROOT / "data" / "bench" / f"{scale}-seed{seed}{'-noisy' if noise else ''}"
    if not world_is_current(root):
        from simulator import simulate

        # Everything under the root was made from the old world.
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        counts = simulate(Settings(home=root / "world"), scale=scale, seed=seed, end_date=DAY,
                          identity_noise=noise)  # fmt: skip
        seconds = time.perf_counter() - start
        rows = rows_written(counts)
        # The simulation is this process's first heavy work: its peak is the simulator's.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        (root / "world" / "simulate.json").write_text(json.dumps(
            {"seconds": seconds, "rows": rows, "peak_rss_mb": peak, "counts": counts}))
        mark_world_complete(root)
    return root


def empty_home(root: Path, name: str) -> Path:
    """An empty home under a bench world's folder whose landing folder is the world's own:
    for runs that only read the world (ingest, a day's scores), not for continuing it."""
    home = root / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "landing").symlink_to(root / "world" / "landing")
    return home


def run_stage(home: Path, step: str, arg: str | None, run_id: str, day: date = DAY) -> dict:
    env = {**os.environ, "MARKETING_HOME": str(home)}
    command = [sys.executable, "-m", "bench.stage", step, day.isoformat(), run_id]
    if arg:
        command.append(arg)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"stage {step} {arg or ''} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def daily_run(home: Path, run_id: str, day: date = DAY) -> list[dict]:
    stages = []
    for step, arg in STEPS:
        stat = run_stage(home, step, arg, run_id, day)
        stages.append({"stage": f"{step}_{arg}" if arg else step, **stat})
    return stages


def dbt_groups(home: Path) -> dict[str, float]:
    """dbt execution time per folder (staging, intermediate, marts) and for tests."""
    result = read_run_results(dbt_paths(Settings(home=home))[0] / "run_results.json")
    groups: dict[str, float] = {}
    for unique_id, seconds in result.timings.items():
        kind = unique_id.split(".")[0]
        key = "tests" if kind in ("test", "unit_test") else unique_id.split(".")[2].split("_")[0]
        groups[key] = groups.get(key, 0.0) + seconds
    return groups


# The identity step's models: every model of intermediate/identity, the audit log of
# customer_key changes and the published key aliases.
IDENTITY_FOLDER = REPO_ROOT / "dbt_project" / "models" / "intermediate" / "identity"
IDENTITY_ALSO = ("identity_changes", "customer_key_aliases")


def identity_models(timings: dict[str, float], folder: Path = IDENTITY_FOLDER) -> dict[str, float]:
    """The identity step's models in one dbt invocation with their execution time (from
    run_results.json's timings by unique_id): those under `folder` and IDENTITY_ALSO, not
    their tests."""
    names = {p.stem for p in folder.iterdir() if p.suffix in (".sql", ".py")} | set(IDENTITY_ALSO)
    return {unique_id.split(".")[-1]: seconds for unique_id, seconds in timings.items()
            if unique_id.startswith("model.") and unique_id.split(".")[-1] in names}


def identity_seconds(timings: dict[str, float]) -> float:
    """The identity step's time in one dbt invocation: its models' summed execution time."""
    return sum(identity_models(timings).values())


def identity_timing(t: dict) -> str:
    """The line saying the identity step's time in the full build and the one-day run."""
    full, day = t["full"], t["next_day"]
    share = f"{day / full:.1%} of the full build" if full else "no full build timed"
    return (f"The identity step (the dbt models of intermediate/identity, "
            f"{' and '.join(IDENTITY_ALSO)}): full build {full:.1f} s, one more day "
            f"{day:.1f} s ({share}).")


def identity_rows(i: dict) -> list[str]:
    """The identity rows of the quality table: our resolution, the one from exact links only,
    the ceilings and the naive match, the recall of the pairs that share evidence and the
    pairs only fuzzy evidence joins."""
    d, e, f = i["deterministic"], i["evidence_ceiling"], i["fuzzy_only"]
    return [
        f"| identity pairwise precision / recall: our resolution | "
        f"{i['precision']:.4f} / {i['recall']:.4f} |",
        f"| identity: exact links only, no probabilistic matcher | "
        f"{d['precision']:.4f} / {d['recall']:.4f} |",
        f"| identity: every record link followed, no guard (the exact-match ceiling) | "
        f"{i['links_ceiling']['precision']:.4f} / {i['links_ceiling']['recall']:.4f} |",
        f"| identity: every exact link and every same-person evidence a candidate rule sees "
        f"(the evidence ceiling) | {e['precision']:.4f} / {e['recall']:.4f} |",
        f"| identity: naive exact-email match | {i['email_match']['precision']:.4f} "
        f"/ {i['email_match']['recall']:.4f} |",
        f"| identity: recall of the pairs that share any evidence: ours / exact links only | "
        f"{i['recall_of_evidence']:.4f} / {d['recall_of_evidence']:.4f} |",
        f"| identity: pairs only fuzzy evidence joins ({f['pairs']:,}), recovered: ours / "
        f"exact links only | {f['share']:.4f} / {f['deterministic_share']:.4f} |",
        f"| identity: customers holding two people's identifiers; shared identifiers (a "
        f"home's landline, a company mailbox) given to one customer | "
        f"{i['merged_customers']}; {i['shared']['assigned']} of {i['shared']['identifiers']} |",
    ]


def markdown(r: dict) -> str:
    lines = [
        f"### scale `{r['scale']}` ({r['people']:,} people), commit {r['commit']}",
        "",
        "| stage | seconds | + imports s | peak RSS MB | note |",
        "|---|---:|---:|---:|---|",
    ]
    for s in r["full_run"]:
        note = ""
        if s["stage"].startswith("ingest"):
            note = f"{s['result']['files']} files, {s['result']['rows_read']:,} rows"
        lines.append(
            f"| {s['stage']} | {s['seconds']:.1f} | {s['import_seconds']:.1f} | "
            f"{s['peak_rss_mb']:.0f} | {note} |"
        )
    full, rerun = r["full_seconds"], r["rerun_seconds"]
    lines += [
        f"| **full run** | **{full:.1f}** | {r['full_import_seconds']:.1f} | | sum of stages |",
        f"| rerun, no new files | {rerun:.1f} | | | {rerun / full:.0%} of the full run |",
        f"| **one more day** (incremental) | **{r['next_day_seconds']:.1f}** | | | "
        f"{r['next_day_seconds'] / full:.0%} of the full run |",
        "",
        "Where the one-day run spends its time: "
        + ", ".join(
            f"{s['stage']} {s['seconds']:.1f} s"
            for s in sorted(r["next_day"], key=lambda s: -s["seconds"])[:4]
        )
        + ".",
        "",
        identity_timing(r["identity_seconds"]),
        "",
    ]
    pd_s, ours = r["pandas"]["seconds"], r["ours_features_and_model_seconds"]
    lines += [
        "| ingest by source | rows | MB | ours s | rows/s | MB/s | bare DuckDB s | bare/ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for source, stat in sorted(r["ingest_by_source"].items()):
        if not stat["rows"]:
            continue
        rate = stat["rows"] / stat["seconds"]
        mbps = stat["bytes"] / stat["seconds"] / 1e6
        lines.append(
            f"| {source} | {stat['rows']:,} | {stat['bytes'] / 1e6:.1f} | "
            f"{stat['seconds']:.2f} | {rate:,.0f} | {mbps:.1f} | "
            f"{stat['bare_seconds']:.2f} | {stat['bare_seconds'] / stat['seconds']:.2f} |"
        )
    ing = r["ingest_seconds"]
    bare = sum(v["bare_seconds"] for v in r["ingest_by_source"].values())
    lines += [
        f"| **all** | | | {ing:.2f} | | | {bare:.2f} | {bare / ing:.2f} |",
        "",
        "| comparison | ours s | reference s | ratio |",
        "|---|---:|---:|---:|",
        f"| churn features + model vs pandas | {ours:.2f} | {pd_s:.2f} | "
        f"pandas/ours {pd_s / ours:.2f} |",
        "",
    ]
    c, i, v, ld, fc = r["churn"], r["identity"], r["ltv"], r["lead"], r["forecast"]
    lines += [
        "| quality | value |",
        "|---|---:|",
        f"| churn AUC vs truth: published ({c['published']}) | {c['model_auc']:.3f} |",
        *_rival_rows("churn AUC vs truth", c["model_auc"], c["rivals"]),
        f"| churn AUC vs truth: oracle (hidden state) | {c['oracle_auc']:.3f} |",
        f"| churn AUC vs truth: oracle (hidden rates and hazard, observed recency) | "
        f"{c['hazard_oracle_auc']:.3f} |",
        f"| LTV Spearman vs next year's spend: published ({v['published']}) | "
        f"{v['model_spearman']:.3f} |",
        *_rival_rows("LTV Spearman vs next year's spend", v["model_spearman"], v["rivals"]),
        f"| LTV total next year: model / BG/NBD / actual | {v['model_total']:,.0f} / "
        f"{v['bgnbd_total']:,.0f} / {v['actual_total']:,.0f} |",
        f"| lead conversion AUC vs truth ({ld['converted']} of {ld['leads']} converted): "
        f"published ({ld['published']}) | {ld['model_auc']:.3f} |",
        *_rival_rows("lead conversion AUC vs truth", ld["model_auc"], {
            "email click-level rate": ld["click_level_auc"],
            "logistic regression": ld["logistic_auc"]}),
        *forecast_rows(fc),
        *identity_rows(i),
        f"| personas vs hidden personas: adjusted Rand index (k={r['personas']['k']}) | "
        f"{r['personas']['ari']:.3f} |",
        f"| personas: largest size error vs the hidden persona matched | "
        f"{r['personas']['max_size_error']:.0%} |",
        f"| simulate | {r['simulate_seconds']:.1f} s, {_simulated(r)} |",
        "",
    ]
    lines += [
        "| hidden persona | true size | found persona | found size | size error |",
        "|---|---:|---|---:|---:|",
        *(f"| {p['hidden']} | {p['true_size']:,} | {p['found']} | {p['found_size']:,} | "
          f"{p['size_error']:.0%} |" for p in r["personas"]["sizes"]),
        "",
    ]
    lines.append(
        "dbt time by group (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["dbt_groups"].items()))
    )
    lines.append(f"Machine: {r['machine']}. {_devices(r.get('xgboost_devices'))}")
    return "\n".join(lines)


FORECAST_TITLES = {
    "model": "model",
    "seasonal_level": "last year's same weeks x this year's level",
    "seasonal_naive": "same week last year",
    "recent_mean": "mean of the last 13 weeks",
}


def forecast_rows(fc: dict) -> list[str]:
    """The units forecast's rows of the quality table: every method's rolling-origin figures
    (the model beside each rival), and what published."""
    head = f"units forecast, rolling origin ({fc['windows']} windows of 8 weeks)"
    rows = []
    for label, title in FORECAST_TITLES.items():
        if fc[f"{label}_wape"] == fc[f"{label}_wape"]:  # not NaN: backtested
            rows.append(f"| {head}: {title}, WAPE / MAPE / bias / WAPE of the weekly total | "
                        f"{fc[f'{label}_wape']:.3f} / {fc[f'{label}_mape']:.3f} / "
                        f"{fc[f'{label}_bias']:+.3f} / {fc[f'{label}_total_wape']:.3f} |")
        else:
            rows.append(f"| {head}: {title} | not backtested |")
    rows.append(f"| units forecast published (strongest rival) | {fc['published']} "
                f"({fc['strongest_rival']}) |")
    return rows


def _devices(d: dict | None) -> str:
    if not d:
        return "XGBoost on the CPU (no GPU comparison in this run)."
    fits = d["fits"]
    cpu = fits["cpu"]
    text = (f"Churn retrain on {d['rows']:,} rows: CPU {cpu['seconds']:.1f} s "
            f"(holdout AUC {cpu['auc']:.3f}, {cpu['best_iteration'] + 1} trees)")
    if "cuda" not in fits:
        return f"{text}; no GPU comparison: {d['reason']}."
    gpu = fits["cuda"]
    return (f"{text}; GPU ({gpu['used']}) {gpu['seconds']:.1f} s (holdout AUC {gpu['auc']:.3f}, "
            f"{gpu['best_iteration'] + 1} trees): CPU/GPU {cpu['seconds'] / gpu['seconds']:.2f}.")


def _simulated(r: dict) -> str:
    if not r.get("simulate_peak_rss_mb"):
        return "peak memory not measured (world cached before that figure existed)"
    return (f"{r['simulate_rows'] / r['simulate_seconds']:,.0f} rows/s, "
            f"{r['simulate_peak_rss_mb']:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--identity-noise", action="store_true",
                        help="a world with the simulator's identity noise (or env "
                             f"{IDENTITY_NOISE_ENV}=1)")
    args = parser.parse_args()
    noise = args.identity_noise or identity_noise_asked()

    root = world(args.scale, args.seed, noise)
    home = root / "run"
    shutil.rmtree(home, ignore_errors=True)
    # A copy of the cached world, so that continuing it by a day leaves the cache as it was.
    shutil.copytree(root / "world", home / "world")
    (home / "landing").symlink_to(home / "world" / "landing")
    settings = Settings(home=home)

    full = daily_run(home, "bench_full")
    full_timings = read_run_results(dbt_paths(settings)[0] / "run_results.json").timings
    # Quality against the truth as of DAY, before the run for the next day replaces the scores.
    truth = root / "world" / "truth"
    churn_quality = quality.churn_auc(
        settings.published_db, settings.work_db, truth,
        datetime.combine(DAY, dt_time.max, tzinfo=UTC),
    )
    ltv_quality = quality.ltv_spearman(settings.published_db, settings.work_db, truth, DAY)
    lead_quality = quality.lead_auc(settings.published_db, settings.work_db, truth, DAY,
                                    settings.lead_click_levels)
    forecast_quality = quality.forecast_backtest(settings.published_db)
    persona_quality = quality.personas(settings.published_db, truth)
    identity_quality = quality.identity_pairs(settings.work_db, truth)
    devices = xgb_device.compare(settings, DAY)
    rerun = daily_run(home, "bench_rerun")
    from simulator import continue_days

    continue_days(Settings(home=home / "world"), 1)
    next_day = daily_run(home, "bench_next_day", DAY + timedelta(days=1))
    next_day_timings = read_run_results(dbt_paths(settings)[0] / "run_results.json").timings
    groups = dbt_groups(home)
    bare = references.bare_duckdb_ingest(root / "world" / "landing", root / "bare.duckdb")
    pandas_ref = references.pandas_churn(settings.work_db, DAY)
    transform = next(s for s in full if s["stage"] == "transform")
    feature_model = read_run_results(dbt_paths(settings)[0] / "run_results.json").timings.get(
        "model.marketing.customer_features", 0.0
    )
    score = next(s for s in full if s["stage"] == "score_churn")["seconds"]
    simulated = json.loads((root / "world" / "simulate.json").read_text())
    result = {
        "scale": args.scale,
        "seed": args.seed,
        "commit": commit(),
        "people": simulated["counts"]["truth_customers"],
        "simulate_seconds": simulated["seconds"],
        "simulate_rows": rows_written(simulated["counts"]),
        "simulate_peak_rss_mb": simulated.get("peak_rss_mb"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "full_run": full,
        "rerun": rerun,
        "full_seconds": sum(s["seconds"] for s in full),
        "rerun_seconds": sum(s["seconds"] for s in rerun),
        "full_import_seconds": sum(s["import_seconds"] for s in full),
        "next_day": next_day,
        "next_day_seconds": sum(s["seconds"] for s in next_day),
        "ingest_seconds": sum(s["seconds"] for s in full if s["stage"].startswith("ingest")),
        "transform_seconds": transform["seconds"],
        "dbt_groups": groups,
        "identity_seconds": {"full": identity_seconds(full_timings),
                             "next_day": identity_seconds(next_day_timings)},
        "identity_models": {"full": identity_models(full_timings),
                            "next_day": identity_models(next_day_timings)},
        "ingest_by_source": {
            s["stage"].removeprefix("ingest_"): {
                "seconds": s["seconds"],
                "rows": s["result"]["rows_read"],
                "bytes": s["result"]["bytes"],
                "bare_seconds": bare.get(s["stage"].removeprefix("ingest_"), {}).get(
                    "seconds", 0.0
                ),
            }
            for s in full
            if s["stage"].startswith("ingest_")
        },
        "pandas": pandas_ref,
        "ours_features_and_model_seconds": feature_model + score,
        "churn": churn_quality,
        "ltv": ltv_quality,
        "lead": lead_quality,
        "forecast": forecast_quality,
        "identity": identity_quality,
        "personas": persona_quality,
        "xgboost_devices": devices,
    }
    result["identity_noise"] = noise
    suffix = "-noisy" if noise else ""
    out = REPO_ROOT / "bench" / "results" / f"{args.scale}{suffix}-{result['commit']}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
    table = markdown(result)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
