"""Who is held out of an audience's campaign: a hash of the salt, the experiment and the
customer key, so the same person lands in the same arm on every day and every machine, and a
person's arm does not depend on who else qualified.

An experiment's id carries its holdout share (`winback__h10`): a changed share starts a new
experiment instead of mixing two designs in one readout. Assignments are kept in
`ml.experiment_assignments` and never re-assigned; the pure functions here decide the day's new
rows, the arm of each member, and who has left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipelines.activation.audiences import Audience
from pipelines.activation.normalize import sha256_columns

TABLE = "ml.experiment_assignments"
ARMS = ("treatment", "holdout")
LEFT_REASONS = ("erased", "unsubscribed", "merged")
SCHEMA: dict[str, pl.DataType] = {
    "experiment_id": pl.String(),
    "experiment": pl.String(),
    "audience": pl.String(),
    "customer_key": pl.String(),
    "arm": pl.String(),
    "holdout_share": pl.Float64(),
    "outcome_days": pl.Int32(),
    "entered_on": pl.Date(),
    "left_on": pl.Date(),
    "left_reason": pl.String(),
    "run_id": pl.String(),
}
DDL = f"""
create table if not exists {TABLE} (
    experiment_id varchar not null,
    experiment varchar not null,
    audience varchar not null,
    customer_key varchar not null,
    arm varchar not null,
    holdout_share double not null,
    outcome_days integer not null,
    entered_on date not null,
    left_on date,
    left_reason varchar,
    run_id varchar not null
)
"""


def experiment_id(name: str, holdout: float) -> str:
    """`<name>__h<percent>`: 0.1 -> `winback__h10`, 0.125 -> `winback__h12_5`."""
    percent = f"{round(holdout * 100, 4):.4f}".rstrip("0").rstrip(".")
    return f"{name}__h{percent.replace('.', '_')}"


def held_out(customer_keys: pl.Series, experiment_id: str, holdout: float, salt: str
             ) -> pl.Series:
    """True for the keys held out: the first 8 bytes of sha256(f"{salt}|{experiment_id}|{key}"),
    read as a big-endian integer over 2**64, fall below `holdout`."""
    text = pl.DataFrame({"h": f"{salt}|{experiment_id}|" + customer_keys.cast(pl.String)})
    digest = sha256_columns(text, ["h"]).get_column("h")
    # The integer is compared exactly: u < holdout * 2**64 (a power of two times a float is
    # exact) holds for whole u exactly when u < ceil(holdout * 2**64).
    threshold = math.ceil(holdout * 2.0**64)
    position = digest.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64)
    if threshold >= 2**64:
        return pl.Series(customer_keys.name, [True] * len(customer_keys), pl.Boolean)
    return (position < threshold).alias(customer_keys.name)


@dataclass(frozen=True)
class Experiment:
    """One experiment as the day runs it: an exported audience with a holdout."""

    id: str
    name: str
    audience: str
    holdout: float
    outcome_days: int
    salt: str


def experiment_for(defined: Audience, exported: str) -> Experiment | None:
    """The experiment the exported audience `exported` (a name `defined.expand` gave) runs, or
    None when the audience has no holdout."""
    name = defined.experiment_name(exported)
    if name is None or defined.experiment is None:
        return None
    settings = defined.experiment
    return Experiment(experiment_id(name, settings.holdout), name, exported, settings.holdout,
                      settings.outcome_days, settings.salt)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def arms(experiment: Experiment, keys: pl.Series, assignments: pl.DataFrame) -> pl.Series:
    """True for each of `keys` held out of `experiment`: the recorded arm where the person was
    assigned (an arm is never re-drawn), the hash's for anyone not yet assigned."""
    recorded = assignments.filter(pl.col("experiment_id") == experiment.id).select(
        "customer_key", is_held=pl.col("arm") == "holdout")
    frame = pl.DataFrame({"customer_key": keys.cast(pl.String)}).with_row_index("_row")
    joined = frame.join(recorded, on="customer_key", how="left").sort("_row")
    drawn = held_out(joined.get_column("customer_key"), experiment.id, experiment.holdout,
                     experiment.salt)
    return joined.get_column("is_held").fill_null(drawn).alias("held_out")


