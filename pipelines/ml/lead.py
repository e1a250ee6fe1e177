"""Lead conversion: will an open CRM lead place a first order within 60 days?

Everything a lead's features use is known at the cutoff: the leads created before it and not
yet converted, their age and original source, and the email opens and clicks before it. The
CRM export holds only today's lifecycle stage (a lead that converted since a cutoff shows
`customer`, which would leak the outcome), so no CRM stage is a feature. In its place is a
click level the export does date: no email click yet, a first click, and "engaged" from a
number of clicks the business chooses (setting `MARKETING_LEAD_CLICK_LEVELS`, default 1,3;
a business rule, not a CRM's). The baseline is the 60-day conversion rate of each click
level, learnt on the training cutoffs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.ml import explain, trainer

MODEL = "lead"
BASELINE = "click_level_rate"

# HubSpot's Original Source values (its documented list); anything else counts as other.
SOURCES: tuple[str, ...] = (
    "ORGANIC_SEARCH", "PAID_SEARCH", "PAID_SOCIAL", "SOCIAL_MEDIA", "EMAIL_MARKETING",
    "REFERRALS", "DIRECT_TRAFFIC", "OTHER_CAMPAIGNS", "OFFLINE",
)  # fmt: skip

LEAD_FEATURES: tuple[str, ...] = (
    "lead_age_days",
    "click_level",
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


def features_at(leads: pl.DataFrame, events: pl.DataFrame, cutoff: date, *,
                click_levels: tuple[int, int]) -> pl.DataFrame:
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
        click_level(pl.col("email_clicks_total"), click_levels).alias("click_level"),
        *counts[:3],
        *counts[3:],
        ((end - pl.col("last_open")).dt.total_days()).cast(pl.Int32).alias("days_since_last_open"),
        ((end - pl.col("last_click")).dt.total_days())
        .cast(pl.Int32)
        .alias("days_since_last_click"),
        *((source == s).cast(pl.Int8).alias(f"source_{s.lower()}") for s in SOURCES),
    ).sort("customer_key")


def click_level(clicks: pl.Expr, levels: tuple[int, int]) -> pl.Expr:
    """0 no email click, 1 from `levels[0]` clicks, 2 ("engaged") from `levels[1]`."""
    first, engaged = levels
    return (pl.when(clicks >= engaged).then(2).when(clicks >= first).then(1).otherwise(0)
            .cast(pl.Int8))


def click_level_name(level: int) -> str:
    """The words for a click level in a score's reasons."""
    return ("no email clicks yet", "clicked an email", "engaged by email")[min(int(level), 2)]


def labelled_rows(
    leads: pl.DataFrame, events: pl.DataFrame, cutoffs: list[date], horizon_days: int, *,
    click_levels: tuple[int, int],
) -> pl.DataFrame:
    """Open leads at every cutoff with `converted`: a first order (or the CRM's customer
    date) within `horizon_days` after the cutoff day."""
    rows = pl.concat([features_at(leads, events, c, click_levels=click_levels) for c in cutoffs],
                     how="vertical")
    end = pl.col("as_of_date").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1)
    return rows.with_columns(
        converted=(pl.col("converted_at") < end + pl.duration(days=horizon_days)).fill_null(False)
    )


def click_baseline(training: pl.DataFrame) -> trainer.Baseline:
    """The conversion rate of each click level on the training rows (a level never seen gets
    the overall rate)."""
    overall = float(training.get_column("converted").mean() or 0.0)
    rates = {
        int(level): float(rate)
        for level, rate in training.group_by("click_level")
        .agg(pl.col("converted").mean())
        .iter_rows()
    }

    def score(frame: pl.DataFrame) -> np.ndarray:
        levels = frame.get_column("click_level").to_list()
        return np.array([rates.get(int(v), overall) for v in levels], dtype=float)

    def reasons(frame: pl.DataFrame) -> list[list[str]]:
        return [
            [click_level_name(v), explain.phrase("lead_age_days", a)]
            for v, a in zip(
                frame.get_column("click_level").to_list(),
                frame.get_column("lead_age_days").to_list(),
                strict=True,
            )
        ]

    return trainer.Baseline(BASELINE, score, reasons,
                            "the conversion rate of the lead's email click level")


