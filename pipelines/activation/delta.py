"""What changed since the last published export, and files cut into parts a platform accepts.

Platforms sync audiences by adds and removes. A file's rows are compared with the same audience
and platform's rows in the last export that passed the quality gate and was published:

- keyed files (Mailchimp on the email, CRM on the record id): `adds` holds new and changed rows,
  `removes` the rows whose key is gone.
- ad files (hashed rows without a stable id): a row is its own key, so a person whose details
  changed is in `removes` with the old row and in `adds` with the new one. Apply removes first.
"""

from __future__ import annotations

import polars as pl


def delta(
    current: pl.DataFrame, previous: pl.DataFrame | None, key: tuple[str, ...] | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`(adds, removes)` of `current` against `previous` (None: no earlier export, all adds).

    Both are text frames as read back from the CSV files. A previous file with other columns (a
    format change) is replaced whole: every current row is an add, and every previous row a
    remove unless its key is still present.
    """
    if previous is None:
        return current, current.clear()
    same_columns = previous.columns == current.columns
    if key is not None and all(k in previous.columns for k in key):
        removes = previous.join(
            current.select(key), on=list(key), how="anti", nulls_equal=True, maintain_order="left"
        )
    elif same_columns:
        removes = previous.join(
            current, on=current.columns, how="anti", nulls_equal=True, maintain_order="left"
        )
    else:
        removes = previous
    if not same_columns:
        return current, removes
    adds = current.join(
        previous.unique(), on=current.columns, how="anti", nulls_equal=True, maintain_order="left"
    )
    return adds, removes.unique(maintain_order=True)


def split_parts(frame: pl.DataFrame, rows_per_part: int | None) -> list[pl.DataFrame]:
    """`frame` in consecutive parts of at most `rows_per_part` rows (None: one part). An empty
    frame is one empty part, so a file with only its header still says "nobody"."""
    if rows_per_part is None or frame.height <= rows_per_part:
        return [frame]
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
    return [frame.slice(start, rows_per_part) for start in range(0, frame.height, rows_per_part)]
