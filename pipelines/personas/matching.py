"""Persona ids that last: today's personas matched to yesterday's (Hungarian assignment).

A persona keeps its id and name from run to run, so exports split by persona and a marketer's
mental map stay put. Today's clusters are matched one-to-one to yesterday's personas so that
the most customers keep their persona (maximum total overlap, solved exactly by
scipy's linear_sum_assignment). A cluster that overlaps no old persona is new and gets the next
free id; an old persona nobody matched is retired (its id is never reused).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment


def match_personas(previous: pl.DataFrame, current: pl.DataFrame, next_id: int) -> dict[int, int]:
    """Map each cluster of `current` (customer_key, cluster) to a persona id.

    `previous` holds yesterday's (customer_key, persona_id); `next_id` is the first id never
    used. Clusters matched to an old persona with at least one shared customer take its id; the
    others take next_id, next_id + 1, ... in order of size (largest first, then cluster number),
    so the result does not depend on how the clusters happen to be numbered.
    """
    clusters = current.get_column("cluster").unique().sort().to_list()
    mapping: dict[int, int] = {}
    if previous.height and clusters:
        overlap = (
            current.join(previous, on="customer_key", how="inner")
            .group_by("persona_id", "cluster")
            .len()
        )
        old_ids = sorted(previous.get_column("persona_id").unique().to_list())
        table = np.zeros((len(old_ids), len(clusters)))
        row = {p: i for i, p in enumerate(old_ids)}
        col = {c: j for j, c in enumerate(clusters)}
        for persona_id, cluster, n in overlap.iter_rows():
            table[row[persona_id], col[cluster]] = n
        rows, cols = linear_sum_assignment(table, maximize=True)
        for i, j in zip(rows, cols, strict=True):
            if table[i, j] > 0:
                mapping[clusters[j]] = old_ids[i]
    sizes = current.group_by("cluster").len()
    unmatched = (
        sizes.filter(~pl.col("cluster").is_in(list(mapping)))
        .sort(["len", "cluster"], descending=[True, False])
        .get_column("cluster")
        .to_list()
    )
    for offset, cluster in enumerate(unmatched):
        mapping[cluster] = next_id + offset
    return mapping


def moved_share(previous: pl.DataFrame, current: pl.DataFrame) -> float:
    """Share of customers present on both days whose persona_id changed (0 when none is)."""
    both = previous.join(current, on="customer_key", how="inner", suffix="_now")
    if both.is_empty():
        return 0.0
    return float((both.get_column("persona_id") != both.get_column("persona_id_now")).mean())
