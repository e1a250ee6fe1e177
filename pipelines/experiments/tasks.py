"""The `run_experiments` step: the day's holdout assignments (`ml.experiment_assignments`).

It reads the customer frame and selects each audience exactly as the exports do
(`export.read_customers`, `export.choose_audiences`), so everyone who is in an audience with a
holdout today is assigned before the export step leaves the held-out people out of its files.
People already assigned keep their row; people who left are marked (see `assign.mark_left`).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.activation.audiences import Audience, AudienceFileError, load_audiences
from pipelines.activation.export import choose_audiences, read_customers
from pipelines.activation.suppression import current_store, erased_customer_keys
from pipelines.config import Settings
from pipelines.experiments import store
from pipelines.experiments.assign import (
    Experiment,
    experiment_for,
    follow_aliases,
    mark_left,
    new_assignments,
)
from pipelines.experiments.uplift import score_uplift
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)


class ExperimentsError(RuntimeError):
    """The day's assignments cannot be made; the message says why and what to do."""


def todays_experiments(audiences: list[Audience], customers: pl.DataFrame, where: Path
                       ) -> list[tuple[Experiment, pl.DataFrame]]:
    """`(experiment, members)` for every exported audience with a holdout, members selected
    as the exports select them. Raises AudienceFileError when two make one experiment id."""
    found: dict[str, tuple[Experiment, pl.DataFrame]] = {}
    for defined, name, members, _ in choose_audiences(audiences, customers, None, None, where):
        experiment = experiment_for(defined, name)
        if experiment is None:
            continue
        if experiment.id in found:
            raise AudienceFileError(
                f"{where}: audiences {found[experiment.id][0].audience!r} and {name!r} both "
                f"run experiment {experiment.id!r}; give one another experiment name")
        found[experiment.id] = (experiment, members)
    return [found[k] for k in sorted(found)]


def emailed(audiences: list[Audience], names: list[str]) -> set[str]:
    """Those of the exported audience `names` whose defined audience is sent to Mailchimp."""
    return {
        name for name in names for defined in audiences
        if "mailchimp" in defined.platforms
        and (name == defined.name or name.startswith(f"{defined.name}__"))
    }


def run_experiments(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score uplift from the completed experiments (`uplift.score_uplift`: first, so an
    audience that selects on `uplift_decile` is chosen on today's scores), then assign the
    people who entered an audience with a holdout today, and mark who left. Returns per
    experiment the people in it by arm, those entered today and those who left, and what the
    uplift scoring did."""
    scored = score_uplift(settings, logical_date, run_id)
    return {**assign(settings, logical_date, run_id), "uplift": scored}


def assign(settings: Settings, logical_date: date, run_id: str) -> dict:
    """The day's assignments: see `run_experiments`."""
    customers = read_customers(settings, "work")
    audiences = load_audiences(settings.audiences_file, columns=customers.schema)
    today = todays_experiments(audiences, customers, settings.audiences_file)
    with work_connection(settings) as con:
        # A person merged into another since they were assigned keeps their arm, under the
        # key they have now.
        existing = follow_aliases(store.read(con), store.read_aliases(con))
        # The day's erasure requests count from this step on: nobody who asked today is
        # entered into an experiment today.
        erased = pl.Series("customer_key",
                           erased_customer_keys(con, current_store(settings, logical_date)),
                           pl.String)
    keys = customers.get_column("customer_key").cast(pl.String)
    if keys.is_empty() and not existing.is_empty():
        # Every assigned person would be marked merged, for good: refuse instead.
        raise ExperimentsError(
            f"{settings.work_db}: marts.dim_customers is empty but {existing.height:,} "
            "people are assigned to experiments; run the transform step and check its output")
    # An explicit unsubscribe, not a missing consent: people who never gave an e-mail are
    # still treated by the audience's ad platforms.
    unsubscribed = (customers.filter(pl.col("mailchimp_status") == "unsubscribed")
                    .get_column("customer_key").cast(pl.String)
                    if "mailchimp_status" in customers.columns else keys.clear())
    entered = []
    for experiment, members in today:
        # Someone erased is never entered; one already in an experiment is marked as left.
        member_keys = members.get_column("customer_key").cast(pl.String)
        eligible = member_keys.filter(~member_keys.is_in(erased.implode()))
        entered.append(new_assignments(experiment, eligible, existing, logical_date, run_id))
    assignments = pl.concat([existing, *entered], how="vertical")
    names = assignments.get_column("audience").unique().to_list()
    assignments = mark_left(assignments, logical_date, erased=erased, unsubscribed=unsubscribed,
                            emailed_audiences=emailed(audiences, names), current=keys)
    with work_connection(settings) as con:
        store.write(con, assignments)
    return summarise(assignments, existing, today, entered, logical_date)


def summarise(assignments: pl.DataFrame, before: pl.DataFrame,
              today: list[tuple[Experiment, pl.DataFrame]], entered: list[pl.DataFrame],
              logical_date: date) -> dict:
    """What the step did, per experiment run today: people in it by arm (not left), those
    this run assigned and those who left on the day. Says so when no audience has a holdout."""
    if not today:
        note = ("no audience has a holdout: nobody was assigned"
                + (f"; {before.height:,} earlier assignments kept" if before.height else ""))
        log.info("run_experiments: %s", note)
        left_today = assignments.filter(pl.col("left_on") == logical_date).height
        return {"experiments": {}, "assigned": 0, "left": left_today, "note": note}
    per: dict[str, dict[str, int]] = {}
    for (experiment, _), new in zip(today, entered, strict=True):
        rows = assignments.filter(pl.col("experiment_id") == experiment.id)
        active = rows.filter(pl.col("left_on").is_null())
        per[experiment.id] = {
            "treated": active.filter(pl.col("arm") == "treatment").height,
            "held_out": active.filter(pl.col("arm") == "holdout").height,
            "entered": new.height,
            "left": rows.filter(pl.col("left_on") == logical_date).height,
        }
        log.info("experiment %s: %s", experiment.id, per[experiment.id])
    return {
        "experiments": per,
        "assigned": sum(p["entered"] for p in per.values()),
        "left": assignments.filter(pl.col("left_on") == logical_date).height,
    }
