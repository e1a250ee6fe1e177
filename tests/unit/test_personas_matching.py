"""Matching today's clusters to yesterday's personas keeps ids, whatever the cluster numbers."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.personas.matching import match_personas, moved_share

EMPTY = pl.DataFrame(schema={"customer_key": pl.String, "persona_id": pl.Int64})


def frame(labels: list[int], column: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_key": [f"c{i:03d}" for i in range(len(labels))], column: labels},
        schema={"customer_key": pl.String, column: pl.Int64},
    )


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=60),
    permutation=st.permutations(range(6)),
    first_id=st.integers(1, 50),
)
def test_the_same_partition_keeps_its_ids_whatever_the_cluster_numbers(
    labels, permutation, first_id
):
    previous = frame([first_id + x for x in labels], "persona_id")
    renumbered = frame([permutation[x] for x in labels], "cluster")
    mapping = match_personas(previous, renumbered, next_id=first_id + 6)
    again = [mapping[permutation[x]] for x in labels]
    assert again == previous.get_column("persona_id").to_list()


def test_first_run_numbers_personas_by_size():
    current = frame([2, 2, 2, 0, 1, 1], "cluster")
    assert match_personas(EMPTY, current, next_id=1) == {2: 1, 1: 2, 0: 3}


def test_a_new_cluster_gets_a_new_id_and_a_dropped_persona_is_retired():
    previous = frame([1, 1, 1, 2, 2, 2, 3, 3], "persona_id")
    # Persona 3's customers joined persona 1; a new group appears among new customers.
    current = pl.concat(
        [
            frame([0, 0, 0, 1, 1, 1, 0, 0], "cluster"),
            pl.DataFrame({"customer_key": ["n1", "n2"], "cluster": [2, 2]}),
        ]
    )
    mapping = match_personas(previous, current, next_id=4)
    assert mapping == {0: 1, 1: 2, 2: 4}


def test_moved_share_counts_only_customers_seen_on_both_days():
    before = frame([1, 1, 2, 2], "persona_id")
    after = pl.DataFrame(
        {"customer_key": ["c000", "c001", "c002", "new"], "persona_id": [1, 2, 2, 3]}
    )
    assert moved_share(before, after) == 1 / 3
    assert moved_share(EMPTY, after) == 0.0