def new_assignments(experiment: Experiment, keys: pl.Series, assignments: pl.DataFrame,
                    run_date: date, run_id: str) -> pl.DataFrame:
    """Rows for the members `keys` of the day not yet in `experiment`, entered on `run_date`,
    in key order."""
    known = assignments.filter(pl.col("experiment_id") == experiment.id).get_column(
        "customer_key")
    members = keys.cast(pl.String).drop_nulls().unique().sort()
    fresh = members.filter(~members.is_in(known.implode())).alias("customer_key")
    if fresh.is_empty():
        return empty()
    held = held_out(fresh, experiment.id, experiment.holdout, experiment.salt)
    return pl.DataFrame({"customer_key": fresh, "_held": held}).select(
        experiment_id=pl.lit(experiment.id),
        experiment=pl.lit(experiment.name),
        audience=pl.lit(experiment.audience),
        customer_key=pl.col("customer_key"),
        arm=pl.when("_held").then(pl.lit(ARMS[1])).otherwise(pl.lit(ARMS[0])),
        holdout_share=pl.lit(experiment.holdout, pl.Float64),
        outcome_days=pl.lit(experiment.outcome_days, pl.Int32),
        entered_on=pl.lit(run_date, pl.Date),
        left_on=pl.lit(None, pl.Date),
        left_reason=pl.lit(None, pl.String),
        run_id=pl.lit(run_id),
    )


def follow_aliases(assignments: pl.DataFrame, aliases: pl.DataFrame) -> pl.DataFrame:
    """`assignments` with each row held by a merged key (`aliases`: alias_key, customer_key,
    from marts.customer_key_aliases) moved to the live key it resolves to, so the person stays
    in the arm they were drawn into. Where the live key has its own row in the experiment (both
    parts of the person were assigned), that row stands and the alias's row keeps its key, to
    be marked left as merged (`mark_left`); of several aliases of one person, the one entered
    first moves."""
    if assignments.is_empty() or aliases.is_empty():
        return assignments
    live = aliases.select(pl.col("alias_key").cast(pl.String).alias("customer_key"),
                          pl.col("customer_key").cast(pl.String).alias("_live"))  # fmt: skip
    taken = assignments.select("experiment_id", pl.col("customer_key").alias("_live"))
    movers = (
        assignments.with_row_index("_row").join(live, on="customer_key")
        .join(taken, on=["experiment_id", "_live"], how="anti")
        .sort("entered_on", "customer_key")
        .unique(["experiment_id", "_live"], keep="first", maintain_order=True)
        .select("_row", "_live")
    )  # fmt: skip
    return (
        assignments.with_row_index("_row").join(movers, on="_row", how="left")
        .with_columns(customer_key=pl.coalesce("_live", "customer_key"))
        .drop("_row", "_live")
    )  # fmt: skip


def mark_left(assignments: pl.DataFrame, run_date: date, *, erased: pl.Series,
              unsubscribed: pl.Series, emailed_audiences: set[str],
              current: pl.Series) -> pl.DataFrame:
    """`assignments` with those who left since marked, on `run_date` (never before they
    entered): erased (an erasure request), unsubscribed (from Mailchimp, in an experiment
    whose audience is e-mailed), merged (the key is gone from the customers: identity
    resolution joined it to another, whose own assignment stands). Rows already marked keep
    their first reason and date."""
    key = pl.col("customer_key")
    reason = (
        pl.when(key.is_in(erased.cast(pl.String).implode())).then(pl.lit("erased"))
        .when(pl.col("audience").is_in(list(emailed_audiences))
              & key.is_in(unsubscribed.cast(pl.String).implode())).then(pl.lit("unsubscribed"))
        .when(~key.is_in(current.cast(pl.String).implode())).then(pl.lit("merged"))
        .otherwise(pl.lit(None, pl.String))
    )
    still_in = pl.col("left_on").is_null()
    return assignments.with_columns(
        left_reason=pl.when(still_in).then(reason).otherwise(pl.col("left_reason")),
    ).with_columns(
        left_on=pl.when(still_in & pl.col("left_reason").is_not_null())
        .then(pl.max_horizontal(pl.col("entered_on"), pl.lit(run_date)))
        .otherwise(pl.col("left_on")),
    )
