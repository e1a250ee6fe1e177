"""Lead conversion: will an open CRM lead place a first order within 60 days?

Everything a lead's features use is known at the cutoff: the leads created before it and not
yet converted, their age and original source, and the email opens and clicks before it. The
CRM export holds only today's lifecycle stage (a lead that converted since a cutoff shows
`customer`, which would leak the outcome), so the stage at a cutoff is replayed from what the
export does date: HubSpot's default lifecycle automation moves a contact from subscriber to
lead on its first email click and to marketing-qualified lead on the third. The baseline is
the 60-day conversion rate of that stage, learnt on the training cutoffs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.ml import trainer

MODEL = "lead"
BASELINE = "stage_rate"

# HubSpot's Original Source values (its documented list); anything else counts as other.
SOURCES: tuple[str, ...] = (
    "ORGANIC_SEARCH", "PAID_SEARCH", "PAID_SOCIAL", "SOCIAL_MEDIA", "EMAIL_MARKETING",
    "REFERRALS", "DIRECT_TRAFFIC", "OTHER_CAMPAIGNS", "OFFLINE",
)  # fmt: skip
STAGES: tuple[str, ...] = ("subscriber", "lead", "marketingqualifiedlead")

LEAD_FEATURES: tuple[str, ...] = (
    "lead_age_days",
    "stage_level",
    "email_opens_30d",
    "email_opens_90d",
    "email_opens_total",
    "email_clicks_30d",
    "email_clicks_total",
    "days_since_last_open",
    "days_since_last_click",
    *(f"source_{s.lower()}" for s in SOURCES),
)

SPEC = trainer.ModelSpec(
    name=MODEL,
    kind="binary",
    features=LEAD_FEATURES,
    label="converted",
    params={
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_depth": 3,
        "eta": 0.05,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "min_child_weight": 5,
        "seed": 0,
    },
    rounds=400,
)


def read_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CRM contacts that resolve to a person (one per person: the earliest), and those
    people's email opens and clicks. Times in UTC."""
    leads = con.sql(
        "select customer_key, created_at, original_source, converted_at from marts.fct_leads "
        "where customer_key is not null "
        "qualify row_number() over (partition by customer_key "
        "order by created_at, hubspot_record_id) = 1"
    ).pl()
    events = con.sql(
        "select e.customer_key, e.action, e.action_at from marts.fct_email_events as e "
        "where e.action in ('open', 'click') and e.customer_key in "
        "(select customer_key from marts.fct_leads)"
    ).pl()
    utc = [pl.col(c).dt.convert_time_zone("UTC") for c in ("created_at", "converted_at")]
    return leads.with_columns(utc), events.with_columns(
        pl.col("action_at").dt.convert_time_zone("UTC")
    )


def _cutoff_at(cutoff: date) -> pl.Expr:
    return pl.lit(cutoff).cast(pl.Datetime("us", "UTC")) + pl.duration(days=1)


