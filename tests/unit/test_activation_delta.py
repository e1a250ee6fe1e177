"""Adds and removes against the last published file, and parts a platform accepts."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.activation.delta import delta, split_parts

ROWS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.sampled_from(["1", "2", None])),
    max_size=12,
    unique=True,
)


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"k": pl.String, "v": pl.String}, orient="row")


@given(ROWS, ROWS)
def test_whole_row_deltas_turn_the_old_file_into_the_new(old, new):
    adds, removes = delta(frame(new), frame(old), key=None)
    rebuilt = (set(old) - set(removes.rows())) | set(adds.rows())
    assert rebuilt == set(new)
    assert not set(adds.rows()) & set(old) and not set(removes.rows()) & set(new)


@given(ROWS, ROWS)
def test_keyed_deltas_add_new_and_changed_rows_and_remove_gone_keys(old, new):
    old_rows = frame(old).unique("k", keep="first", maintain_order=True)
    new_rows = frame(new).unique("k", keep="first", maintain_order=True)
    adds, removes = delta(new_rows, old_rows, key=("k",))
    gone = set(old_rows.get_column("k")) - set(new_rows.get_column("k"))
    assert set(removes.get_column("k")) == gone
    assert set(adds.rows()) == set(new_rows.rows()) - set(old_rows.rows())


def test_without_an_earlier_export_everything_is_an_add():
    current = frame([("a", "1"), ("b", None)])
    adds, removes = delta(current, None, key=None)
    assert adds.equals(current) and removes.height == 0 and removes.columns == ["k", "v"]


def test_an_earlier_file_with_other_columns_is_replaced_whole():
    current = frame([("a", "1")])
    previous = pl.DataFrame({"k": ["a", "z"], "old": ["x", "y"]})
    adds, removes = delta(current, previous, key=None)
    assert adds.equals(current) and removes.equals(previous)
    adds, removes = delta(current, previous, key=("k",))
    assert adds.equals(current) and removes.get_column("k").to_list() == ["z"]


@given(st.integers(0, 95), st.integers(1, 40))
def test_parts_hold_every_row_once_in_order_and_none_is_too_big(n, size):
    rows = pl.DataFrame({"i": list(range(n))})
    parts = split_parts(rows, size)
    assert pl.concat(parts).equals(rows)
    assert all(p.height <= size for p in parts)
    assert len(parts) == max(1, -(-n // size))


def test_a_part_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        split_parts(pl.DataFrame({"i": [1, 2]}), 0)
