"""The report's experiments section: what each holdout and each A/B test of creative showed,
one plain sentence each (rpt_experiments, rpt_ab_tests). Read from the published warehouse;
the template escapes every value."""

from __future__ import annotations

import polars as pl

from pipelines.config import Settings
from pipelines.warehouse import connect

# The verdicts a reader acts on first; then those still running.
ORDER = {"treatment_better": 0, "holdout_better": 1, "srm_blocked": 2, "no_difference": 3,
         "too_few": 4}


def read_experiments(settings: Settings) -> dict[str, pl.DataFrame]:
    """rpt_experiments and rpt_ab_tests; empty frames when the publication lacks them."""
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        present = {r[0] for r in con.sql(
            "select table_name from information_schema.tables "
            "where table_schema = 'reports'").fetchall()}
        return {name: (con.sql(f"select * from reports.rpt_{name}").pl()
                       if f"rpt_{name}" in present else pl.DataFrame())
                for name in ("experiments", "ab_tests")}
    finally:
        con.close()


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
