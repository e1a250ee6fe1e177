"""Lift readouts (reports.rpt_experiments): per experiment and outcome, treated against held
out, from the holdouts the pipeline assigned (int_experiments__units) and from tests a shop
ran elsewhere (the `experiments` source). The statistics are pipelines.experiments.stats.

External experiments declare their columns by name: `outcome_<name>` is an outcome (higher is
better; send a churn flag as its complement), `pre_<name>` the same measure before the test
(the CUPED covariate of `outcome_<name>`), `planned_share` the arm's planned share of units
(for the sample-ratio test; without it no test is made), and the arm named `control` or
`holdout` is the baseline every other arm is read against, as experiment
`<experiment>__<arm>`.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

import polars as pl

from pipelines.experiments import stats

# Contract 5's outcomes, the direction that is better, and how the summary names them.
OUTCOMES: dict[str, tuple[bool, str]] = {
    "orders": (False, "orders per person"),
    "revenue": (False, "revenue per person"),
    "churned": (True, "share of people without an order"),
    "email_clicks": (False, "email clicks per person"),
}
CONTROL_ARMS = ("control", "holdout")
# Today's entry rate: entries over the last RATE_DAYS days, the start day left out (a whole
# audience enters on its first day; the days after show how fast it grows).
RATE_DAYS = 28

SCHEMA = {
    "experiment_id": pl.String, "experiment": pl.String, "audience": pl.String,
    "outcome": pl.String, "started_on": pl.Date, "as_of_date": pl.Date,
    "outcome_days": pl.Int32, "treated_n": pl.Int64, "holdout_n": pl.Int64,
    "left_n": pl.Int64, "treated_mean": pl.Float64, "holdout_mean": pl.Float64,
    "lift_abs": pl.Float64, "lift_rel": pl.Float64, "lift_low": pl.Float64,
    "lift_high": pl.Float64, "prob_treatment_better": pl.Float64,
    "cuped_variance_reduction": pl.Float64, "srm_p_value": pl.Float64, "srm_flag": pl.Boolean,
    "mde_abs": pl.Float64, "days_needed": pl.Int32, "verdict": pl.String, "summary": pl.String,
}


def _num(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2g}" if abs(x) < 1 else f"{x:,.2f}".rstrip("0").rstrip(".")


def summary(name: str, outcome_label: str, window: int | None, result: stats.Lift,
            verdict: str, srm_p: float | None, holdout_share: float | None,
            days: int | None, units_more: int, external: bool,
            rate: float | None = None) -> str:
    """One plain sentence that states the row's result."""
    if verdict == "srm_blocked":
        seen = result.holdout_n / max(result.treated_n + result.holdout_n, 1)
        return (f"No verdict for {name}: {seen:.1%} of its people are held out against "
                f"{holdout_share:.1%} configured (sample-ratio mismatch, p = {srm_p:.1g}); "
                "check how the audience is assigned and uploaded.")
    if verdict == "too_few":
        if days is not None:
            return (f"Too few people to conclude on {name}'s {outcome_label}: "
                    f"about {days} more days at today's rate.")
        if external:  # no entry dates: say how many more
            return (f"Too few people to conclude on {name}'s {outcome_label}: about "
                    f"{units_more:,} more people would be needed.")
        if rate is None:
            return (f"Too few people to conclude on {name}'s {outcome_label}: about "
                    f"{units_more:,} more people would be needed; how fast they come is "
                    "known after the experiment's first day.")
        return (f"Too few people to conclude on {name}'s {outcome_label}: about "
                f"{units_more:,} more people would be needed, and nobody entered in the last "
                f"{RATE_DAYS} days, so at today's rate it cannot conclude.")
    span = f" in {window} days" if window else ""
    prob = result.prob_treatment_better
    likely = "over 99%" if prob > 0.99 else "under 1%" if prob < 0.01 else f"{prob:.0%}"
    if outcome_label == OUTCOMES["churned"][1]:
        direction = "lowered" if result.lift_abs <= 0 else "raised"
        return (f"{name} {direction} the {outcome_label}{span} by "
                f"{abs(result.lift_abs) * 100:.1f} points (90% interval "
                f"{result.lift_low * 100:+.1f} to {result.lift_high * 100:+.1f}); "
                f"{likely} likely better than holding back.")
    direction = "more" if result.lift_abs >= 0 else "fewer"
    return (f"{name} brought {_num(abs(result.lift_abs))} {direction} {outcome_label}{span} "
            f"(90% interval {_num(result.lift_low)} to {_num(result.lift_high)}); "
            f"{likely} likely better than holding back.")


