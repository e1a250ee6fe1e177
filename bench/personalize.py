"""`python -m bench.personalize --scale s --seeds 1 2 3`: recommendations, send times and subject
lines against the simulator's hidden truth and the simple rivals (issue 32's checks).

Per seed: the cached world of `bench/__main__.py` (simulated once per scale and seed), the
daily run on its end date in a fresh home, then each helper's own evaluation on that run's
work file:

- recommendations (`pipelines.personalize.evaluate.evaluate`): each person's last order held
  out; hit rate and NDCG at 10 of the model, popularity and the context-free model, overall
  and in winter months. Goal: model hit rate >= 1.25 x popularity's; context beats
  context-free in winter.
- send times (`pipelines.personalize.sendtime_eval.hour_accuracy`): the share of contacts
  whose chosen local hour is within 1 hour (on the 24-hour circle) of the hidden best hour
  (`truth/send_times.parquet`), for contacts with >= 10 opens, thinner ones and none. Goal:
  >= 60% for >= 10 opens.
- subject lines (`pipelines.content.evaluate.subject_line_holdout`): the open-rate model
  against a length-only rival on held-out subject lines (grouped folds: every send of a
  subject in one fold), Spearman and AUC; Meta headlines' CTR model beside it. Goal: the
  model above the rival.

The step times of `personalize` and `generate_content` at each seed are in the results too
(`make bench` times them at `m`). Writes `bench/results/personalize-<scale>-<seeds>-<rev>.md`
and `.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import mean

import duckdb
import polars as pl

from bench import commit
from bench.__main__ import DAY, daily_run, empty_home, world
from pipelines.config import REPO_ROOT, Settings

HIT_RATE_GOAL = 1.25
SEND_TIME_GOAL = 0.60
TIMED_STEPS = ("personalize", "generate_content")


def evaluate_recommendations(settings: Settings) -> dict:
    """The recommend helper's leave-last-out evaluation on the run's work file."""
    from pipelines.personalize import store
    from pipelines.personalize.evaluate import evaluate

    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        lines = store.read_order_lines(con)
        events = store.read_product_events(con)
        customers = store.read_customers(con)
    finally:
        con.close()
    return evaluate(lines, events, customers)


def _read(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def evaluate_send_times(settings: Settings, truth: Path) -> dict:
    """The sendtime helper's `hour_accuracy` of ml.send_times against the hidden hours."""
    from pipelines.personalize.sendtime_eval import hour_accuracy

    db = settings.work_db
    chosen = _read(db, "select * from ml.send_times")
    emails = _read(db, "select customer_key, email from marts.dim_customers "
                       "where email is not null")
    raw = _read(db, "select customer_key, count(*) as raw_opens from marts.fct_email_events "
                    "where action = 'open' and customer_key is not null group by all")
    return hour_accuracy(chosen, emails, pl.read_parquet(truth / "send_times.parquet"), raw)


def evaluate_subject_lines(settings: Settings) -> dict:
    """The content helper's `subject_line_holdout`: subject lines -> open rate (and Meta
    headlines and primary text -> CTR) against length alone on held-out texts."""
    from pipelines.content.evaluate import subject_line_holdout

    return subject_line_holdout(settings, DAY)


def run_seed(scale: str, seed: int) -> dict:
    from simulator import truth_dir

    root = world(scale, seed)
    home = empty_home(root, "personalize")
    stages = daily_run(home, f"pers{seed}", DAY)
    settings = Settings(home=home)
    # The world's truth: the home's landing folder is the world's own (a link).
    truth = truth_dir(Settings(home=root / "world"))
    return {
        "seed": seed,
        "step_seconds": {s["stage"]: round(s["seconds"], 1) for s in stages
                         if s["stage"] in TIMED_STEPS},
        "recommendations": evaluate_recommendations(settings),
        "send_times": evaluate_send_times(settings, truth),
        "subject_lines": evaluate_subject_lines(settings),
    }


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return mean(known) if known else None


