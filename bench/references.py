"""What a user would do without the product, timed on the same data in the same run.

- bare DuckDB: read every landing file into a table, nothing else (the floor for ingest);
- pandas: the churn features and model written plainly in pandas, as in a notebook.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import xgboost as xgb

from pipelines.ml.churn import PARAMS
from pipelines.ml.features import CHURN_FEATURES

# The floor: read and store, skipping what does not parse (no ledger, no quarantine).
READERS = {
    ".csv": "read_csv('{path}', all_varchar = true, ignore_errors = true)",
    ".ndjson": "read_json('{path}', format = 'newline_delimited', ignore_errors = true)",
    ".json": "read_json('{path}', format = 'newline_delimited', ignore_errors = true)",
    ".parquet": "read_parquet('{path}')",
}


def bare_duckdb_ingest(landing: Path, db: Path) -> dict[str, dict]:
    """Per source: open the database file, `create table as select * from read_csv/read_json/
    read_parquet(file)` for every landing file of that source, and close it, nothing else.

    Opening and closing are timed as they are for an ingest task: closing writes what the
    tables hold to the file, which the ingest task's time includes too.
    """
    db.unlink(missing_ok=True)
    results: dict[str, dict] = {}
    n = 0
    for source_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        files = sorted(p for p in source_dir.rglob("*") if p.suffix in READERS)
        start = time.perf_counter()
        rows = 0
        con = duckdb.connect(str(db))
        for path in files:
            if not path.stat().st_size:
                continue
            reader = READERS[path.suffix].format(path=path)
            con.execute(f"create table t{n} as select * from {reader}")
            rows += con.sql(f"select count(*) from t{n}").fetchall()[0][0]
            n += 1
        con.close()
        results[source_dir.name] = {"seconds": time.perf_counter() - start, "rows": rows,
                                    "bytes": sum(p.stat().st_size for p in files)}
    db.unlink(missing_ok=True)
    return results


def _features(orders: pd.DataFrame, as_of: date) -> pd.DataFrame:
    cutoff = pd.Timestamp(as_of + timedelta(days=1), tz="UTC")
    known = orders[orders["ordered_at"] < cutoff]
    g = known.groupby("customer_key")
    out = pd.DataFrame({
        "orders_count": g.size(),
        "revenue": g["amount"].sum(),
        "first": g["ordered_at"].min(),
        "last": g["ordered_at"].max(),
    })
    out["avg_order_value"] = out["revenue"] / out["orders_count"]
    day = pd.Timestamp(as_of, tz="UTC")
    out["days_since_last_order"] = (day - out["last"].dt.floor("D")).dt.days
    out["tenure_days"] = (day - out["first"].dt.floor("D")).dt.days
    for days in (30, 90, 365):
        recent = known[known["ordered_at"] >= cutoff - pd.Timedelta(days=days)]
        out[f"orders_{days}d"] = recent.groupby("customer_key").size()
        if days > 30:
            out[f"revenue_{days}d"] = recent.groupby("customer_key")["amount"].sum()
    out = out.fillna({c: 0 for c in out.columns if c.startswith(("orders_", "revenue_"))})
    span = (out["last"] - out["first"]).dt.total_seconds() / 86400
    out["avg_days_between_orders"] = np.where(out["orders_count"] > 1,
                                              span / (out["orders_count"] - 1), np.nan)
    out["is_email_subscribed"] = 0.0
    out["as_of_date"] = as_of
    return out[out["days_since_last_order"] <= 365]


def pandas_churn(work_db: Path, logical_date: date, horizon: int = 90) -> dict:
    """Features for every cutoff, labels, one XGBoost fit and scoring, in plain pandas."""
    con = duckdb.connect(str(work_db), read_only=True)
    orders = con.sql("select customer_key, ordered_at, cast(amount as double) as amount "
                     "from marts.fct_orders").df()
    con.close()
    start = time.perf_counter()
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True)
    cutoffs = [logical_date - timedelta(days=30 * k) for k in range(13)]
    frames = []
    for cutoff in cutoffs:
        f = _features(orders, cutoff)
        window_start = pd.Timestamp(cutoff + timedelta(days=1), tz="UTC")
        future = orders[(orders["ordered_at"] >= window_start)
                        & (orders["ordered_at"] < window_start + pd.Timedelta(days=horizon))]
        f["churned"] = ~f.index.isin(future["customer_key"].unique())
        frames.append(f)
    data = pd.concat(frames)
    feature_seconds = time.perf_counter() - start
    known = [c for c in cutoffs if c + timedelta(days=horizon) <= logical_date]
    train = data[data["as_of_date"].isin([c for c in known if c + timedelta(days=horizon)
                                          <= known[0]])]
    valid = data[data["as_of_date"] == known[0]]
    params = {**PARAMS, "nthread": 2}
    booster = xgb.train(
        params, xgb.DMatrix(train[list(CHURN_FEATURES)], label=train["churned"]), 400,
        evals=[(xgb.DMatrix(valid[list(CHURN_FEATURES)], label=valid["churned"]), "v")],
        early_stopping_rounds=30, verbose_eval=False)
    current = data[data["as_of_date"] == logical_date]
    booster.predict(xgb.DMatrix(current[list(CHURN_FEATURES)]))
    return {"seconds": time.perf_counter() - start, "feature_seconds": feature_seconds,
            "rows": len(data)}
