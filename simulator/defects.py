"""Defects real exports have, injected at configurable rates and recorded for the truth.

`Defects` holds the rates. `Emitter` writes a CSV or NDJSON file from already formatted rows
and, on the way, duplicates some rows, breaks some, re-encodes a file as Latin-1 or leaves it
empty, recording each injected defect (source, export date, file, 1-based data row, kind)
in a `DefectLog`. Which rows are hit is a hash of the file's path and the row's position, so
it never depends on how the rows were chunked or on what else was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

logger = logging.getLogger(__name__)

_MASK = (1 << 64) - 1
CHUNK_ROWS = 100_000
DEFECT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "export_date": pl.Date(),
    "file": pl.String(),
    "row_number": pl.Int64(),
    "kind": pl.String(),
    "detail": pl.String(),
}


@dataclass(frozen=True)
class Defects:
    """Rates and choices of the defects injected into the landing files.

    Row rates are per data row (per line for NDJSON). `renamed_column` renames one column of
    one file on the export date `renamed_column_day` days after the world's end date (0 = the
    backfill); `added_column` adds a column to a file from `added_column_day` on;
    `latin1_file` is written as Latin-1 on `latin1_day`; `empty_files` per-day files (GA4,
    Conversions API, Ads Insights) come out empty. Refund, cancellation and test-order rates
    shape the orders themselves.
    """

    malformed_row_rate: float = 0.005
    duplicate_row_rate: float = 0.01
    malformed_json_rate: float = 0.0005
    ga4_duplicate_event_rate: float = 0.005
    ga4_late_session_rate: float = 0.03
    capi_duplicate_rate: float = 0.03
    test_order_rate: float = 0.005
    refund_rate: float = 0.03
    partial_refund_share: float = 0.4
    cancel_rate: float = 0.015
    renamed_column: tuple[str, str, str, str] | None = (
        "hubspot", "contacts.csv", "Phone Number", "Phone",
    )  # fmt: skip
    renamed_column_day: int = 1
    added_column: tuple[str, str, str, str] | None = (
        "shop", "orders_export.csv", "Lineitem discount", "Vendor",
    )  # fmt: skip
    added_column_day: int = 2
    latin1_file: tuple[str, str] | None = ("hubspot", "contacts.csv")
    latin1_day: int = 0
    empty_files: int = 3

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name.endswith(("_rate", "_share")) and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"Defects.{name} must be between 0 and 1, got {value}")
        if self.empty_files < 0:
            raise ValueError("Defects.empty_files must not be negative")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Defects:
        """The inverse of `to_json`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class DefectLog:
    """The defects injected so far; `frame()` is the truth table."""

    rows: list[dict[str, object]] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)
    row_sets: list[tuple[str, dt.date, str, str, np.ndarray]] = field(default_factory=list)

    def add(
        self,
        source: str,
        export_date: dt.date,
        file: str,
        kind: str,
        row_number: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Record one defect (a file-level one when `row_number` is None)."""
        self.rows.append({"source": source, "export_date": export_date, "file": file,
                          "row_number": row_number, "kind": kind, "detail": detail})  # fmt: skip

    def add_rows(
        self, source: str, export_date: dt.date, file: str, kind: str, rows: np.ndarray
    ) -> None:
        """Record one defect per row number in `rows`."""
        if len(rows):
            self.row_sets.append((source, export_date, file, kind, rows.astype(np.int64)))

    def frame(self) -> pl.DataFrame:
        """All recorded defects, sorted by export date, file, row and kind."""
        parts = [*self.frames]
        if self.row_sets:
            sizes = [len(r[4]) for r in self.row_sets]
            parts.append(
                pl.DataFrame(
                    {
                        "source": np.repeat([r[0] for r in self.row_sets], sizes),
                        "export_date": np.repeat(np.array([r[1] for r in self.row_sets],
                                                          dtype="datetime64[D]"), sizes),
                        "file": np.repeat([r[2] for r in self.row_sets], sizes),
                        "row_number": np.concatenate([r[4] for r in self.row_sets]),
                        "kind": np.repeat([r[3] for r in self.row_sets], sizes),
                        "detail": pl.Series([None] * sum(sizes), dtype=pl.String),
                    }
                ).cast(DEFECT_SCHEMA)  # type: ignore[arg-type]
            )  # fmt: skip
        if self.rows:
            parts.append(pl.DataFrame(self.rows, schema=DEFECT_SCHEMA))
        if not parts:
            return pl.DataFrame(schema=DEFECT_SCHEMA)
        return pl.concat(parts).sort("export_date", "file", "row_number", "kind",
                                     nulls_last=False, maintain_order=True)  # fmt: skip


def stable_key(*parts: object) -> int:
    """A 64-bit integer from text parts, the same on every run and platform."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def hash_uniform(key: int, idx: np.ndarray, salt: int = 0) -> np.ndarray:
    """Uniform numbers in [0, 1) that depend only on (`key`, `salt`, each index): a
    splitmix64 of the index offset by the key. Returns float64 of `idx`'s shape."""
    offset = np.uint64((key ^ (salt * 0x9E3779B97F4A7C15)) & _MASK)
    x = np.asarray(idx).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + offset
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hash_int(key: int, idx: np.ndarray, high: int, salt: int = 0) -> np.ndarray:
    """Integers in [0, high) from `hash_uniform`."""
    return np.minimum((hash_uniform(key, idx, salt) * high).astype(np.int64), high - 1)


@dataclass
class FilePlan:
    """What to do to one file: duplicate and break rows at these rates, and whether to
    re-encode it as Latin-1 or leave it empty. `dup_kind` and `bad_kind` name the defects."""

    duplicate_rate: float = 0.0
    malformed_rate: float = 0.0
    dup_kind: str = "duplicate_row"
    bad_kind: str = "malformed_row"
    latin1: bool = False
    empty: bool = False
    json: bool = False


class Emitter:
    """Writes formatted rows to a landing file, injecting the planned defects."""

    def __init__(self, landing: Path, log: DefectLog, seed: int) -> None:
        self.landing, self.log, self.seed = landing, log, seed

    def write(
        self,
        source: str,
        export_date: dt.date,
        name: str,
        lines: pl.DataFrame | Iterable[pl.DataFrame] | None,
        header: str | None,
        plan: FilePlan,
        marks: list[tuple[str, np.ndarray]] | None = None,
    ) -> int:
        """Write `lines` under `<source>/<export_date>/<name>`: for CSV frames of
        formatted columns (quoted where needed, nulls empty) after the `header` line, for
        NDJSON (`plan.json`) one String column holding a JSON object per row and no header.
        `lines` may be one frame or consecutive parts of the file (so big files are
        formatted a part at a time); None writes a file without rows. `marks` are (kind,
        clean row positions) of rows that are defects by content (test orders, refunds):
        they are recorded with the row numbers they end up at. Returns the number of data
        rows written."""
        rel = f"{source}/{export_date.isoformat()}/{name}"
        path = self.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if plan.empty:
            path.write_bytes(b"")
            self.log.add(source, export_date, rel, "empty_file")
            return 0
        key = stable_key(self.seed, rel)
        encoding = "latin-1" if plan.latin1 else "utf-8"
        if plan.latin1:
            self.log.add(source, export_date, rel, "latin1_encoding")
        parts = [] if lines is None else [lines] if isinstance(lines, pl.DataFrame) else lines
        written = clean = 0
        with path.open("wb") as fh:
            if header is not None:
                fh.write((header + "\n").encode(encoding, errors="replace"))
            for part in parts:
                for lo in range(0, part.height, CHUNK_ROWS):
                    chunk = part.slice(lo, CHUNK_ROWS)
                    written += self._chunk(fh, chunk, clean, written, key, plan, encoding,
                                           (source, export_date, rel), marks or [])  # fmt: skip
                    clean += chunk.height
        return written

    def _chunk(
        self,
        fh: BinaryIO,
        chunk: pl.DataFrame,
        first_row: int,
        written_before: int,
        key: int,
        plan: FilePlan,
        encoding: str,
        where: tuple[str, dt.date, str],
        marks: list[tuple[str, np.ndarray]],
    ) -> int:
        n = chunk.height
        text = chunk.write_csv(
            include_header=False,
            quote_style="never" if plan.json else "necessary",
            line_terminator="\n",
            null_value="",
        )
        data = text.encode(encoding, errors="replace")
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        if len(ends) != n:
            raise ValueError(f"{where[2]}: a row contains a line break")
        starts = np.r_[0, ends[:-1] + 1]
        idx = np.arange(first_row, first_row + n)
        dup = hash_uniform(key, idx, 1) < plan.duplicate_rate
        bad = ~dup & (hash_uniform(key, idx, 2) < plan.malformed_rate)
        dups_before = np.cumsum(dup) - dup
        for kind, rows in marks:
            mine = rows[(rows >= first_row) & (rows < first_row + n)] - first_row
            self.log.add_rows(*where, kind, written_before + mine + dups_before[mine] + 1)
        special = np.flatnonzero(dup | bad)
        if not len(special):
            fh.write(data)
            return n
        # Rows before each special row are copied as one slice; a duplicate row is written
        # twice, a malformed row is cut after its first field (CSV) or half-way (JSON), or
        # gets a stray field, so parsers see the wrong number of fields.
        pos = 0
        dup_rows, bad_rows = [], []
        style = hash_int(key, idx[special], 2, 3)
        for s, st in zip(special, style, strict=True):
            a, b = int(starts[s]), int(ends[s]) + 1
            fh.write(data[pos:a])
            out_row = written_before + s + len(dup_rows)  # data rows before this one
            row = data[a:b]
            if dup[s]:
                fh.write(row)
                fh.write(row)
                dup_rows.append(out_row + 2)
            else:
                fh.write(_break(row, int(st), plan.json))
                bad_rows.append(out_row + 1)
            pos = b
        fh.write(data[pos:])
        source, export_date, rel = where
        self.log.add_rows(source, export_date, rel, plan.dup_kind, np.array(dup_rows))
        self.log.add_rows(source, export_date, rel, plan.bad_kind, np.array(bad_rows))
        return n + len(dup_rows)


def _break(row: bytes, style: int, json: bool) -> bytes:
    """A malformed copy of one line (with its line end)."""
    body = row[:-1]
    if json:
        return body[: max(1, len(body) // 2)] + b"\n"
    if style == 0:
        comma = body.find(b",")
        return (body[:comma] if comma > 0 else body + b",,") + b"\n"
    return body + b",#REF!\n"