def features_at(leads: pl.DataFrame, events: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """One row per lead open at the end of `cutoff` (created before it, not converted by it),
    with `LEAD_FEATURES`, from rows dated before the cutoff only."""
    end = _cutoff_at(cutoff)
    day = pl.duration(days=1)
    open_leads = leads.filter(
        (pl.col("created_at") < end)
        & (pl.col("converted_at").is_null() | (pl.col("converted_at") >= end))
    )
    known = events.filter(pl.col("action_at") < end)
    opens, clicks = pl.col("action") == "open", pl.col("action") == "click"
    engagement = known.group_by("customer_key").agg(
        email_opens_30d=(opens & (pl.col("action_at") >= end - 30 * day)).sum(),
        email_opens_90d=(opens & (pl.col("action_at") >= end - 90 * day)).sum(),
        email_opens_total=opens.sum(),
        email_clicks_30d=(clicks & (pl.col("action_at") >= end - 30 * day)).sum(),
        email_clicks_total=clicks.sum(),
        last_open=pl.col("action_at").filter(opens).max(),
        last_click=pl.col("action_at").filter(clicks).max(),
    )
    counts = (
        "email_opens_30d",
        "email_opens_90d",
        "email_opens_total",
        "email_clicks_30d",
        "email_clicks_total",
    )
    frame = open_leads.join(engagement, on="customer_key", how="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int32) for c in counts
    )
    source = pl.col("original_source").fill_null("")
    return frame.select(
        "customer_key",
        pl.lit(cutoff).alias("as_of_date"),
        "converted_at",
        ((end - pl.col("created_at")).dt.total_days()).cast(pl.Int32).alias("lead_age_days"),
        stage_level(pl.col("email_clicks_total")).alias("stage_level"),
        *counts[:3],
        *counts[3:],
        ((end - pl.col("last_open")).dt.total_days()).cast(pl.Int32).alias("days_since_last_open"),
        ((end - pl.col("last_click")).dt.total_days())
        .cast(pl.Int32)
        .alias("days_since_last_click"),
        *((source == s).cast(pl.Int8).alias(f"source_{s.lower()}") for s in SOURCES),
    ).sort("customer_key")


def stage_level(clicks: pl.Expr) -> pl.Expr:
    """0 subscriber, 1 lead (a first email click), 2 marketing-qualified (three clicks)."""
    return pl.when(clicks >= 3).then(2).when(clicks >= 1).then(1).otherwise(0).cast(pl.Int8)


def labelled_rows(
    leads: pl.DataFrame, events: pl.DataFrame, cutoffs: list[date], horizon_days: int
) -> pl.DataFrame:
    """Open leads at every cutoff with `converted`: a first order (or the CRM's customer
    date) within `horizon_days` after the cutoff day."""
    rows = pl.concat([features_at(leads, events, c) for c in cutoffs], how="vertical")
    end = pl.col("as_of_date").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1)
    return rows.with_columns(
        converted=(pl.col("converted_at") < end + pl.duration(days=horizon_days)).fill_null(False)
    )


def stage_baseline(training: pl.DataFrame) -> trainer.Baseline:
    """The conversion rate of each stage on the training rows (a stage never seen gets the
    overall rate)."""
    overall = float(training.get_column("converted").mean() or 0.0)
    rates = {
        int(level): float(rate)
        for level, rate in training.group_by("stage_level")
        .agg(pl.col("converted").mean())
        .iter_rows()
    }

    def score(frame: pl.DataFrame) -> np.ndarray:
        levels = frame.get_column("stage_level").to_list()
        return np.array([rates.get(int(v), overall) for v in levels], dtype=float)

    def reasons(frame: pl.DataFrame) -> list[list[str]]:
        return [
            [f"lifecycle stage {STAGES[int(v)]}", f"lead for {a} days"]
            for v, a in zip(
                frame.get_column("stage_level").to_list(),
                frame.get_column("lead_age_days").to_list(),
                strict=True,
            )
        ]

    return trainer.Baseline(BASELINE, score, reasons, "the conversion rate of the lead's stage")


def fit_and_score(
    leads: pl.DataFrame,
    events: pl.DataFrame,
    cutoffs: list[date],
    logical_date: date,
    horizon_days: int,
    models_dir: Path,
    threads: int = 2,
    retrain_every_days: int = 7,
    tolerance: float = 0.005,
) -> trainer.Outcome:
    """Score every lead open at the end of `logical_date`, training (and possibly promoting)
    a new model first when the one in use is `retrain_every_days` old. `cutoffs` are the
    feature snapshot dates (those of `marts.customer_features`)."""
    current = features_at(leads, events, logical_date)
    past = sorted(c for c in cutoffs if c < logical_date)
    training, validation = None, None
    try:
        training, validation = trainer.split_cutoffs(past, logical_date, horizon_days)
        rows = labelled_rows(leads, events, [*training, validation], horizon_days)
        baseline = stage_baseline(rows.filter(pl.col("as_of_date").is_in(training)))
    except trainer.InsufficientHistoryError:
        # No cutoff to learn stage rates from: every lead gets the same rate.
        rows = None
        baseline = stage_baseline(
            pl.DataFrame(
                {"stage_level": [], "converted": []},
                schema={"stage_level": pl.Int8, "converted": pl.Boolean},
            )
        )

    def labelled() -> trainer.Labelled:
        if rows is None:
            raise trainer.InsufficientHistoryError(
                f"need {2 * horizon_days} days of CRM history before {logical_date} to "
                "learn lead conversion"
            )
        return trainer.Labelled(rows.drop("converted_at"), training, validation, horizon_days)

    return trainer.run(
        SPEC,
        [baseline],
        current.drop("converted_at"),
        labelled,
        logical_date,
        models_dir,
        threads,
        retrain_every_days,
        tolerance,
    )
