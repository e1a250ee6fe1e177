"""`python -m bench.experiments --scale s --seeds 1 2`: the experiment readouts against the truth.

Per seed: simulate a world, run the daily steps on its end date with the harness audiences
(`bench/experiments_audiences.yml`: several audiences holding out half), continue the world by
the longest outcome window + 1 days (the simulator reads the published exports as campaigns
and applies their hidden effects), run the daily steps again, and compare
`reports.rpt_experiments` with the truth:

- coverage: the share of 90% intervals holding the true lift. The estimand of a holdout
  readout is the effect on the treated arm as assigned (everyone the audience selected and
  did not hold out, reached or not); the truth's `true_lift` is the mean over the people the
  files reached. Both are scored; the first is what the interval claims.
- sign: among experiments with at least 80% power for their true lift (from the readout's
  standard error), the share whose estimate has the true sign.
- SRM: each experiment's units re-assigned 45/55 where the design says 50/50, through
  `stats.srm_p_value`: the share flagged (and by size: a 5-point shift needs about 1,700
  units for 80% power at p < 0.001); and the real assignments' false flags.
- A/A: random halves of customers no campaign reached, their orders/revenue/churn in the
  window read by `stats.lift` with the pre-period covariate; the share with no winner.
- uplift targeting: at the second run, the top share (`uplift.TOP_SHARE`) by `uplift_score`
  against as many by churn risk: the sum of their true effects (truth/experiment_effects,
  email + Meta), through `uplift.true_gains`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

import duckdb
import numpy as np
import polars as pl

from bench import commit
from bench.__main__ import DAY, STEPS, daily_run, run_stage
from pipelines.config import REPO_ROOT, Settings

AUDIENCES = Path(__file__).with_name("experiments_audiences.yml")
OUTCOMES = ("orders", "revenue", "churned", "email_clicks")
Z90 = 1.6448536269514722
AA_REPEATS = 400
SRM_SHIFT = 0.45
SECONDS_PER_DAY = 86_400


def home_of(scale: str, seed: int) -> Path:
    return REPO_ROOT / "data" / "bench" / "experiments" / f"{scale}-seed{seed}"


def run_seed(scale: str, seed: int, keep: bool = False) -> dict:
    """Simulate, run, continue, run again; return the joined readouts and the figures."""
    from simulator import continue_days, simulate, truth_dir

    home = home_of(scale, seed)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ["MARKETING_AUDIENCES_FILE"] = str(AUDIENCES)
    settings = Settings(home=home)
    simulate(settings, scale=scale, seed=seed, end_date=DAY, max_days=60)
    daily_run(home, f"exp{seed}a", DAY)
    window = _longest_window(settings, DAY)
    continue_days(settings, window + 1)
    second = DAY + timedelta(days=window + 1)
    # The second run only needs the readouts (and the uplift scores): up to transform_reports.
    # Its audit may stop the publish (the churn scores drift a month on), which does not
    # matter here: the figures are read from the run's work file.
    names = [step for step, _ in STEPS]
    for step, arg in STEPS[: names.index("transform_reports") + 1]:
        run_stage(home, step, arg, f"exp{seed}b", second)
    truth = truth_dir(settings)
    out = evaluate(settings, truth, second, seed)
    if not keep:
        shutil.rmtree(home)
    return out


def _longest_window(settings: Settings, day) -> int:
    manifest = json.loads((settings.exports_dir / day.isoformat() / "manifest.json").read_text())
    windows = [e["experiment"]["outcome_days"] for e in manifest.get("audiences", {}).values()
               if e.get("experiment")]  # fmt: skip
    if not windows:
        raise SystemExit("the first run published no experiment: check the audiences file")
    return max(windows)


def _read(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def _person_of_key(settings: Settings, truth: Path) -> pl.DataFrame:
    """customer_key -> person_id through the email (as bench.quality does)."""
    keys = _read(settings.work_db, "select customer_key, email from marts.dim_customers")
    people = pl.read_parquet(truth / "customers.parquet").select("person_id", "email")
    return keys.join(people, on="email", how="inner").unique("customer_key").select(
        "customer_key", "person_id")


def evaluate(settings: Settings, truth: Path, as_of, seed: int) -> dict:
    """The readouts of `as_of` against the truth of one world."""
    readouts = _read(settings.work_db, "select * from reports.rpt_experiments")
    assignments = _read(settings.work_db, "select * from ml.experiment_assignments")
    treated = pl.read_parquet(truth / "state" / "campaign_people.parquet")
    keys = _person_of_key(settings, truth)
    itt = _itt_truth(assignments, treated, keys, as_of)
    true = pl.read_parquet(truth / "experiments.parquet").select(
        "experiment_id", "outcome", "true_lift", pl.col("treated").alias("reached"))
    rows = (readouts.join(true, on=["experiment_id", "outcome"], how="left")
            .join(itt, on=["experiment_id", "outcome"], how="left")
            .with_columns(pl.lit(seed).alias("seed")))  # fmt: skip
    return {
        "seed": seed,
        "rows": rows.with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts(),
        "srm": srm_injection(readouts, seed),
        "aa": aa_repeats(truth, readouts, as_of, seed),
        "uplift": uplift_gain(settings, truth, keys),
    }


def _itt_truth(assignments: pl.DataFrame, treated: pl.DataFrame, keys: pl.DataFrame,
               as_of) -> pl.DataFrame:  # fmt: skip
    """Per experiment and outcome: the mean true effect over the treated arm's counted units
    (complete window, not left), the people the files did not reach counting 0."""
    units = assignments.filter(
        pl.col("arm") == "treatment", pl.col("left_on").is_null(),
        (pl.col("entered_on") + pl.duration(days=pl.col("outcome_days"))) <= pl.lit(as_of),
    ).join(keys, on="customer_key", how="left")
    effects = treated.select("experiment_id", "person_id", *OUTCOMES)
    joined = units.join(effects, on=["experiment_id", "person_id"], how="left")
    return (
        joined.unpivot(index=["experiment_id"], on=list(OUTCOMES), variable_name="outcome",
                       value_name="effect")
        .group_by("experiment_id", "outcome")
        .agg(pl.col("effect").fill_null(0.0).mean().alias("itt_true_lift"),
             pl.len().alias("itt_units"))
    )  # fmt: skip


def srm_injection(readouts: pl.DataFrame, seed: int) -> list[dict]:
    """Each experiment's counted units re-assigned with 45% held out where the design holds
    out `holdout_share`: the SRM test's p-value; beside it the real split's."""
    from pipelines.experiments import stats

    rng = np.random.default_rng([seed, 45])
    out = []
    first = readouts.filter(pl.col("outcome") == "orders")
    shares = first.select("experiment_id", "treated_n", "holdout_n", "srm_p_value")
    for e, nt, nh, p in shares.iter_rows():
        n = nt + nh
        if n == 0:
            continue
        held = int(rng.binomial(n, SRM_SHIFT))
        out.append({"experiment_id": e, "units": n, "real_p": p,
                    "injected_p": stats.srm_p_value(n - held, held, 0.5)})
    return out


def _window_orders(orders: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    w = orders.filter(pl.col("ts").is_between(lo, hi, closed="left"))
    return w.group_by("person_id").agg(pl.len().alias("orders"),
                                       ((pl.col("total") - pl.col("refund")) / 100).sum()
                                       .alias("revenue"))  # fmt: skip


def aa_repeats(truth: Path, readouts: pl.DataFrame, as_of, seed: int) -> dict:
    """A/A: random halves of customers no campaign reached, as many as a real experiment
    counted, read by `stats.lift` with the 90 days before as covariate; share without a
    winner per outcome."""
    from pipelines.experiments import stats

    state = truth / "state"
    orders = pl.read_parquet(state / "orders.parquet").filter(~pl.col("test"),
                                                              pl.col("cancel_ts") < 0)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    lo = int(start.timestamp()) + SECONDS_PER_DAY
    hi = lo + 28 * SECONDS_PER_DAY
    reached = pl.read_parquet(state / "campaign_people.parquet")["person_id"].unique()
    buyers = orders.filter(pl.col("ts") < lo)["person_id"].unique()
    buyers = buyers.filter(~buyers.is_in(reached.implode()))
    frame = (pl.DataFrame({"person_id": buyers})
             .join(_window_orders(orders, lo, hi), on="person_id", how="left")
             .join(_window_orders(orders, lo - 90 * SECONDS_PER_DAY, lo)
                   .rename({"orders": "pre_orders", "revenue": "pre_revenue"}),
                   on="person_id", how="left")
             .fill_null(0))  # fmt: skip
    frame = frame.with_columns(churned=(pl.col("orders") == 0).cast(pl.Float64),
                               pre_churned=(pl.col("pre_orders") == 0).cast(pl.Float64))
    sizes = [n for n in (readouts.filter(pl.col("outcome") == "orders")
                         .select(pl.col("treated_n") + pl.col("holdout_n"))
                         .to_series().to_list()) if n >= 60]  # fmt: skip
    sizes = [min(n, frame.height) for n in sizes] or [frame.height]
    rng = np.random.default_rng([seed, 11])
    winners = {o: 0 for o in ("orders", "revenue", "churned")}
    for r in range(AA_REPEATS):
        n = sizes[r % len(sizes)]
        pick = rng.choice(frame.height, n, replace=False)
        arm = rng.random(n) < 0.5
        for outcome in winners:
            y = frame[outcome].to_numpy()[pick]
            x = frame[f"pre_{outcome}"].to_numpy()[pick]
            lower = outcome == "churned"
            result = stats.lift(y[~arm], y[arm], x[~arm], x[arm], lower_is_better=lower)
            verdict = stats.verdict(result, False, None)
            winners[outcome] += verdict in ("treatment_better", "holdout_better")
    return {"repeats": AA_REPEATS, "customers": frame.height,
            **{f"{o}_no_winner": 1 - w / AA_REPEATS for o, w in winners.items()}}


def uplift_gain(settings: Settings, truth: Path, keys: pl.DataFrame) -> dict:
    """The true incremental orders of the top 30% by uplift against the top 30% by churn
    risk (and at random, and the best possible), among customers with both scores."""
    scores = _read(settings.work_db,
                   "select customer_key, model, score from ml.scores "
                   "where model in ('uplift', 'churn')")  # fmt: skip
    wide = scores.pivot(on="model", index="customer_key", values="score")
    if "uplift" not in wide.columns:
        return {"customers": 0, "note": "no uplift scores were published"}
    effects = (pl.read_parquet(truth / "experiment_effects.parquet")
               .group_by("person_id").agg(pl.col("effect_orders").sum()))  # fmt: skip
    frame = (wide.drop_nulls(["uplift", "churn"]).join(keys, on="customer_key")
             .join(effects, on="person_id", how="left").with_columns(
                 pl.col("effect_orders").fill_null(0.0)))  # fmt: skip
    from pipelines.experiments.uplift import TOP_SHARE, true_gains

    k = round(TOP_SHARE * frame.height)
    if k == 0:
        return {"customers": frame.height, "note": "no customer has both scores"}
    effect = frame["effect_orders"].to_numpy()
    gains = true_gains(effect, {name: frame[name].to_numpy()
                                for name in ("uplift", "churn", "effect_orders")})
    return {"customers": frame.height, "k": k, "uplift_gain": gains["uplift"],
            "churn_gain": gains["churn"], "oracle_gain": gains["effect_orders"],
            "random_gain": gains["random"]}


# ----------------------------------------------------------------- summary
def summarise(runs: list[dict]) -> dict:
    rows = pl.DataFrame([r for run in runs for r in run["rows"]], infer_schema_length=None)
    have = rows.filter(pl.col("lift_low").is_not_null(), pl.col("itt_true_lift").is_not_null())
    cover = have.with_columns(
        covers_itt=(pl.col("lift_low") <= pl.col("itt_true_lift"))
        & (pl.col("itt_true_lift") <= pl.col("lift_high")),
        covers_reached=(pl.col("lift_low") <= pl.col("true_lift"))
        & (pl.col("true_lift") <= pl.col("lift_high")),
        se=(pl.col("lift_high") - pl.col("lift_low")) / (2 * Z90),
    )
    cover = cover.with_columns(power=pl.struct("itt_true_lift", "se").map_elements(
        lambda s: _power(s["itt_true_lift"], s["se"]), return_dtype=pl.Float64))
    powered = cover.filter(pl.col("power") >= 0.8)
    sign = powered.filter((pl.col("lift_abs") > 0) == (pl.col("itt_true_lift") > 0))
    winners = cover.filter(pl.col("verdict").is_in(["treatment_better", "holdout_better"]))
    winners_right = winners.filter((pl.col("lift_abs") > 0) == (pl.col("itt_true_lift") > 0))
    srm = [s for run in runs for s in run["srm"]]
    big = [s for s in srm if s["units"] >= 1_700]
    by_outcome = {o: _coverage(cover.filter(pl.col("outcome") == o)) for o in OUTCOMES}
    uplift = [run["uplift"] for run in runs if run["uplift"].get("k")]
    return {
        "experiments": cover.select("seed", "experiment_id").n_unique(),
        "readouts": cover.height,
        "coverage_itt": _coverage(cover),
        "coverage_reached": float(cover["covers_reached"].mean()) if cover.height else None,
        "coverage_by_outcome": by_outcome,
        "powered": powered.height,
        "sign_right_powered": sign.height / powered.height if powered.height else None,
        "winners": winners.height,
        "winners_sign_right": winners_right.height / winners.height if winners.height else None,
        "srm_injected_flagged": mean(s["injected_p"] < 0.001 for s in srm) if srm else None,
        "srm_injected_flagged_1700": (mean(s["injected_p"] < 0.001 for s in big)
                                      if big else None),
        "srm_injected_n_1700": len(big),
        "srm_real_false_flags": sum((s["real_p"] or 1) < 0.001 for s in srm),
        "aa": [run["aa"] for run in runs],
        "uplift": uplift,
        "uplift_beats_churn_mean": (mean(u["uplift_gain"] for u in uplift)
                                    > mean(u["churn_gain"] for u in uplift)) if uplift else None,
        "verdicts": dict(cover.group_by("verdict").len().iter_rows()),
    }


def _coverage(frame: pl.DataFrame) -> float | None:
    return float(frame["covers_itt"].mean()) if frame.height else None


def _power(true: float | None, se: float | None) -> float:
    """The chance the readout's verdict sees a true lift `true` (two-sided, at the verdict's
    evidence, `stats.DECISION`) with a standard error `se`."""
    from scipy.stats import norm

    from pipelines.experiments import stats

    if true is None or not se:
        return 0.0
    z, crit = abs(true) / se, float(norm.ppf(stats.DECISION))
    return float(norm.cdf(z - crit) + norm.cdf(-z - crit))


def markdown(scale: str, runs: list[dict], s: dict) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    lines = [
        f"Experiments at scale `{scale}`, seeds {', '.join(str(r['seed']) for r in runs)}: "
        f"{s['experiments']} experiments, {s['readouts']} readouts (experiment x outcome) with "
        "an interval.",
        "",
        "| figure | value | goal |",
        "|---|---:|---|",
        f"| 90% intervals covering the true lift on the treated arm | {pct(s['coverage_itt'])} "
        "| 85-95% |",
        f"| the same against the truth's lift over the people reached | "
        f"{pct(s['coverage_reached'])} | (a different estimand) |",
        *[f"| coverage, {o} | {pct(v)} | |" for o, v in s["coverage_by_outcome"].items()],
        f"| sign right, readouts with >= 80% power ({s['powered']}) | "
        f"{pct(s['sign_right_powered'])} | >= 95% |",
        f"| a winner declared ({s['winners']}): the true sign | "
        f"{pct(s['winners_sign_right'])} | |",
        f"| injected 45/55 split flagged (all experiments) | {pct(s['srm_injected_flagged'])} "
        "| |",
        f"| injected 45/55 split flagged, experiments of >= 1,700 units "
        f"({s['srm_injected_n_1700']}) | {pct(s['srm_injected_flagged_1700'])} | flagged |",
        f"| real assignments flagged by SRM | {s['srm_real_false_flags']} | 0 |",
    ]
    for aa in s["aa"]:
        lines.append(f"| A/A no winner (orders / revenue / churn), {aa['repeats']} repeats | "
                     f"{pct(aa['orders_no_winner'])} / {pct(aa['revenue_no_winner'])} / "
                     f"{pct(aa['churned_no_winner'])} | >= 90% |")
    for u in s["uplift"]:
        lines.append(f"| uplift top 30% true gain vs churn top 30% (k={u['k']}) | "
                     f"{u['uplift_gain']:.1f} vs {u['churn_gain']:.1f} (random "
                     f"{u['random_gain']:.1f}, oracle {u['oracle_gain']:.1f}) | uplift higher |")
    lines.append(f"| verdicts | {s['verdicts']} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.experiments")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--keep", action="store_true", help="keep each seed's home")
    parser.add_argument("--evaluate", action="store_true",
                        help="only score the kept homes of the seeds again (after --keep)")
    args = parser.parse_args()
    runs = []
    name = f"experiments-{args.scale}-{'-'.join(map(str, args.seeds))}-{commit()}"
    out = REPO_ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        if args.evaluate:
            from simulator import truth_dir

            settings = Settings(home=home_of(args.scale, seed))
            meta = json.loads((truth_dir(settings) / "state" / "meta.json").read_text())
            as_of = datetime.fromisoformat(meta["current_end"]).date()
            runs.append(evaluate(settings, truth_dir(settings), as_of, seed))
        else:
            runs.append(run_seed(args.scale, seed, args.keep))
        out.with_suffix(".json").write_text(json.dumps(runs, indent=2, default=str))
    summary = summarise(runs)
    table = markdown(args.scale, runs, summary)
    out.with_suffix(".json").write_text(json.dumps({"runs": runs, "summary": summary},
                                                   indent=2, default=str))
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
