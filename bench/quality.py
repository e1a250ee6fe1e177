"""Quality figures against the simulator's hidden truth (never read by the pipeline itself)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score


def oracle_churn_probability(people: pl.DataFrame, end: datetime, horizon_days: int = 90
                             ) -> pl.Series:
    """P(no order in the horizon | the hidden state at the end date).

    Gone already: 1. Otherwise ordering (rate r) and leaving (hazard h) compete as exponential
    clocks: P(no order) = h/(r+h) * (1 - e^-(r+h)T) + e^-(r+h)T. Seasonality is ignored.
    """
    gone = pl.col("left_at").is_not_null() & (pl.col("left_at") <= end)
    total = pl.col("purchase_rate") + pl.col("churn_hazard")
    stay_quiet = (-total * horizon_days).exp()
    p = pl.col("churn_hazard") / total * (1 - stay_quiet) + stay_quiet
    return people.select(pl.when(gone).then(1.0).otherwise(p).alias("oracle")).to_series()


def churn_auc(published: Path, truth: Path, end: datetime) -> dict:
    """AUC of the published churn scores, the recency rule and the oracle (the true probability
    from the hidden state), all on the same customers, against whether they really churned."""
    con = duckdb.connect(str(published), read_only=True)
    scored = con.sql(
        "select c.email, s.score as churn_probability, c.days_since_last_order "
        "from ml.scores s join marts.dim_customers c using (customer_key) "
        "where s.model = 'churn'").pl()
    con.close()
    people = pl.read_parquet(truth / "customers.parquet")
    people = people.with_columns(oracle=oracle_churn_probability(people, end)).select(
        "email", "churned_next_90d", "oracle")
    joined = scored.join(people, on="email", how="inner")
    y = joined.get_column("churned_next_90d").cast(pl.Int8).to_numpy()
    return {
        "customers": joined.height,
        "model_auc": float(roc_auc_score(y, joined.get_column("churn_probability").to_numpy())),
        "recency_auc": float(roc_auc_score(
            y, joined.get_column("days_since_last_order").to_numpy())),
        "oracle_auc": float(roc_auc_score(y, joined.get_column("oracle").to_numpy())),
    }


def ltv_spearman(published: Path, work: Path, truth: Path, day: date) -> dict:
    """Spearman correlation of the published lifetime values, and of BG/NBD + Gamma-Gamma
    fit on the same day's features, with what each customer really spent in the next year;
    and the totals predicted against the truth's."""
    from pipelines.ml.features import read_features, read_orders, with_btyd

    con = duckdb.connect(str(published), read_only=True)
    scored = con.sql(
        "select c.customer_key, c.email, s.score from ml.scores s "
        "join marts.dim_customers c using (customer_key) where s.model = 'ltv'").pl()
    con.close()
    con = duckdb.connect(str(work), read_only=True)
    try:
        features = read_features(con).filter(pl.col("as_of_date") == day)
        orders = read_orders(con)
    finally:
        con.close()
    btyd = with_btyd(features, orders).select("customer_key", "expected_value_365d")
    people = pl.read_parquet(truth / "customers.parquet").select("email", "value_next_365d")
    joined = (scored.join(btyd, on="customer_key", how="inner")
              .join(people, on="email", how="inner"))
    actual = joined.get_column("value_next_365d").to_numpy()
    return {
        "customers": joined.height,
        "model_spearman": float(spearmanr(actual, joined.get_column("score")).statistic),
        "bgnbd_spearman": float(spearmanr(
            actual, joined.get_column("expected_value_365d")).statistic),
        "model_total": float(joined.get_column("score").sum()),
        "bgnbd_total": float(joined.get_column("expected_value_365d").sum()),
        "actual_total": float(actual.sum()),
    }


def _pairs(counts: pl.Series) -> int:
    n = counts.cast(pl.Int64)
    return int((n * (n - 1) // 2).sum())


def identity_pairs(work: Path, truth: Path) -> dict:
    """Pairwise precision and recall of the identifier clusters against the true people."""
    con = duckdb.connect(str(work), read_only=True)
    ours = con.sql("select identifier_type, identifier, customer_key "
                   "from intermediate.int_identity__identifiers").pl()
    con.close()
    true_ids = pl.read_parquet(truth / "identifiers.parquet").rename(
        {"identifier_type": "identifier_type", "identifier_value": "identifier"})
    joined = ours.join(true_ids, on=["identifier_type", "identifier"], how="inner")
    predicted = _pairs(joined.group_by("customer_key").len().get_column("len"))
    actual = _pairs(joined.group_by("person_id").len().get_column("len"))
    both = _pairs(joined.group_by(["customer_key", "person_id"]).len().get_column("len"))
    return {
        "identifiers": joined.height,
        "unmatched_identifiers": ours.height - joined.height,
        "precision": both / predicted if predicted else 1.0,
        "recall": both / actual if actual else 1.0,
    }
