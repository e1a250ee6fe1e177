"""One day's personas: fit (or carry forward) the model, match ids to yesterday's, name.

`find_personas` holds the logic and does no I/O: it takes the day's features and the previous
state and returns the day's labels, persona profiles, traits and the new state.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.config import PersonaSettings
from pipelines.segments import cards, mixture
from pipelines.segments.matching import match_personas, moved_share
from pipelines.segments.model import ModelSpec, fit, refine
from pipelines.segments.select import default_workers, sample_rows, select_k
from pipelines.segments.state import PersonaState

log = logging.getLogger(__name__)


class NotEnoughCustomersError(ValueError):
    """Too few customers with orders to find personas."""


@dataclass
class PersonaResult:
    labels: pl.DataFrame  # customer_key, persona_id, persona_name
    profiles: pl.DataFrame  # cards.profiles
    traits: pl.DataFrame  # cards.traits
    state: PersonaState
    warm: bool
    moved_share: float


def _fit_new(
    features: pl.DataFrame, spec: ModelSpec, params: PersonaSettings, as_of: date
) -> tuple[mixture.MixtureFit, int, dict]:
    """Choose k, then fit on a sample and refine on every customer."""
    selection = select_k(
        spec,
        features,
        params.k_min,
        params.k_max,
        params.seeds,
        params.bootstraps,
        params.selection_sample,
        params.min_stability,
        seed=params.seeds[0],
        max_iter=params.max_iter,
        workers=params.workers or default_workers(),
    )
    sample = features[sample_rows(features.height, params.fit_sample, params.seeds[0])]
    result = fit(spec, sample, selection.k, params.seeds, max_iter=params.max_iter)
    if sample.height < features.height:
        result = refine(spec, features, result.weights, result.params, params.warm_iter)
    chosen = {
        "rule": selection.rule,
        "on": as_of.isoformat(),
        "scores": [asdict(s) for s in selection.scores],
    }
    log.info("personas: chose k=%d (%s)", selection.k, selection.rule)
    return result, selection.k, chosen


def find_personas(
    features: pl.DataFrame,
    reads: pl.DataFrame,
    previous: PersonaState | None,
    params: PersonaSettings,
    as_of: date,
) -> PersonaResult:
    """The day's personas for the customers in `features` (one row each, sorted by key).

    Starts from `previous` (yesterday's model) when its shape fits today's data and k was
    chosen less than `refit_every_days` ago; otherwise chooses k and fits afresh. Either way,
    clusters are matched to the previous personas by shared customers, so ids and names last.
    `reads` (customer_key, local_hour) gives each persona's best send hour.
    Raises NotEnoughCustomersError when there are fewer customers than `k_min` * 5.
    """
    if features.height < params.k_min * 5:
        raise NotEnoughCustomersError(
            f"{features.height} customers with orders are too few for {params.k_min} personas; "
            "personas need at least 5 customers each"
        )
    spec = ModelSpec.from_frame(features)
    warm = (
        previous is not None
        and ModelSpec.from_json(previous.spec) == spec
        and (as_of - previous.selected_on).days < params.refit_every_days
        and previous.k <= features.height // 5
    )
    if warm:
        assert previous is not None
        result = refine(
            spec, features, np.asarray(previous.weights), previous.params, params.warm_iter
        )
        k, selected_on, selection = previous.k, previous.selected_on, previous.selection
    else:
        result, k, selection = _fit_new(features, spec, params, as_of)
        selected_on = as_of
    clusters = pl.DataFrame(
        {
            "customer_key": features.get_column("customer_key"),
            "cluster": result.labels.astype(np.int64),
        }
    )
    before = (
        previous.labels
        if previous is not None
        else pl.DataFrame(schema={"customer_key": pl.String, "persona_id": pl.Int64})
    )
    next_id = previous.next_id if previous is not None else 1
    mapping = match_personas(before, clusters, next_id)
    persona_ids = np.array([mapping[c] for c in result.labels], dtype=np.int64)
    trait_table = cards.traits(features, persona_ids)
    known = (
        {}
        if previous is None
        else {i: n for i, n in previous.names.items() if i in set(mapping.values())}
    )
    names = cards.name_personas(features, persona_ids, trait_table, known)
    labels = pl.DataFrame(
        {
            "customer_key": features.get_column("customer_key"),
            "persona_id": persona_ids,
            "persona_name": [names[int(i)] for i in persona_ids],
        }
    )
    send_hours = cards.best_send_hours(reads, labels)
    profile_table = cards.profiles(features, persona_ids, names, trait_table, send_hours)
    component_ids = [mapping.get(j, -1) for j in range(k)]
    state = PersonaState(
        as_of_date=as_of,
        spec=spec.to_json(),
        k=k,
        selected_on=selected_on,
        selection=selection,
        weights=[float(w) for w in result.weights],
        params=result.params,
        persona_ids=component_ids,
        names=names,
        next_id=max([next_id - 1, *mapping.values()]) + 1,
        labels=labels,
    )
    moved = moved_share(before, labels) if previous is not None else 0.0
    log.info("personas: k=%d warm=%s moved=%.2f%% names=%s", k, warm, 100 * moved, names)
    return PersonaResult(labels, profile_table, trait_table, state, warm, moved)