LOGISTIC = "logistic_regression"


def _design(frame: pl.DataFrame) -> np.ndarray:
    """The lead features as a logistic regression takes them: a lead never opened or clicked
    has gone its whole age without it (a day count, not a null), and counts and day counts
    on a log scale, as their effects flatten."""
    age = pl.col("lead_age_days").cast(pl.Float64)
    columns = []
    for feature in LEAD_FEATURES:
        column = pl.col(feature).cast(pl.Float64)
        if feature.startswith("days_since_"):
            column = column.fill_null(age)
        if not feature.startswith("source_") and feature != "click_level":
            column = column.clip(lower_bound=0).log1p()
        columns.append(column.fill_null(0.0).alias(feature))
    return frame.select(columns).to_numpy()


def logistic_rival(training: pl.DataFrame) -> trainer.Baseline:
    """A logistic regression on the same features, learnt on the training rows: the plain
    model the trees must beat to be worth their complexity."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = training.get_column("converted").cast(pl.Int8).to_numpy()
    if len(np.unique(y)) < 2:  # nothing to separate: every lead gets the training rate
        rate = float(y.mean()) if len(y) else 0.0
        fitted = None
    else:
        scaler = StandardScaler().fit(_design(training))
        fitted = LogisticRegression(max_iter=1000).fit(scaler.transform(_design(training)), y)

    def score(frame: pl.DataFrame) -> np.ndarray:
        if fitted is None:
            return np.full(frame.height, rate)
        return fitted.predict_proba(scaler.transform(_design(frame)))[:, 1]

    def reasons(frame: pl.DataFrame) -> list[list[str]]:
        if fitted is None or frame.height == 0:
            return [[] for _ in range(frame.height)]
        contributions = scaler.transform(_design(frame)) * fitted.coef_[0]
        bias = np.full((frame.height, 1), fitted.intercept_[0])
        return explain.top_reasons(np.hstack([contributions, bias]), frame, LEAD_FEATURES)

    return trainer.Baseline(LOGISTIC, score, reasons,
                            "a logistic regression on the same features")


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
    *,
    click_levels: tuple[int, int],
) -> trainer.Outcome:
    """Score every lead open at the end of `logical_date`, training (and possibly promoting)
    a new model first when the one in use is `retrain_every_days` old. `cutoffs` are the
    feature snapshot dates (those of `marts.customer_features`)."""
    current = features_at(leads, events, logical_date, click_levels=click_levels)
    past = sorted(c for c in cutoffs if c < logical_date)
    training, validation = None, None
    try:
        training, validation = trainer.split_cutoffs(past, logical_date, horizon_days)
        rows = labelled_rows(leads, events, [*training, validation], horizon_days,
                             click_levels=click_levels)
        learnt_on = rows.filter(pl.col("as_of_date").is_in(training))
        rivals = [click_baseline(learnt_on), logistic_rival(learnt_on)]
    except trainer.InsufficientHistoryError:
        # No cutoff to learn click-level rates from: every lead gets the same rate.
        rows = None
        rivals = [click_baseline(
            pl.DataFrame(
                {"click_level": [], "converted": []},
                schema={"click_level": pl.Int8, "converted": pl.Boolean},
            )
        )]

    def labelled() -> trainer.Labelled:
        if rows is None:
            raise trainer.InsufficientHistoryError(
                f"need {2 * horizon_days} days of CRM history before {logical_date} to "
                "learn lead conversion"
            )
        return trainer.Labelled(rows.drop("converted_at"), training, validation, horizon_days)

    return trainer.run(
        SPEC,
        rivals,
        current.drop("converted_at"),
        labelled,
        logical_date,
        models_dir,
        threads,
        retrain_every_days,
        tolerance,
    )
