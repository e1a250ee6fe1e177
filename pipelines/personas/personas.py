"""One day's personas: fit (or carry forward) the model, match ids to yesterday's, name.

`find_personas` holds the logic and does no I/O: it takes the day's features and the previous
state and returns the day's labels, persona profiles, traits and the new state.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import polars as pl

from pipelines.config import PersonaSettings
from pipelines.personas import cards, fallback, mixture
from pipelines.personas.matching import match_personas, moved_share
from pipelines.personas.model import TERM_LABELS, ModelSpec, fit, refine
from pipelines.personas.select import default_workers, sample_rows, select_k
from pipelines.personas.state import PersonaState

log = logging.getLogger(__name__)


class NotEnoughCustomersError(ValueError):
    """Too few customers with orders to find personas."""


def eligible_customers(features: pl.DataFrame) -> pl.DataFrame:
    """The customers personas are for: those whose orders, less refunds, come to more than
    nothing. A customer whose returns or credit notes cancel what they bought, or who only
    ever had free orders, is no one to market a persona to; in a model they would only make
    a persona of their own (a value of zero is the most distinctive value there is)."""
    return features.filter(pl.col("net_revenue") > 0)


# A component left with fewer customers than this after each takes their most likely persona
# has too few to describe (traits need five on each side): its customers go to their next most
# likely persona.
MIN_PERSONA_CUSTOMERS = 5
MODEL, RFM = "model", "rfm"


@dataclass
class PersonaResult:
    labels: pl.DataFrame  # customer_key, persona_id, persona_name
    profiles: pl.DataFrame  # cards.profiles
    traits: pl.DataFrame  # cards.traits
    state: PersonaState
    warm: bool
    moved_share: float
    source: str = MODEL  # MODEL, or RFM when the data showed no persona structure
    message: str = ""  # how the personas were found, in words (for the summary and report)
    features_used: list[str] = field(default_factory=list)
    left_out: int = 0  # customers with orders but no net spend, who get no persona
    hours: pl.DataFrame = field(default_factory=pl.DataFrame)  # cards.shop_hours


def _choose(
    features: pl.DataFrame, spec: ModelSpec, params: PersonaSettings, as_of: date
) -> dict:
    """Score every k and choose (select.select_k); the record kept with the state."""
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
    log.info("personas: k=%d found=%s (%s)", selection.k, selection.found, selection.rule)
    return {
        "k": selection.k,
        "found": selection.found,
        "rule": selection.rule,
        "on": as_of.isoformat(),
        "bar": params.min_stability,
        "scores": [asdict(s) for s in selection.scores],
    }


def _fit_new(
    features: pl.DataFrame, spec: ModelSpec, params: PersonaSettings, k: int
) -> mixture.MixtureFit:
    """Fit k personas on a sample and refine on every customer."""
    sample = features[sample_rows(features.height, params.fit_sample, params.seeds[0])]
    result = fit(spec, sample, k, params.seeds, max_iter=params.max_iter)
    if sample.height < features.height:
        result = refine(spec, features, result.weights, result.params, params.warm_iter)
    return result


def _components(resp: np.ndarray) -> np.ndarray:
    """Each customer's most likely component, once components too small to describe
    (MIN_PERSONA_CUSTOMERS) have given their customers to the next most likely."""
    resp = resp.copy()
    while True:
        labels = resp.argmax(axis=1)
        sizes = np.bincount(labels, minlength=resp.shape[1])
        small = np.flatnonzero((sizes > 0) & (sizes < MIN_PERSONA_CUSTOMERS))
        if not len(small) or (sizes >= MIN_PERSONA_CUSTOMERS).sum() == 0:
            return labels
        resp[:, small[np.argmin(sizes[small])]] = -1.0


def _name_or_merge(
    features: pl.DataFrame, persona_ids: np.ndarray, mapping: dict[int, int], known: dict
) -> tuple[np.ndarray, dict[int, int], dict[int, str], pl.DataFrame, int]:
    """Name the personas (cards.name_personas), merging each new persona that words cannot
    tell from a named one into it until none is left: the customers' persona ids, the
    component-to-persona mapping, the names, the traits and how many were merged."""
    persona_ids, merged = persona_ids.copy(), 0
    while True:
        trait_table = cards.traits(features, persona_ids)
        names, merges = cards.name_personas(features, persona_ids, trait_table, known)
        if not merges:
            return persona_ids, mapping, names, trait_table, merged
        merged += len(merges)
        for source_id, target in merges.items():
            persona_ids[persona_ids == source_id] = target
            mapping = {g: (target if i == source_id else i) for g, i in mapping.items()}


def _message(source: str, record: dict, personas: int, spec: ModelSpec, left_out: int,
             merged: int) -> str:
    """How today's personas were found, in a few sentences a marketer can read."""
    scores = {s["k"]: s for s in record.get("scores", [])}
    ks = f"{min(scores)}-{max(scores)}" if scores else "?"
    bar = record.get("bar", 0.8)
    chosen = scores.get(record.get("k"), {})
    if source == RFM:
        head = (
            f"No persona structure in these customers: at no number of personas from {ks} was "
            f"the model both stable when the customers are resampled (agreement, ARI, >= "
            f"{bar}) and separated (silhouette > 0); the most stable, k={record.get('k')}, "
            f"reached {chosen.get('stability', float('nan')):.2f}. The personas are the "
            f"{personas} RFM segments."
        )
    else:
        head = (
            f"{personas} personas from a latent class model: k={record.get('k')} has the best "
            f"BIC of the numbers from {ks} whose personas are stable when the customers are "
            f"resampled (ARI {chosen.get('stability', float('nan')):.2f} >= {bar}) and "
            f"separated (silhouette {chosen.get('silhouette', float('nan')):.2f} > 0)."
        )
        if merged:
            head += f" {merged} that no describable trait told apart were merged."
    used = ", ".join(TERM_LABELS.get(f, f) for f in spec.features) or "none"
    missing = ", ".join(TERM_LABELS[f] for f in spec.unused())
    text = f"{head} Chosen on {record.get('on')}. Features: {used}."
    if missing:
        text += f" Not in this shop's data: {missing}."
    if left_out:
        text += f" {left_out:,} customers whose orders net to nothing have no persona."
    return text