def read_out(values: pl.DataFrame, *, name: str, outcome: str, lower_is_better: bool,
             label: str, holdout_share: float | None, window: int | None,
             min_effect_rel: float, entered: pl.Series | None, as_of: date,
             left_n: int, assigned: tuple[int, int]) -> dict:
    """One readout row's statistics. `values`: arm ('treatment'|'holdout'), y and, when
    there is one, x (the pre-period covariate), of the units that count. `assigned`: every
    unit ever assigned, by arm (treatment, holdout), for the sample-ratio test. `entered`:
    the entry dates of all units still in (for days needed); None for external tests."""
    t = values.filter(pl.col("arm") == "treatment")
    h = values.filter(pl.col("arm") == "holdout")
    has_x = "x" in values.columns
    result = stats.lift(t["y"].to_numpy(), h["y"].to_numpy(),
                        t["x"].to_numpy() if has_x else None,
                        h["x"].to_numpy() if has_x else None, lower_is_better)
    srm_p = stats.srm_p_value(*assigned, holdout_share) if holdout_share else None
    srm_flag = srm_p is not None and srm_p < stats.SRM_ALPHA
    base = result.holdout_mean if result.holdout_mean else values["y"].mean()
    min_effect = abs(base) * min_effect_rel if base else None
    verdict = stats.verdict(result, srm_flag, min_effect, lower_is_better)
    days, units_more, rate = None, 0, None
    if verdict == "too_few":
        n_now = result.treated_n + result.holdout_n
        share = holdout_share or (result.holdout_n / n_now if n_now else 0.5) or 0.5
        # Both arms need the minimum, and the lift's error must shrink to the minimum effect.
        n_needed = math.ceil(stats.MIN_UNITS_PER_ARM / min(share, 1 - share))
        if result.mde_abs and min_effect:
            n_needed = max(n_needed, stats.units_needed(n_now, result.mde_abs, min_effect))
        units_more = max(n_needed - n_now, 0)
        if entered is not None and window is not None:
            rate = entries_per_day(entered, as_of)
            days = stats.days_needed(entered.to_list(), as_of, window, n_needed, rate or 0.0)
    return {
        "outcome": outcome, "treated_n": result.treated_n, "holdout_n": result.holdout_n,
        "left_n": left_n, "treated_mean": result.treated_mean,
        "holdout_mean": result.holdout_mean, "lift_abs": result.lift_abs,
        "lift_rel": result.lift_rel, "lift_low": result.lift_low, "lift_high": result.lift_high,
        "prob_treatment_better": result.prob_treatment_better,
        "cuped_variance_reduction": result.cuped_variance_reduction,
        "srm_p_value": srm_p, "srm_flag": srm_flag, "mde_abs": result.mde_abs,
        "days_needed": days, "verdict": verdict,
        "summary": summary(name, label, window, result, verdict, srm_p, holdout_share, days,
                           units_more, entered is None, rate),
    }


def entries_per_day(entered: pl.Series, as_of: date) -> float | None:
    """Units entering per day lately: entries over the last `RATE_DAYS` days, the start day
    left out; None (not known yet) when the experiment started today."""
    start = entered.min()
    since = max(start + timedelta(days=1), as_of - timedelta(days=RATE_DAYS - 1))
    days = (as_of - since).days + 1
    if days <= 0:
        return None
    return int(((entered >= since) & (entered <= as_of)).sum()) / days