def summarise(runs: list[dict]) -> dict:
    """Means over seeds of each figure, and per seed the ratios the goals are stated in."""
    rec = [r["recommendations"] for r in runs]

    def fig(variant: str, key: str) -> float | None:
        return _mean([r[variant][key] for r in rec if variant in r])

    ratios = [r["model"]["hit_rate"] / r["popularity"]["hit_rate"]
              for r in rec if r["popularity"]["hit_rate"]]
    send = [r["send_times"] for r in runs]
    subj = [r["subject_lines"]["email_subject"] for r in runs]
    ads = [r["subject_lines"]["meta_headline"] for r in runs]
    return {
        "people": sum(r["people"] for r in rec),
        "winter_people": sum(r.get("winter_people", 0) for r in rec),
        "hit_rate": {v: fig(v, "hit_rate") for v in ("model", "context_free", "popularity")},
        "ndcg": {v: fig(v, "ndcg") for v in ("model", "context_free", "popularity")},
        "winter_hit_rate": {v: fig(v, "winter_hit_rate") for v in ("model", "context_free")},
        "winter_ndcg": {v: fig(v, "winter_ndcg") for v in ("model", "context_free")},
        "hit_rate_ratio_by_seed": ratios,
        "send_within_1h_rich": _mean([s["thick"]["within_1h"] for s in send]),
        "send_within_1h_thin": _mean([s["thin"]["within_1h"] for s in send]),
        "send_within_1h_no_opens": _mean([s["no_opens"]["within_1h"] for s in send]),
        "send_rich_contacts": sum(s["thick"]["contacts"] for s in send),
        "send_thin_contacts": sum(s["thin"]["contacts"] for s in send),
        "send_no_open_contacts": sum(s["no_opens"]["contacts"] for s in send),
        "subject_model_spearman": _mean([s["model_spearman"] for s in subj]),
        "subject_length_spearman": _mean([s["length_spearman"] for s in subj]),
        "subject_model_auc": _mean([s["model_auc"] for s in subj]),
        "subject_length_auc": _mean([s["length_auc"] for s in subj]),
        "subject_sends": sum(s["sends"] for s in subj),
        "subject_texts": sum(s["texts"] for s in subj),
        "headline_model_spearman": _mean([a["model_spearman"] for a in ads]),
        "headline_length_spearman": _mean([a["length_spearman"] for a in ads]),
        "step_seconds": {step: _mean([r["step_seconds"].get(step) for r in runs])
                         for step in TIMED_STEPS},
    }


def markdown(scale: str, runs: list[dict], s: dict) -> str:
    def num(v: float | None, digits: int = 3) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    ratios = ", ".join(f"{r:.2f}" for r in s["hit_rate_ratio_by_seed"]) or "-"
    lines = [
        f"Personalisation at scale `{scale}`, seeds {', '.join(str(r['seed']) for r in runs)} "
        f"(means over seeds; {s['people']:,} held-out last orders, {s['winter_people']:,} "
        "in winter months).",
        "",
        "| figure | value | goal |",
        "|---|---:|---|",
        f"| hit rate @10: model / context-free / popularity | {num(s['hit_rate']['model'])} / "
        f"{num(s['hit_rate']['context_free'])} / {num(s['hit_rate']['popularity'])} | |",
        f"| model hit rate / popularity's, per seed | {ratios} | >= {HIT_RATE_GOAL} |",
        f"| NDCG @10: model / context-free / popularity | {num(s['ndcg']['model'])} / "
        f"{num(s['ndcg']['context_free'])} / {num(s['ndcg']['popularity'])} | reported |",
        f"| winter hit rate @10: context / context-free | "
        f"{num(s['winter_hit_rate']['model'])} / {num(s['winter_hit_rate']['context_free'])}"
        " | context higher |",
        f"| winter NDCG @10: context / context-free | {num(s['winter_ndcg']['model'])} / "
        f"{num(s['winter_ndcg']['context_free'])} | context higher |",
        f"| send hour within 1 h of the hidden best, >= 10 opens ({s['send_rich_contacts']:,}"
        f" contacts) | {pct(s['send_within_1h_rich'])} | >= {SEND_TIME_GOAL:.0%} |",
        f"| the same, thinner contacts ({s['send_thin_contacts']:,}) | "
        f"{pct(s['send_within_1h_thin'])} | reported |",
        f"| the same, contacts with no opens ({s['send_no_open_contacts']:,}: the persona's "
        f"or list's hour) | {pct(s['send_within_1h_no_opens'])} | reported |",
        f"| subject-line model vs length only, Spearman on held-out subject lines "
        f"({s['subject_sends']:,} sends, {s['subject_texts']:,} subjects) | "
        f"{num(s['subject_model_spearman'])} vs {num(s['subject_length_spearman'])} "
        "| model higher |",
        f"| the same, AUC (open rate above the median) | {num(s['subject_model_auc'])} vs "
        f"{num(s['subject_length_auc'])} | model higher |",
        f"| Meta headline CTR model vs length only, Spearman on held-out headlines | "
        f"{num(s['headline_model_spearman'])} vs {num(s['headline_length_spearman'])} | "
        "reported |",
        *[f"| `{step}` step, seconds (mean) | {num(v, 1)} | < 60 at `m` |"
          for step, v in s["step_seconds"].items()],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.personalize")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    name = f"personalize-{args.scale}-{'-'.join(map(str, args.seeds))}-{commit()}"
    out = REPO_ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        runs.append(run_seed(args.scale, seed))
        out.with_suffix(".json").write_text(json.dumps(runs, indent=2, default=str))
    summary = summarise(runs)
    out.with_suffix(".json").write_text(json.dumps({"runs": runs, "summary": summary},
                                                   indent=2, default=str))
    out.with_suffix(".md").write_text(markdown(args.scale, runs, summary) + "\n")
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    pl.Config.set_tbl_rows(50)
    main()