def find_personas(
    features: pl.DataFrame,
    reads: pl.DataFrame,
    previous: PersonaState | None,
    params: PersonaSettings,
    as_of: date,
    rfm: pl.DataFrame | None = None,
) -> PersonaResult:
    """The day's personas for the customers in `features` (one row each, sorted by key) whose
    net spend is positive (`eligible_customers`).

    Starts from `previous` (yesterday's state) when k was chosen less than `refit_every_days`
    ago and, for a model, its shape fits today's data; otherwise chooses k afresh. When no k
    shows structure, the personas are the RFM segments of `rfm` (customer_key, rfm_segment)
    until the next choice. Either way, groups are matched to the previous personas of the same
    source by shared customers, so ids and names last; a new persona that no describable trait
    tells from another is merged into it. `reads` (customer_key, local_hour) gives each
    persona's best send hour. Raises NotEnoughCustomersError when fewer than `k_min` * 5
    customers have a positive net spend, and ValueError when the RFM segments are needed and
    `rfm` is None.
    """
    left_out = features.height - (features := eligible_customers(features)).height
    if features.height < params.k_min * 5:
        raise NotEnoughCustomersError(
            f"{features.height} customers with a positive net spend are too few for "
            f"{params.k_min} personas; personas need at least 5 customers each"
        )
    spec = ModelSpec.from_frame(features)
    due = previous is None or (as_of - previous.selected_on).days >= params.refit_every_days
    result = None
    if previous is not None and not due and previous.kind == RFM:
        source, record, selected_on = RFM, previous.selection, previous.selected_on
    elif (
        previous is not None
        and not due
        and previous.kind == MODEL
        and ModelSpec.from_json(previous.spec) == spec
        and previous.k <= features.height // 5
    ):
        result = refine(
            spec, features, np.asarray(previous.weights), previous.params, params.warm_iter
        )
        source, record, selected_on = MODEL, previous.selection, previous.selected_on
    else:
        record, selected_on = _choose(features, spec, params, as_of), as_of
        source = MODEL if record["found"] else RFM
        if source == MODEL:
            result = _fit_new(features, spec, params, record["k"])
    warm = selected_on != as_of
    segments: dict[int, str] = {}
    if result is not None:
        groups = _components(result.resp)
        count = result.k
    else:
        if rfm is None:
            raise ValueError("personas: no structure found and no RFM segments to fall back on")
        codes, segments = fallback.rfm_groups(features, rfm)
        groups, count = np.asarray(codes, dtype=np.int64), len(segments)
    same = previous is not None and previous.kind == source
    before = (
        previous.labels
        if same and previous is not None
        else pl.DataFrame(schema={"customer_key": pl.String, "persona_id": pl.Int64})
    )
    next_id = previous.next_id if previous is not None else 1
    keys = features.get_column("customer_key")
    mapping = match_personas(before, pl.DataFrame({"customer_key": keys, "cluster": groups}),
                             next_id)
    persona_ids = np.array([mapping[int(g)] for g in groups], dtype=np.int64)
    definitions: dict[int, str] = {}
    merged = 0
    if source == RFM:
        names = {mapping[g]: fallback.name(s) for g, s in segments.items() if g in mapping}
        definitions = {mapping[g]: fallback.definition(s) for g, s in segments.items()
                       if g in mapping}
        trait_table = cards.traits(features, persona_ids)
    else:
        kept = previous.names if same and previous is not None else {}
        known = {i: n for i, n in kept.items() if i in set(mapping.values())}
        persona_ids, mapping, names, trait_table, merged = _name_or_merge(
            features, persona_ids, mapping, known
        )
    labels = pl.DataFrame(
        {
            "customer_key": keys,
            "persona_id": persona_ids,
            "persona_name": [names[int(i)] for i in persona_ids],
        }
    )
    send_hours = cards.best_send_hours(reads, labels)
    profile_table = cards.profiles(
        features, persona_ids, names, trait_table, send_hours, definitions
    )
    message = _message(source, record, len(names), spec, left_out, merged)
    state = PersonaState(
        as_of_date=as_of,
        spec=spec.to_json(),
        k=count,
        selected_on=selected_on,
        selection=record,
        weights=[] if result is None else [float(w) for w in result.weights],
        params=[] if result is None else result.params,
        persona_ids=[mapping.get(j, -1) for j in range(count)],
        names=names,
        next_id=max([next_id - 1, *mapping.values()]) + 1,
        labels=labels,
        kind=source,
    )
    moved = moved_share(before, labels) if same else 0.0
    log.info("personas: %s k=%d warm=%s moved=%.2f%% names=%s", source, count, warm,
             100 * moved, names)
    return PersonaResult(
        labels, profile_table, trait_table, state, warm, moved, source, message,
        list(spec.features), left_out, cards.shop_hours(features, persona_ids),
    )
