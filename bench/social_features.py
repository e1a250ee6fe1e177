"""`python -m bench.social_features --scale s`: the social engagement features with and without,
in the churn model and in the persona model, on one bench world (see bench/README.md, "Social
features").

The world's landing files are ingested and transformed once into a home of their own under the
world's folder (`<world>/features-social`, `--reuse` to keep one already built), then:

- churn: the same `marts.customer_features` table and labels (`churn.labelled_rows`, the
  training and validation cutoffs a retrain on the run's date uses), trained with the model's
  features and with `features.SOCIAL_FEATURES` added, over XGBoost seeds 0-4; AUC on the model's
  own holdout and against the truth (churned in the 90 days after the date) for the day's active
  customers, and a paired bootstrap (1,000 resamples of those customers) of the difference of
  the seed-averaged scores;
- personas: `find_personas` on the same features frame, once as the model is and once with
  `social_engager` (ever reacted, commented or wrote) added to its categorical terms and to
  the profile's categories, in one process (spawned workers would not see the addition);
  adjusted Rand index and size errors against the hidden personas, as `quality.personas`
  computes them.

Prints the figures as JSON and writes
bench/results/social-features-<scale>-<part>-<commit>.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from bench import commit
from pipelines.config import REPO_ROOT

DAY = date(2026, 10, 31)
SEEDS = (0, 1, 2, 3, 4)
BOOTSTRAPS = 1000


def build(root: Path, name: str) -> Path:
    """Ingest the world's landing files and run the transform in a home of its own."""
    from bench.__main__ import empty_home, run_stage
    from pipelines.ingest.sources import source_names

    home = empty_home(root, name)
    for source in source_names():
        run_stage(home, "ingest", source, "social_features")
    run_stage(home, "transform", None, "social_features")
    return home


def paired_bootstrap(y: np.ndarray, without: np.ndarray, with_: np.ndarray,
                     resamples: int = BOOTSTRAPS, seed: int = 0) -> tuple[float, float]:
    """95% interval of AUC(with_) - AUC(without) over resamples of the customers."""
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        deltas.append(roc_auc_score(y[i], with_[i]) - roc_auc_score(y[i], without[i]))
    return float(np.quantile(deltas, 0.025)), float(np.quantile(deltas, 0.975))


def churn_figures(work: Path, truth: Path) -> dict:
    from pipelines.ml import churn, registry, trainer
    from pipelines.ml.features import (
        SOCIAL_FEATURES,
        btyd_enrich,
        read_features,
        read_purchases,
    )
    from pipelines.ml.labels import active

    con = duckdb.connect(str(work), read_only=True)
    try:
        features, purchases = read_features(con), read_purchases(con)
        emails = con.sql("select customer_key, email from marts.dim_customers "
                         "where email is not null").pl()
    finally:
        con.close()
    labelled = churn.labelled_rows(features, purchases, DAY, 90)
    today = active(btyd_enrich(features.filter(pl.col("as_of_date") == DAY))[0])
    people = pl.read_parquet(truth / "customers.parquet").select("email", "churned_next_90d")
    scored = today.join(emails, on="customer_key").join(people, on="email")
    y = scored.get_column("churned_next_90d").cast(pl.Int8).to_numpy()
    base = tuple(f for f in churn.MODEL_FEATURES if f not in SOCIAL_FEATURES)
    arms = {"without": base, "with": base + SOCIAL_FEATURES}
    runs: dict[str, dict[str, list]] = {a: {"holdout": [], "truth": [], "scores": []} for a in arms}
    for seed in SEEDS:
        for arm, names in arms.items():
            spec = dataclasses.replace(churn.SPEC, features=names,
                                       params={**churn.PARAMS, "seed": seed})
            card, booster, _ = trainer.train(spec, labelled.rows, labelled.training,
                                             labelled.validation, threads=2)
            score = registry.calibrate(card, booster.predict(trainer._dmatrix(spec, scored, names)))
            runs[arm]["holdout"].append(card.metrics["auc"])
            runs[arm]["truth"].append(float(roc_auc_score(y, score)))
            runs[arm]["scores"].append(score)
    out: dict = {
        "customers": scored.height,
        "churned": int(y.sum()),
        "linked_share": float(scored.get_column("days_since_last_social").is_not_null().mean()),
    }
    for what in ("holdout", "truth"):
        delta = np.array(runs["with"][what]) - np.array(runs["without"][what])
        out[what] = {"without": runs["without"][what], "with": runs["with"][what],
                     "delta_mean": float(delta.mean()), "delta_sd": float(delta.std(ddof=1))}
    without = np.mean(runs["without"]["scores"], axis=0)
    with_ = np.mean(runs["with"]["scores"], axis=0)
    out["truth_seed_averaged"] = {
        "without": float(roc_auc_score(y, without)),
        "with": float(roc_auc_score(y, with_)),
        "bootstrap_95": paired_bootstrap(y, without, with_),
    }
    return out