def read_out_units(units: pl.DataFrame, as_of: date, min_effect_rel: float) -> pl.DataFrame:
    """reports.rpt_experiments' rows of the pipeline's own holdouts: one per experiment and
    contract outcome. `units`: int_experiments__units."""
    rows = []
    units = units.filter(pl.col("entered_on") <= as_of)
    for (experiment_id,), exp in units.sort("experiment_id").group_by(
            "experiment_id", maintain_order=True):
        first = exp.row(0, named=True)
        has_left = pl.col("left_on").is_not_null() & (pl.col("left_on") <= as_of)
        still = exp.filter(~has_left)
        counted = still.filter(pl.col("is_complete"))
        assigned = (int((exp["arm"] == "treatment").sum()), int((exp["arm"] == "holdout").sum()))
        for outcome, (lower, label) in OUTCOMES.items():
            values = counted.select("arm", y=pl.col(outcome).cast(pl.Float64),
                                    x=pl.col(f"pre_{outcome}").cast(pl.Float64))
            rows.append({
                "experiment_id": experiment_id, "experiment": first["experiment"],
                "audience": first["audience"], "started_on": exp["entered_on"].min(),
                "as_of_date": as_of, "outcome_days": first["outcome_days"],
                **read_out(values, name=_label(first["experiment"]), outcome=outcome,
                           lower_is_better=lower, label=label,
                           holdout_share=first["holdout_share"],
                           window=first["outcome_days"], min_effect_rel=min_effect_rel,
                           entered=still["entered_on"], as_of=as_of,
                           left_n=exp.height - still.height, assigned=assigned),
            })
    return pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=SCHEMA)


def _label(experiment: str) -> str:
    return experiment.replace("__", " ").replace("_", " ").capitalize()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _as_number(frame: pl.DataFrame, column: str) -> pl.Series:
    """The text column as numbers; a value that is not one is an error naming file and row."""
    cast = frame[column].str.strip_chars().cast(pl.Float64, strict=False)
    bad = frame.filter(cast.is_null() & frame[column].is_not_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"{row['source_file']} row {row['source_row']}: column {column} of experiment "
            f"{row['experiment_id']} is {row[column]!r}, not a number; fix the export and "
            "land it again.")
    return cast


def read_out_external(results: pl.DataFrame, as_of: date, min_effect_rel: float
                      ) -> pl.DataFrame:
    """reports.rpt_experiments' rows of tests run elsewhere (stg_experiments__results): every
    arm against the control arm, on every `outcome_<name>` column, CUPED on `pre_<name>`."""
    rows = []
    outcomes = [c.removeprefix("outcome_") for c in results.columns if c.startswith("outcome_")]
    for (experiment,), exp in results.sort("experiment_id").group_by(
            "experiment_id", maintain_order=True):
        arms = exp.with_columns(arm_key=pl.col("arm").str.to_lowercase())
        control = arms.filter(pl.col("arm_key").is_in(CONTROL_ARMS))
        if control.is_empty() or control["arm_key"].n_unique() > 1:
            raise ValueError(
                f"experiment {experiment} (file {exp['source_file'][0]}): needs exactly one "
                f"arm named {' or '.join(CONTROL_ARMS)} to read the others against; its arms "
                f"are {', '.join(sorted(exp['arm'].unique()))}.")
        for (arm,), treated in arms.filter(~pl.col("arm_key").is_in(CONTROL_ARMS)).group_by(
                "arm", maintain_order=True):
            pair = pl.concat([treated.with_columns(side=pl.lit("treatment")),
                              control.with_columns(side=pl.lit("holdout"))])
            share = None
            if "planned_share" in pair.columns:
                planned = pair.with_columns(p=_as_number(pair, "planned_share")).group_by(
                    "side").agg(pl.col("p").first())
                p = dict(planned.iter_rows())
                if p.get("treatment") and p.get("holdout"):
                    share = p["holdout"] / (p["holdout"] + p["treatment"])
            counts = (treated.height, control.height)
            for outcome in outcomes:
                column = f"outcome_{outcome}"
                values = pair.select(arm="side").with_columns(y=_as_number(pair, column))
                if f"pre_{outcome}" in pair.columns:
                    values = values.with_columns(x=_as_number(pair, f"pre_{outcome}"))
                missing = values.filter(pl.any_horizontal(pl.all().is_null()))
                values = values.drop_nulls()
                rows.append({
                    "experiment_id": f"{experiment}__{_slug(arm)}", "experiment": experiment,
                    "audience": arm, "started_on": exp["export_date"].min(),
                    "as_of_date": as_of, "outcome_days": None,
                    **read_out(values, name=f"{arm} ({experiment})", outcome=outcome,
                               lower_is_better=False, label=f"{outcome} per unit",
                               holdout_share=share, window=None,
                               min_effect_rel=min_effect_rel, entered=None, as_of=as_of,
                               left_n=missing.height, assigned=counts),
                })
    return pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=SCHEMA)
