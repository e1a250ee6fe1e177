"""The report's experiments section: what each holdout and each A/B test of creative showed,
one plain sentence each (rpt_experiments, rpt_ab_tests). Read from the published warehouse;
the template escapes every value."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipelines.report.plots.experiments import ab_rates, holdout_effects, relative_effects
from pipelines.report.sections import Action, ReportInputs, Section, render_part

# The verdicts a reader acts on first; then those still running.
ORDER = {"treatment_better": 0, "holdout_better": 1, "srm_blocked": 2, "no_difference": 3,
         "too_few": 4}
# The columns a chart needs; a readout without them (an older publication) is told in words.
LIFTS = {"lift_abs", "lift_rel", "lift_low", "lift_high", "holdout_mean"}
RATES = {"test_name", "variant", "variant_label", "rate", "rate_low", "rate_high", "is_winner"}
# Readouts in the holdout chart, conclusive first: the page's size stays bounded as
# experiments accumulate (the sentences below name them all).
EFFECTS_DRAWN = 12
AB_TESTS_DRAWN = 6  # test x metric groups in the A/B chart: winners first, then the newest
AB_RECENT_DAYS = 28  # an A/B winner is an action while its test started this recently


def read_experiments(inputs: ReportInputs) -> dict[str, pl.DataFrame]:
    """rpt_experiments and rpt_ab_tests; empty frames when the publication lacks them."""
    frames = {name: inputs.table(f"reports.rpt_{name}") for name in ("experiments", "ab_tests")}
    return {name: pl.DataFrame() if frame is None else frame for name, frame in frames.items()}


def experiments_context(data: dict[str, pl.DataFrame]) -> dict | None:
    """Per experiment its sentences (conclusive verdicts first), and per A/B test and metric
    its sentence; None when there is nothing to say."""
    lifts, tests = data.get("experiments", pl.DataFrame()), data.get("ab_tests", pl.DataFrame())
    if lifts.is_empty() and tests.is_empty():
        return None
    experiments = []
    if not lifts.is_empty():
        ranked = lifts.with_columns(
            rank=pl.col("verdict").replace_strict(ORDER, default=len(ORDER))).sort(
            "rank", "experiment_id", "outcome")
        for (experiment_id,), rows in ranked.group_by("experiment_id", maintain_order=True):
            first = rows.row(0, named=True)
            experiments.append({
                "experiment_id": experiment_id, "audience": first["audience"],
                "treated_n": first["treated_n"], "holdout_n": first["holdout_n"],
                "left_n": first["left_n"], "sentences": rows["summary"].to_list()})
    ab = []
    if not tests.is_empty():
        ab = (tests.group_by("test_id", "metric", maintain_order=True)
              .agg(pl.col("summary").first(), pl.col("verdict").first(),
                   pl.col("started_on").first())
              .sort(pl.col("verdict") != "winner", pl.col("started_on"), descending=[False, True])
              .head(20).to_dicts())
    return {"experiments": experiments, "ab_tests": ab}


TITLE = "What marketing really caused"


def charts(data: dict[str, pl.DataFrame]) -> list:
    """Each holdout readout's effect with its interval (conclusive first), and the variants
    of the A/B tests the section names first, each rate with its interval."""
    drawn = []
    lifts, tests = data.get("experiments", pl.DataFrame()), data.get("ab_tests", pl.DataFrame())
    if not lifts.is_empty() and set(lifts.columns) >= LIFTS:
        effects = relative_effects(lifts).with_columns(
            rank=pl.col("verdict").replace_strict(ORDER, default=len(ORDER)),
            label=pl.format("{} · {}", pl.col("experiment_id"), pl.col("outcome")),
        ).sort("rank", "experiment_id", "outcome").head(EFFECTS_DRAWN)
        if effects.height:
            drawn.append(holdout_effects(effects))
    if not tests.is_empty() and set(tests.columns) >= RATES:
        groups = (tests.group_by("test_id", "metric", maintain_order=True)
                  .agg(pl.col("verdict").first(), pl.col("started_on").first())
                  .sort(pl.col("verdict") != "winner", pl.col("started_on"),
                        descending=[False, True])
                  .head(AB_TESTS_DRAWN).with_row_index("group"))
        variants = (tests.join(groups.select("test_id", "metric", "group"),
                               on=["test_id", "metric"])
                    .filter(pl.col("rate_low").is_not_null(), pl.col("rate_high").is_not_null())
                    .sort("group", "variant")
                    .with_columns(label=pl.format(
                        "{} · {} · {}", pl.col("test_name"), pl.col("metric"),
                        pl.coalesce("variant_label", "variant"))))
        if variants.height:
            drawn.append(ab_rates(variants))
    return drawn


def actions(data: dict[str, pl.DataFrame], logical_date: date) -> tuple[Action, ...]:
    """What to do about the tests with a verdict: keep a campaign that works, rethink one
    the held-back people beat, fix an assignment whose group sizes are off, use an A/B
    winner. One action per experiment (its most decisive outcome) and per A/B test."""
    found = []
    lifts, tests = data.get("experiments", pl.DataFrame()), data.get("ab_tests", pl.DataFrame())
    if not lifts.is_empty():
        decided = (lifts.filter(pl.col("verdict").is_in(
            ["treatment_better", "holdout_better", "srm_blocked"]))
            .with_columns(rank=pl.col("verdict").replace_strict(ORDER, default=len(ORDER)))
            .sort("rank", "experiment_id", "outcome")
            .unique("experiment_id", keep="first", maintain_order=True))
        for row in decided.iter_rows(named=True):
            found.append(Action(_holdout_action(row), link="#experiments", rank=40))
    if not tests.is_empty() and set(tests.columns) >= RATES | {"prob_best"}:
        # An old test's winner was sent long ago: only a recent one is news to act on.
        since = logical_date - timedelta(days=AB_RECENT_DAYS)
        winners = (tests.filter(pl.col("is_winner"), pl.col("started_on") >= since)
                   .sort("started_on", "test_id", "metric", descending=[True, False, False])
                   .unique("test_id", keep="first", maintain_order=True))
        for row in winners.iter_rows(named=True):
            variant = row["variant_label"] or row["variant"]
            found.append(Action(
                f"Use {variant} from {row['test_name']}: the best {row['metric']} "
                f"rate ({row['rate']:.1%}; {_chance(row['prob_best'])} likely the best).",
                link="#experiments", rank=45))
    return tuple(found)


OUTCOMES = {"orders": "orders", "revenue": "revenue", "churned": "customers lost",
            "email_clicks": "email clicks"}


def _chance(p: float) -> str:
    """A probability in words that never rounds a doubt away ("over 99%", not "100%")."""
    return "over 99%" if p > 0.99 else f"{p:.0%}"


def _holdout_action(row: dict) -> str:
    name, outcome = row["experiment_id"], OUTCOMES.get(row["outcome"], row["outcome"])
    if row["verdict"] == "srm_blocked":
        return (f"Check how {name} splits people: its groups are not the sizes planned, so "
                "its result cannot be trusted yet.")
    change = ""
    if row.get("lift_rel") is not None:
        change = f" ({outcome} {row['lift_rel']:+.0%} against those held back)"
    if row["verdict"] == "treatment_better":
        return f"Keep {name} going: it works{change}."
    return f"Rethink {name}: the people held back did better{change}."


def section(inputs: ReportInputs) -> Section | None:
    data = read_experiments(inputs)
    experiments = experiments_context(data)
    if experiments is None:
        return None
    todo = actions(data, inputs.logical_date)
    return Section(key="experiments", title="What marketing really caused", order=70,
                   html=render_part("experiments.html.j2", experiments=experiments,
                                    charts=charts(data)),
                   actions=todo, digest=tuple(a.text for a in todo))