def persona_figures(labels: pl.DataFrame, emails: pl.DataFrame, hidden: pl.DataFrame) -> dict:
    """ARI and each hidden persona's size error (matched one-to-one by shared customers), as
    `quality.personas` computes them from the published tables."""
    joined = labels.join(emails, on="customer_key").join(hidden, on="email", how="inner")
    ari = adjusted_rand_score(joined.get_column("persona").to_numpy(),
                              joined.get_column("persona_id").to_numpy())
    true_names = sorted(p for p in joined.get_column("persona").unique() if p != "staff")
    found_ids = sorted(joined.get_column("persona_id").unique().to_list())
    table = joined.group_by("persona", "persona_id").len().filter(pl.col("persona") != "staff")
    overlap = [[0] * len(found_ids) for _ in true_names]
    for persona, persona_id, n in table.iter_rows():
        overlap[true_names.index(persona)][found_ids.index(persona_id)] = n
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    true_size = dict(joined.group_by("persona").len().iter_rows())
    found_size = dict(joined.group_by("persona_id").len().iter_rows())
    errors = {p: 1.0 for p in true_names}
    for r, c in zip(rows, cols, strict=True):
        errors[true_names[r]] = abs(found_size[found_ids[c]] - true_size[true_names[r]]) / (
            true_size[true_names[r]])
    return {"customers": joined.height, "k": len(found_ids), "ari": float(ari),
            "max_size_error": max(errors.values()), "size_errors": errors}


@contextmanager
def social_term():
    """The persona model with `social_engager` as one more categorical term."""
    from pipelines.personas import model, profile

    saved = model.CATEGORICAL, profile.CATEGORIES
    model.CATEGORICAL = (*saved[0], "social_engager")
    profile.CATEGORIES = (*saved[1], "social_engager")
    try:
        yield
    finally:
        model.CATEGORICAL, profile.CATEGORIES = saved


def personas(work: Path, truth: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from pipelines.config import Settings
    from pipelines.personas.features import build_features, email_reads
    from pipelines.personas.personas import find_personas
    from pipelines.personas.tasks import read_inputs, read_rfm

    con = duckdb.connect(str(work), read_only=True)
    try:
        inputs, rfm = read_inputs(con), read_rfm(con)
        emails = con.sql("select customer_key, email from marts.dim_customers "
                         "where email is not null").pl()
    finally:
        con.close()
    hidden = pl.read_parquet(truth / "customers.parquet").select("email", "persona")
    features = build_features(inputs, DAY)
    reads = email_reads(inputs, DAY)
    engagers = features.join(emails, on="customer_key").join(hidden, on="email").group_by(
        "persona").agg(pl.col("is_social").mean()).sort("persona")
    out: dict = {"engager_share": float(features.get_column("is_social").mean()),
                 "engager_share_by_hidden_persona": dict(engagers.iter_rows())}
    params = dataclasses.replace(Settings.from_env().personas, workers=1)
    for arm in ("without", "with"):
        start = time.perf_counter()
        with threadpool_limits(limits=1), social_term() if arm == "with" else nullcontext():
            result = find_personas(features, reads, None, params, DAY, rfm)
        out[arm] = {**persona_figures(result.labels, emails, hidden),
                    "terms": result.features_used, "source": result.source,
                    "seconds": round(time.perf_counter() - start, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.social_features")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, help="the bench world's folder (default "
                        "data/bench/<scale>-seed<seed>, which `python -m bench` makes)")
    parser.add_argument("--home", default="features-social")
    parser.add_argument("--reuse", action="store_true", help="use the home already built")
    parser.add_argument("--part", choices=("churn", "personas", "both"), default="both")
    args = parser.parse_args()
    root = args.root or REPO_ROOT / "data" / "bench" / f"{args.scale}-seed{args.seed}"
    if not (root / "world" / "landing" / "social").exists():
        raise SystemExit(f"{root} has no simulated world with social exports")
    home = root / args.home if args.reuse else build(root, args.home)
    work, truth = home / "warehouse" / "work.duckdb", root / "world" / "truth"
    result: dict = {"scale": args.scale, "seed": args.seed, "commit": commit(), "day": str(DAY)}
    if args.part in ("churn", "both"):
        result["churn"] = churn_figures(work, truth)
    if args.part in ("personas", "both"):
        result["personas"] = personas(work, truth)
    name = f"social-features-{args.scale}-{args.part}-{result['commit']}.json"
    out = REPO_ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
