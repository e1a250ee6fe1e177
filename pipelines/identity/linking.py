"""The daily probabilistic linking that dbt runs (models int_identity__person_records,
int_identity__match_model, int_identity__fuzzy_links): which person records are new or changed,
when the matcher is trained again, and which pairs stand.

Each keeps its history in its own table, dated by run, so that a rerun of a day first forgets
what any run for that day or later wrote and then equals the first run:
- record versions: every (record_key, fingerprint) seen, with the run date it was first seen;
  a record is new or changed on the days a fingerprint of it is first seen;
- models: each training with its date, the records it saw, the model and the threshold its
  full match chose (pipelines.identity.fuzzy);
- links: each accepted pair with the date it was found and the date it ended (a record
  changed and no longer matches, or a new model re-matched everything).
The match itself is pipelines.identity.fuzzy: on a day a model is trained every record is
matched; on the other days only the new and changed records, against all, at the threshold
of the model's full match, so a day decides on its new records as a full match with that
model would. Pairs of two earlier records keep their decision until the next training (the
name and zip frequencies the match weighs by move as records arrive, so a full match might
differ on a few of them).
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipelines.identity import fuzzy

log = logging.getLogger(__name__)

VERSION_SCHEMA = {"record_key": pl.String, "fingerprint": pl.String, "seen_on": pl.Date}
MODEL_SCHEMA = {"trained_on": pl.Date, "records": pl.Int64, "model": pl.String,
                "threshold": pl.Float64, "expected_precision": pl.Float64}  # fmt: skip
LINK_SCHEMA = {"record_key_l": pl.String, "record_key_r": pl.String,
               "match_probability": pl.Float64, "match_weight": pl.Float64,
               "evidence": pl.String, "found_on": pl.Date, "ended_on": pl.Date}  # fmt: skip
# Train again when the records have grown by this share since the model was trained, or it
# is this old: the field frequencies EM learnt from drift as the list grows and seasons turn;
# in between, the daily match reuses the model, so a day costs only its new records.
RETRAIN_GROWTH = 0.25
RETRAIN_DAYS = 28
# Below this many records there is too little to learn from (EM needs pairs in its blocks).
MIN_RECORDS = 50


def versions(history: pl.DataFrame | None, records: pl.DataFrame, day: date
             ) -> tuple[pl.DataFrame, pl.Series]:  # fmt: skip
    """The version ledger after `day` and the record_keys new or changed on it. `records`:
    record_key and fingerprint of every current person record."""
    past = (history if history is not None else pl.DataFrame(schema=VERSION_SCHEMA)).filter(
        pl.col("seen_on") < day)
    today = records.select("record_key", "fingerprint").unique()
    fresh = today.join(past, on=["record_key", "fingerprint"], how="anti")
    ledger = pl.concat([past, fresh.with_columns(seen_on=pl.lit(day))]).cast(VERSION_SCHEMA)
    return ledger.sort("record_key", "seen_on", "fingerprint"), fresh["record_key"].unique().sort()


def model_due(models: pl.DataFrame, n_records: int, day: date) -> bool:
    """Whether to train on `day`: no model yet, or the latest is old or saw too few records."""
    if models.is_empty():
        return True
    trained_on, seen = models.sort("trained_on").select("trained_on", "records").row(-1)
    return (n_records > seen * (1 + RETRAIN_GROWTH)
            or day - trained_on >= timedelta(days=RETRAIN_DAYS))  # fmt: skip


def exact_clusters(records: pl.DataFrame, edges: pl.DataFrame, weak_types: list[str]
                   ) -> pl.Series:  # fmt: skip
    """Per record (by its hub identifier, hub_type/hub), the component of the links among
    person-level identifiers: records already one person by exact identifiers, whose pairs
    the matcher need not score."""
    if records.is_empty():
        return pl.Series("cluster", [], dtype=pl.String)
    strong = edges.filter(~pl.col("identifier_type").is_in(weak_types)
                          & ~pl.col("linked_type").is_in(weak_types))  # fmt: skip
    ends = pl.concat([
        strong.select(t="identifier_type", v="identifier"),
        strong.select(t="linked_type", v="linked_identifier"),
        records.select(t="hub_type", v="hub"),
    ]).unique().with_row_index("node")  # fmt: skip
    a = strong.join(ends, left_on=["identifier_type", "identifier"], right_on=["t", "v"])["node"]
    b = strong.join(ends, left_on=["linked_type", "linked_identifier"],
                    right_on=["t", "v"])["node"]  # fmt: skip
    n = ends.height
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a.to_numpy(), b.to_numpy())),
                       shape=(n, n))  # fmt: skip
    label = pl.Series(connected_components(graph, directed=False)[1]).cast(pl.String)
    labelled = ends.with_columns(cluster=label.gather(ends["node"]))
    return records.join(labelled, left_on=["hub_type", "hub"], right_on=["t", "v"],
                        how="left", maintain_order="left")["cluster"]  # fmt: skip


def strong_edges(edges: duckdb.DuckDBPyRelation, weak_types: list[str]) -> pl.DataFrame:
    """The links among person-level identifiers (neither end of a weak type), all that
    `exact_clusters` follows, picked in DuckDB: about half of int_identity__edges."""
    weak = ", ".join("'" + t.replace("'", "''") + "'" for t in weak_types) or "null"
    return edges.filter(f"identifier_type not in ({weak}) and linked_type not in ({weak})").pl()


def matcher_records(records: pl.DataFrame, edges: pl.DataFrame, weak_types: list[str]
                    ) -> pl.DataFrame:  # fmt: skip
    """The matcher's input (pipelines.identity.features.INPUT_COLUMNS, all text) from
    int_identity__person_records and the identifier links, each record with its exact
    cluster."""
    return (records.with_columns(cluster=exact_clusters(records, edges, weak_types))
            .drop("hub_type", "hub", "fingerprint").cast(pl.String))  # fmt: skip


def models_before(models: pl.DataFrame | None, day: date) -> pl.DataFrame:
    """The model history as it stood before any run for `day` (a rerun forgets its training)."""
    past = models if models is not None else pl.DataFrame(schema=MODEL_SCHEMA)
    return past.filter(pl.col("trained_on") < day).cast(MODEL_SCHEMA)


def training_due(past: pl.DataFrame, n_records: int, day: date) -> bool:
    """Whether a run for `day` trains, given `models_before(day)` and the person records'
    count: when a model is due and there are enough records to learn from."""
    return model_due(past, n_records, day) and n_records >= MIN_RECORDS


def train_if_due(models: pl.DataFrame | None, records: pl.DataFrame, day: date
                 ) -> tuple[pl.DataFrame, bool]:  # fmt: skip
    """The model history after `day` (trained again when due, with its full match's
    threshold) and whether it was trained today."""
    past = models_before(models, day)
    if not training_due(past, records.height, day):
        return past, False
    try:
        model = fuzzy.train(records)
    except ValueError as error:
        # Too little to learn from (no two records share an inbox, say): keep the last model,
        # if any; without one, exact identifiers alone link records.
        log.warning("probabilistic matching not trained on %s: %s", day, error)
        return past, False
    full = fuzzy.match(records, model)
    row = pl.DataFrame([{"trained_on": day, "records": records.height,
                         "model": json.dumps(model, sort_keys=True),
                         "threshold": full.threshold,
                         "expected_precision": full.expected_precision}],
                       schema=MODEL_SCHEMA)  # fmt: skip
    return pl.concat([past, row]), True


def links(history: pl.DataFrame | None, records: pl.DataFrame, models: pl.DataFrame,
          new: pl.Series, day: date) -> pl.DataFrame:  # fmt: skip
    """The link history after `day`. `records`: the current person records with their exact
    `cluster`; `new`: the record_keys new or changed today. On the day a model was trained,
    every pair is matched again and the pairs it no longer accepts end; otherwise the pairs of
    new and changed records are matched again, and their earlier pairs end unless found
    again."""
    past = (history if history is not None else pl.DataFrame(schema=LINK_SCHEMA)).filter(
        pl.col("found_on") < day).with_columns(
        ended_on=pl.when(pl.col("ended_on") < day).then("ended_on")).cast(LINK_SCHEMA)
    if models.is_empty():
        return past
    latest = models.sort("trained_on").row(-1, named=True)
    model = json.loads(latest["model"])
    retrained = latest["trained_on"] == day
    if not retrained and new.is_empty():
        return past
    result = fuzzy.match(records, model, None if retrained else new,
                         threshold=latest["threshold"])
    found = result.pairs.select("record_key_l", "record_key_r", "match_probability",
                                "match_weight", "evidence")  # fmt: skip
    live = past.filter(pl.col("ended_on").is_null())
    if retrained:
        touched = live
    else:
        keys = new.implode()
        touched = live.filter(pl.col("record_key_l").is_in(keys)
                              | pl.col("record_key_r").is_in(keys))  # fmt: skip
    pair = ["record_key_l", "record_key_r"]
    # A live pair found again keeps its row (and the day it was first found).
    ending = touched.join(found, on=pair, how="anti").with_columns(ended_on=pl.lit(day))
    fresh = found.join(live, on=pair, how="anti").with_columns(
        found_on=pl.lit(day), ended_on=pl.lit(None, dtype=pl.Date))
    kept = past.join(ending.select(*pair, "found_on"), on=[*pair, "found_on"], how="anti")
    return (pl.concat([kept, ending, fresh.select(LINK_SCHEMA.keys())], how="vertical_relaxed")
            .cast(LINK_SCHEMA).sort(*pair, "found_on"))  # fmt: skip
