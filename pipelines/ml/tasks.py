"""What the Airflow `score_*` tasks call: read from the work file, model, write scores back."""

from __future__ import annotations

import json
import logging
from datetime import date

import polars as pl

from pipelines.config import Settings
from pipelines.ml import baseline, churn
from pipelines.ml.features import read_features, read_orders
from pipelines.ml.labels import active
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

SCORES_TABLE = "ml.churn_scores"

RUNS_DDL = """
create table if not exists ml.model_runs (
    run_id varchar not null,
    model varchar not null,
    version varchar not null,
    as_of_date date not null,
    trained boolean not null,
    scored_rows bigint not null,
    metrics varchar not null,
    note varchar
)
"""


def score_churn(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score every active customer's churn risk as of `logical_date` into `ml.churn_scores`."""
    with work_connection(settings) as con:
        features = read_features(con)
        orders = read_orders(con)
    note = ""
    try:
        result = churn.fit_and_score(
            features, orders, logical_date, settings.churn_horizon_days,
            settings.models_dir, settings.duckdb_threads, settings.retrain_every_days,
        )
        scores, version, metrics, trained = (
            result.scores, result.card.version, result.card.metrics, result.trained)
    except churn.InsufficientHistoryError as exc:
        note = f"scored by the recency rule: {exc}"
        log.warning(note)
        current = active(features).filter(pl.col("as_of_date") == logical_date)
        scores = baseline.recency_scores(current.sort("customer_key"))
        version, metrics, trained = baseline.VERSION, {}, False

    with work_connection(settings) as con:
        con.execute("create schema if not exists ml")
        con.register("scores_frame", scores.to_arrow())
        con.execute(f"create or replace table {SCORES_TABLE} as select * from scores_frame")
        con.unregister("scores_frame")
        con.execute(RUNS_DDL)
        con.execute("delete from ml.model_runs where run_id = ? and model = ?",
                    [run_id, churn.MODEL])
        con.execute(
            "insert into ml.model_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, churn.MODEL, version, logical_date, trained, scores.height,
             json.dumps(metrics, sort_keys=True), note],
        )
    summary = {"model": churn.MODEL, "version": version, "trained": trained,
               "scored": scores.height, "metrics": metrics, "note": note}
    log.info("churn scores: %s", summary)
    return summary
