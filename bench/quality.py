"""Quality figures against the simulator's hidden truth (never read by the pipeline itself)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
from sklearn.metrics import roc_auc_score


def oracle_churn_probability(
    people: pl.DataFrame, end: datetime, horizon_days: int = 90
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
        "select c.email, s.churn_probability, c.days_since_last_order "
        "from ml.churn_scores s join marts.dim_customers c using (customer_key)"
    ).pl()
    con.close()
    people = pl.read_parquet(truth / "customers.parquet")
    people = people.with_columns(oracle=oracle_churn_probability(people, end)).select(
        "email", "churned_next_90d", "oracle"
    )
    joined = scored.join(people, on="email", how="inner")
    y = joined.get_column("churned_next_90d").cast(pl.Int8).to_numpy()
    return {
        "customers": joined.height,
        "model_auc": float(roc_auc_score(y, joined.get_column("churn_probability").to_numpy())),
        "recency_auc": float(
            roc_auc_score(y, joined.get_column("days_since_last_order").to_numpy())
        ),
        "oracle_auc": float(roc_auc_score(y, joined.get_column("oracle").to_numpy())),
    }


# The simulator's identifier types, as identity resolution names the same values.
TRUTH_TYPES = {
    "email": "email", "shop_customer_id": "shop_customer_id",
    "hubspot_record_id": "hubspot_record_id", "ga4_user_pseudo_id": "ga4_user_pseudo_id",
    "capi_em_sha256": "email_sha256", "capi_ph_sha256": "phone_sha256",
    "capi_external_id": "external_id_sha256", "fbp": "fbp",
}  # fmt: skip


def _pairs(frame: pl.DataFrame, keys: list[str]) -> int:
    n = frame.group_by(keys).len().get_column("len").cast(pl.Int64)
    return int((n * (n - 1) // 2).sum())


def _pairwise(frame: pl.DataFrame, cluster: str) -> dict:
    predicted = _pairs(frame, [cluster])
    actual = _pairs(frame, ["person_id"])
    both = _pairs(frame, [cluster, "person_id"])
    return {
        "precision": both / predicted if predicted else 1.0,
        "recall": both / actual if actual else 1.0,
    }


def identity_pairs(work: Path, truth: Path) -> dict:
    """Pairwise precision and recall of identity resolution against the true people, beside a
    naive match on exact email (each record joins the person of the email it carries).

    Over all identifiers of the truth that the data holds, and over the linkable ones: those
    some record or hash ties to another identifier. A device that never logged in or bought
    is in no record with anything else, so no method working from the exports can place it.
    """
    con = duckdb.connect(str(work), read_only=True)
    try:
        ours = con.sql(
            "select identifier_type, identifier, customer_key "
            "from intermediate.int_identity__identifiers"
        ).pl()
        linked = con.sql(
            "select identifier_type, identifier from intermediate.int_identity__edges "
            "union select linked_type, linked_identifier "
            "from intermediate.int_identity__edges"
        ).pl()
        records = con.sql(
            "select record_key, identifier_type, identifier from intermediate.int_identity__records"
        ).pl()
    finally:
        con.close()
    true_ids = (
        pl.read_parquet(truth / "identifiers.parquet")
        .filter(pl.col("identifier_type").is_in(list(TRUTH_TYPES)))
        .with_columns(pl.col("identifier_type").replace_strict(TRUTH_TYPES))
        .rename({"identifier_value": "identifier"})
        .unique(["identifier_type", "identifier"])
    )
    keys = ["identifier_type", "identifier"]
    # Unassigned (shared) identifiers are each their own cluster.
    joined = ours.join(true_ids, on=keys).with_columns(
        customer_key=pl.coalesce("customer_key", pl.lit("?") + pl.col("identifier"))
    )
    email_of = records.filter(pl.col("identifier_type") == "email").select(
        "record_key", email="identifier"
    )
    naive = records.join(email_of, on="record_key").group_by(keys).agg(pl.col("email").min())
    joined = joined.join(naive, on=keys, how="left").with_columns(
        email_match=pl.coalesce("email", pl.col("identifier_type") + ":" + pl.col("identifier"))
    )
    linkable = joined.join(linked, on=keys, how="semi")
    return {
        "identifiers": joined.height,
        "linkable_identifiers": linkable.height,
        "unmatched_identifiers": ours.height - joined.height,
        **_pairwise(joined, "customer_key"),
        "linkable": _pairwise(linkable, "customer_key"),
        "email_match": _pairwise(joined, "email_match"),
        "email_match_linkable": _pairwise(linkable, "email_match"),
    }
