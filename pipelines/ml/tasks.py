"""What the Airflow `score_*` and `forecast_units` tasks call: read from the work file, model,
write the results back. Each opens its own connections and closes them; none is held while a
model trains."""

from __future__ import annotations

import json
import logging
from datetime import date

import polars as pl

from pipelines.config import Settings
from pipelines.ml import scores as scores_table
from pipelines.ml.features import read_features, read_purchases
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

RUNS_COLUMNS: dict[str, str] = {
    "run_id": "varchar not null",
    "model": "varchar not null",
    "version": "varchar not null",  # what scored: a model version or a baseline's name
    "as_of_date": "date not null",
    "trained": "boolean not null",  # a new version was trained in this run
    "scored_rows": "bigint not null",
    # JSON: the candidate's, every rival's and the previous version's metrics, what published
    # and its figure, the outcome window and its scaling, the BG/NBD + Gamma-Gamma fits.
    "metrics": "varchar not null",
    "note": "varchar",
    "candidate_version": "varchar",  # the version evaluated for promotion, when one was
    "promoted": "boolean",
    "metric": "varchar",  # the figure promotion compares (auc, spearman; wape, lower is better)
    "model_value": "double",
    "baseline": "varchar",  # the strongest rival on the holdout
    "baseline_value": "double",
    "previous_value": "double",
    # The holdout figure of what scored (the version or rival in `version`); null only when
    # nothing could be measured (too little history).
    "published_value": "double",
}

RUNS_DDL = "create table if not exists ml.model_runs ({})".format(
    ", ".join(f"{name} {kind}" for name, kind in RUNS_COLUMNS.items())
)


def _prepare(con) -> None:
    """Create the ml tables, and add the newer columns to an older `ml.model_runs`."""
    con.execute("create schema if not exists ml")
    con.execute(RUNS_DDL)
    for name, kind in RUNS_COLUMNS.items():
        con.execute(
            f"alter table ml.model_runs add column if not exists {name} "
            f"{kind.replace(' not null', '')}"
        )
    con.execute(scores_table.DDL)
    # Churn scores lived in their own table before `ml.scores`.
    con.execute("drop table if exists ml.churn_scores")


