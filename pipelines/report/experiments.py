"""The report's experiments section: what each holdout and each A/B test of creative showed,
one plain sentence each (rpt_experiments, rpt_ab_tests). Read from the published warehouse;
the template escapes every value."""

from __future__ import annotations

import polars as pl

from pipelines.report.sections import ReportInputs, Section, render_part

# The verdicts a reader acts on first; then those still running.
ORDER = {"treatment_better": 0, "holdout_better": 1, "srm_blocked": 2, "no_difference": 3,
         "too_few": 4}


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


def section(inputs: ReportInputs) -> Section | None:
    experiments = experiments_context(read_experiments(inputs))
    if experiments is None:
        return None
    return Section(key="experiments", title="What marketing really caused", order=70,
                   html=render_part("experiments.html.j2", experiments=experiments))
