"""`python -m bench.seeds --scale s --seeds 1 2 3`: the models' quality over several worlds.

One simulated world is one draw: at `s` the churn AUC of a few thousand active customers moves
by about 0.005 between worlds of the same settings. This runs the daily run (each step in its
own process, as `make bench` does) on a world per seed and scores churn, lifetime value and
lead conversion against each world's truth and the units forecast's backtest, beside their
baselines and the churn oracle, and prints every seed and the mean. No timing: the steps run
back to back on whatever the machine gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from datetime import time as dt_time
from statistics import mean

from bench import ads_budget, ads_reconcile, commit, experiments, quality, world_is_current
from bench.__main__ import DAY, daily_run, empty_home, world
from pipelines.config import REPO_ROOT, Settings

# (label, section, key): a column of the table.
COLUMNS = (
    ("churn model", "churn", "model_auc"),
    ("churn oracle (hazard)", "churn", "hazard_oracle_auc"),
    ("churn gap", "churn", "gap"),
    ("churn recency", "churn", "recency_auc"),
    ("LTV model", "ltv", "model_spearman"),
    ("LTV BG/NBD", "ltv", "bgnbd_spearman"),
    ("lead model", "lead", "model_auc"),
    ("lead click-level rate", "lead", "click_level_auc"),
    ("lead logistic regression", "lead", "logistic_auc"),
    ("units WAPE model", "forecast", "model_wape"),
    ("units WAPE seasonal level", "forecast", "seasonal_level_wape"),
    ("units WAPE seasonal naive", "forecast", "seasonal_naive_wape"),
    ("units WAPE recent mean", "forecast", "recent_mean_wape"),
    ("ads reconciled max abs error", "ads", "max_abs_error"),
    ("budget share of oracle", "budget", "share_of_oracle"),
    ("budget beats today", "budget", "beats_current"),
    ("budget mROAS Spearman", "budget", "spearman"),
)


def quality_of(scale: str, seed: int) -> dict:
    """The daily run on the world of `seed`, scored against its truth; the run is deleted."""
    root = world(scale, seed)
    home = empty_home(root, "seeds")
    settings = Settings(home=home)
    daily_run(home, "bench_seeds")
    truth = root / "world" / "truth"
    end = datetime.combine(DAY, dt_time.max, tzinfo=UTC)
    churn = quality.churn_auc(settings.published_db, settings.work_db, truth, end)
    churn["gap"] = churn["hazard_oracle_auc"] - churn["model_auc"]
    result = {
        "seed": seed,
        "churn": churn,
        "ltv": quality.ltv_spearman(settings.published_db, settings.work_db, truth, DAY),
        "lead": quality.lead_auc(settings.published_db, settings.work_db, truth, DAY,
                                settings.lead_click_levels),
        "forecast": quality.forecast_backtest(settings.published_db),
        "ads": ads_reconcile.summary(settings.published_db, settings.work_db, truth),
        "budget": ads_budget.seed_quality(root, settings.work_db, DAY),
    }
    shutil.rmtree(home)
    return result


def markdown(scale: str, runs: list[dict]) -> str:
    lines = [
        f"Quality at scale `{scale}` over {len(runs)} simulated worlds (AUC; LTV: Spearman "
        "against the next year's spend; churn gap: hazard oracle less model; units: WAPE over "
        "the rolling-origin backtest's windows).",
        "",
        "| seed | " + " | ".join(label for label, _, _ in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for run in runs:
        cells = [f"{run[section][key]:.4f}" for _, section, key in COLUMNS]
        lines.append(f"| {run['seed']} | " + " | ".join(cells) + " |")
    means = [f"{mean(r[section][key] for r in runs):.4f}" for _, section, key in COLUMNS]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seeds")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--experiments", action="store_true",
                        help="also close the loop on each seed (bench.experiments: a second "
                        "run after the world plays the published campaigns out)")
    parser.add_argument("--keep-worlds", action="store_true",
                        help="keep the worlds simulated here under data/bench/ for later runs")
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        root = REPO_ROOT / "data" / "bench" / f"{args.scale}-seed{seed}"
        cached = world_is_current(root)
        runs.append(quality_of(args.scale, seed))
        if not (cached or args.keep_worlds):
            shutil.rmtree(root)
    out = REPO_ROOT / "bench" / "results" / f"seeds-{args.scale}-{commit()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(runs, indent=2, default=str))
    table = markdown(args.scale, runs) + "\n\n" + ads_reconcile.markdown(runs)
    if args.experiments:
        loops = [experiments.run_seed(args.scale, seed) for seed in args.seeds]
        table += "\n\n" + experiments.markdown(args.scale, loops, experiments.summarise(loops))
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