def record_run(con, run_id: str, model: str, logical_date: date, row: dict) -> None:
    """Replace this run's row for `model` in `ml.model_runs`."""
    values = {"run_id": run_id, "model": model, "as_of_date": logical_date, **row}
    values["metrics"] = json.dumps(values.get("metrics") or {}, sort_keys=True, default=float)
    names = [n for n in RUNS_COLUMNS if n in values]
    con.execute("delete from ml.model_runs where run_id = ? and model = ?", [run_id, model])
    con.execute(
        f"insert into ml.model_runs ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )


def write_scores(settings: Settings, run_id: str, logical_date: date, model: str, outcome) -> dict:
    """Replace `model`'s rows in `ml.scores` and record the run; returns the task's summary."""
    evaluation = outcome.evaluation
    metric = {"churn": "auc", "lead": "auc", "ltv": "spearman"}[model]
    row = {
        "version": outcome.version,
        "trained": outcome.trained,
        "scored_rows": outcome.scores.height,
        "metrics": evaluation,
        "note": outcome.note,
        "candidate_version": outcome.candidate,
        "promoted": outcome.promoted,
        "metric": metric,
        "model_value": evaluation.get("candidate", {}).get(metric),
        "baseline": evaluation.get("baseline", {}).get("name"),
        "baseline_value": evaluation.get("baseline", {}).get(metric),
        "previous_value": evaluation.get("previous", {}).get(metric),
        "published_value": evaluation.get("published", {}).get(metric),
    }
    with work_connection(settings) as con:
        _prepare(con)
        con.execute("begin")
        con.execute(f"delete from {scores_table.TABLE} where model = ?", [model])
        con.register("scores_frame", outcome.scores.to_arrow())
        con.execute(f"insert into {scores_table.TABLE} by name select * from scores_frame")
        con.unregister("scores_frame")
        record_run(con, run_id, model, logical_date, row)
        con.execute("commit")
    summary = {
        "model": model,
        "version": outcome.version,
        "trained": outcome.trained,
        "promoted": outcome.promoted,
        "scored": outcome.scores.height,
        metric: row["model_value"],
        "baseline": row["baseline_value"],
        "strongest_rival": row["baseline"],
        "published": row["published_value"],
        "note": outcome.note,
    }
    log.info("%s scores: %s", model, summary)
    return summary


FORECAST_DDL = """
create or replace table ml.forecast (
    sku varchar not null,
    week_start date not null,
    units_forecast double not null,
    -- the 80% interval from the method's backtest errors (pipelines/forecast/interval.py);
    -- null where the method was not backtested
    units_low double,
    units_high double,
    model varchar not null,
    as_of_date date not null
)
"""

FORECAST_TOTAL_DDL = """
create or replace table ml.forecast_total (
    week_start date not null,
    units_forecast double not null,
    units_low double,
    units_high double,
    model varchar not null,
    -- the method that publishes (pipelines/forecast/backtest.py: choose)
    is_published boolean not null,
    as_of_date date not null
)
"""


def forecast_units(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Forecast weekly units per product (or the shop's total, when no order line has a
    product id) for the next `forecast_weeks` weeks into `ml.forecast`: the model and every
    simple rival the history allows, backtested over rolling origins; `ml.model_runs` records
    each one's figures, the strongest rival and the one that publishes."""
    from pipelines.forecast import units

    with work_connection(settings) as con:
        lines = con.sql(
            "select sku, order_date, cast(quantity as double) as quantity "
            "from marts.fct_order_lines where not is_cancelled and not is_return"
        ).pl()
    result = units.forecast_units(lines, logical_date, settings.forecast_weeks, settings.ml_threads)
    figures = result.metrics
    metric = units.METRIC
    published, baseline = figures["published"], figures["baseline"]
    candidate = figures.get("candidate")
    # What published: the model's version, or the rival's name.
    version = candidate["version"] if published["name"] == units.MODEL else published["name"]
    row = {
        "version": version,
        "trained": candidate is not None,
        "scored_rows": result.rows.height,
        "metrics": figures,
        "note": result.note,
        "candidate_version": candidate["version"] if candidate else None,
        "promoted": published["name"] == units.MODEL if candidate else None,
        "metric": metric,
        "model_value": candidate[metric] if candidate else None,
        "baseline": baseline.get("name"),
        "baseline_value": baseline.get(metric),
        "published_value": published.get(metric),
    }
    with work_connection(settings) as con:
        _prepare(con)
        con.execute("begin")
        con.execute(FORECAST_DDL)
        con.register("forecast_frame", result.rows.to_arrow())
        con.execute("insert into ml.forecast by name select * from forecast_frame")
        con.unregister("forecast_frame")
        # The shop's weekly total with its own interval: the products' intervals do not add
        # up to the total's (their errors partly cancel).
        con.execute(FORECAST_TOTAL_DDL)
        con.register("forecast_total_frame", result.total.to_arrow())
        con.execute("insert into ml.forecast_total by name select * from forecast_total_frame")
        con.unregister("forecast_total_frame")
        record_run(con, run_id, "forecast_units", logical_date, row)
        con.execute("commit")
    summary = {
        "model": "forecast_units",
        "version": version,
        "level": figures.get("level"),
        "rows": result.rows.height,
        "published": published["name"],
        metric: published.get(metric),
        "strongest_rival": baseline.get("name"),
        "baseline": baseline.get(metric),
        "model_wape": row["model_value"],
        "windows": figures.get("windows"),
        "note": result.note,
    }
    log.info("units forecast: %s", summary)
    return summary


def _read(settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    with work_connection(settings) as con:
        return read_features(con), read_purchases(con)


def score_churn(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score every active customer's churn risk as of `logical_date` into `ml.scores`."""
    from pipelines.ml import churn

    features, orders = _read(settings)
    outcome = churn.fit_and_score(
        features,
        orders,
        logical_date,
        settings.churn_horizon_days,
        settings.models_dir,
        settings.ml_threads,
        settings.retrain_every_days,
        settings.promotion_tolerance,
    )
    return write_scores(settings, run_id, logical_date, churn.MODEL, outcome)


def score_ltv(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score every customer's expected value over the next year into `ml.scores`."""
    from pipelines.ml import ltv

    features, orders = _read(settings)
    outcome = ltv.fit_and_score(
        features,
        orders,
        logical_date,
        settings.ltv_horizon_days,
        settings.models_dir,
        settings.ml_threads,
        settings.retrain_every_days,
        settings.ltv_training_gap_days,
        settings.promotion_tolerance,
        settings.ltv_min_label_days,
    )
    return write_scores(settings, run_id, logical_date, ltv.MODEL, outcome)


def score_lead(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score every open CRM lead's chance to order within `lead_horizon_days` into
    `ml.scores`."""
    from pipelines.ml import lead

    with work_connection(settings) as con:
        leads, events = lead.read_inputs(con)
        cutoffs = [
            d
            for (d,) in con.sql(
                "select distinct as_of_date from marts.customer_features order by 1"
            ).fetchall()
        ]
    outcome = lead.fit_and_score(
        leads,
        events,
        cutoffs,
        logical_date,
        settings.lead_horizon_days,
        settings.models_dir,
        settings.ml_threads,
        settings.retrain_every_days,
        settings.promotion_tolerance,
        click_levels=settings.lead_click_levels,
    )
    return write_scores(settings, run_id, logical_date, lead.MODEL, outcome)
