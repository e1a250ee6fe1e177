"""Defects land at the asked rates, and every defect in the truth is really in the files."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest
import simworld as sw

END = sw.END


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.defect_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def defects(w: sw.SimWorld) -> pl.DataFrame:
    return sw.truth(w, "defects")


def _within(observed: int, trials: int, rate: float) -> bool:
    """Observed count within 4.5 binomial standard deviations (plus one) of the rate."""
    sd = math.sqrt(trials * rate * (1 - rate))
    return abs(observed - trials * rate) <= 4.5 * sd + 1


def _csv_files(w: sw.SimWorld) -> list[str]:
    return sorted(str(p.relative_to(w.landing)) for p in w.landing.rglob("*.csv"))


def test_row_defect_rates_are_within_tolerance(w: sw.SimWorld, defects: pl.DataFrame) -> None:
    rows = dups = bad = 0
    for rel in _csv_files(w):
        _, data = sw.csv_rows(w.landing / rel)
        mine = defects.filter(pl.col("file") == rel)
        n_dup = mine.filter(pl.col("kind") == "duplicate_row").height
        rows += len(data) - n_dup  # rows before duplicates were added
        dups += n_dup
        bad += mine.filter(pl.col("kind") == "malformed_row").height
    assert rows > 5_000
    assert _within(dups, rows, 0.05), (dups, rows)
    assert _within(bad, rows, 0.04 * 0.95), (bad, rows)  # a duplicated row is not broken too


def test_every_recorded_row_defect_is_in_its_file(w: sw.SimWorld, defects: pl.DataFrame) -> None:
    for rel in _csv_files(w):
        header, data = sw.csv_rows(w.landing / rel)
        mine = defects.filter(pl.col("file") == rel)
        for kind, row in zip(mine["kind"], mine["row_number"], strict=True):
            if kind == "duplicate_row":
                assert data[row - 1] == data[row - 2], (rel, row)
            elif kind == "malformed_row":
                assert len(data[row - 1]) != len(header), (rel, row)
        bad = {r for k, r in zip(mine["kind"], mine["row_number"], strict=True)
               if k == "malformed_row"}  # fmt: skip
        assert {i + 1 for i, r in enumerate(data) if len(r) != len(header)} == bad, rel


def test_ndjson_duplicates_and_broken_lines(w: sw.SimWorld, defects: pl.DataFrame) -> None:
    totals = {"ga4": [0, 0], "meta_capi": [0, 0]}
    broken = lines_all = 0
    for source in totals:
        for path in sorted((w.landing / source).rglob("*.ndjson")):
            rel = str(path.relative_to(w.landing))
            lines = path.read_text(encoding="utf-8").splitlines()
            mine = defects.filter(pl.col("file") == rel)
            kind = "duplicate_event" if source == "ga4" else "capi_duplicate"
            dup_rows = mine.filter(pl.col("kind") == kind)["row_number"].to_list()
            for row in dup_rows:
                assert lines[row - 1] == lines[row - 2]
            bad_rows = set(mine.filter(pl.col("kind") == "malformed_json")["row_number"])
            for i, line in enumerate(lines, start=1):
                try:
                    json.loads(line)
                    assert i not in bad_rows
                except json.JSONDecodeError:
                    assert i in bad_rows
            totals[source][0] += len(lines) - len(dup_rows)
            totals[source][1] += len(dup_rows)
            broken += len(bad_rows)
            lines_all += len(lines)
    assert _within(totals["ga4"][1], totals["ga4"][0], 0.04)
    assert _within(totals["meta_capi"][1], totals["meta_capi"][0], 0.1)
    assert _within(broken, lines_all, 0.01 * 0.92)
    # A CAPI duplicate is the same event_name + event_id twice (browser and server).
    capi = defects.filter(pl.col("kind") == "capi_duplicate").row(0, named=True)
    lines = (w.landing / capi["file"]).read_text().splitlines()
    first, second = (json.loads(lines[capi["row_number"] - k]) for k in (2, 1))
    assert (first["event_name"], first["event_id"]) == (second["event_name"], second["event_id"])


def test_file_level_defects(w: sw.SimWorld, defects: pl.DataFrame) -> None:
    empty = defects.filter(pl.col("kind") == "empty_file")
    assert empty.height >= 2  # half of the empty files fall in the backfill
    for rel in empty["file"]:
        assert (w.landing / rel).stat().st_size == 0
    latin1 = defects.filter(pl.col("kind") == "latin1_encoding")["file"].to_list()
    assert latin1 == [f"hubspot/{END.isoformat()}/contacts.csv"]
    raw = (w.landing / latin1[0]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "Müller" in raw.decode("latin-1") or "é" in raw.decode("latin-1")
    renamed = defects.filter(pl.col("kind") == "renamed_column")
    day1 = (END + dt.timedelta(days=1)).isoformat()
    assert renamed["file"].to_list() == [f"hubspot/{day1}/contacts.csv"]
    header, _ = sw.csv_rows(w.landing / renamed["file"][0])
    assert "Phone" in header and "Phone Number" not in header
    header, _ = sw.csv_rows(w.folder("hubspot") / "contacts.csv")
    assert "Phone Number" in header
    added = defects.filter(pl.col("kind") == "added_column")
    assert added.height == 3  # from the second continued day on
    for rel in added["file"]:
        header, _rows = sw.csv_rows(w.landing / rel)
        assert header[header.index("Vendor") + 1] == "Lineitem discount"


def test_orders_defects_test_orders_refunds_cancellations(
    w: sw.SimWorld, defects: pl.DataFrame
) -> None:
    rel = f"shop/{END.isoformat()}/orders_export.csv"
    header, rows = sw.csv_rows(w.landing / rel)
    col = {h: i for i, h in enumerate(header)}
    mine = defects.filter(pl.col("file") == rel)
    first_rows = [r for r in rows if len(r) == len(header) and r[col["Email"]]]
    test_rows = set(mine.filter(pl.col("kind") == "test_order")["row_number"])
    assert test_rows
    for row in test_rows:
        r = rows[row - 1]
        if len(r) == len(header) and r[col["Email"]]:
            assert "test" in r[col["Tags"]] or r[col["Email"]].split("@")[1] in (
                "example.com", "test.com", "mailinator.com")  # fmt: skip
    orders = len(first_rows)
    assert _within(len(test_rows), orders, 0.05 / 1.05)
    refunds = set(mine.filter(pl.col("kind") == "refund")["row_number"])
    cancels = set(mine.filter(pl.col("kind") == "cancellation")["row_number"])
    intact = {i + 1 for i, r in enumerate(rows) if len(r) == len(header)}
    for row in refunds & intact:
        assert rows[row - 1][col["Financial Status"]] in ("refunded", "partially_refunded")
        assert float(rows[row - 1][col["Refunded Amount"]]) > 0
    for row in cancels & intact:
        assert rows[row - 1][col["Cancelled at"]]
    for row in (refunds | cancels) - intact:
        assert rows[row - 1][0].startswith("#")  # a broken row still starts with its Name
    assert _within(len(cancels), orders, 0.05)
    assert len(refunds) > 0.5 * 0.1 * orders  # refunds land days later: recent ones pending


def test_late_ga4_rewrites_and_restatements(w: sw.SimWorld, defects: pl.DataFrame) -> None:
    late = defects.filter(pl.col("kind") == "late_rewrite")
    assert late.height > 0
    for rel in late["file"]:
        source, folder, name = rel.split("/")
        day = dt.datetime.strptime(name[7:15], "%Y%m%d").date()
        export = dt.date.fromisoformat(folder)
        assert 2 <= (export - day).days <= 3  # the normal file lands the day after
        earlier = [w.landing / source / (day + dt.timedelta(days=k)).isoformat() / name
                   for k in range(1, (export - day).days)]  # fmt: skip
        before = [p for p in earlier if p.exists() and p.stat().st_size > 0]
        if before:
            n_late = len((w.landing / rel).read_bytes().splitlines())
            assert n_late > len(before[-1].read_bytes().splitlines())
    restated = defects.filter(pl.col("kind") == "restated")
    assert set(restated["detail"]) == {"version 1", "version 2"}
