"""Google's GA4 sample export (24,219 events of the Google Merchandise Store) loads through the
real ingest, with the ledger, from the three shapes a shop may hand over: the Parquet file,
the gzip NDJSON beside it (nulls kept, INT64 as numbers), and NDJSON as `bq extract` writes it
(INT64 as strings, null fields left out), derived here. All three give the same raw rows.

The sample is incomplete by design (see its SOURCE.md): these tests check that each event
arrives whole and typed, not the public dataset's totals.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.config import Settings
from pipelines.ingest.run import ingest_files
from pipelines.ingest.sources import GA4_STRUCTURE
from tests.conftest import query

from .realdata import link_landing

pytestmark = pytest.mark.real

FOLDER = "ga4_obfuscated_sample_ecommerce"
EVENTS = 24_219
# event_name counts as SOURCE.md lists them, from the file itself.
EVENT_COUNTS = {
    "page_view": 7498, "user_engagement": 5791, "scroll": 2766, "view_item": 2119,
    "session_start": 1937, "first_visit": 1410, "view_promotion": 1040, "purchase": 624,
    "add_to_cart": 305, "begin_checkout": 189, "view_search_results": 144, "select_item": 143,
    "add_shipping_info": 119, "add_payment_info": 65, "select_promotion": 59, "click": 9,
    "view_item_list": 1,
}
# The declared columns that are typed (JSON ones hold whatever the export wrote).
TYPED = [name for name, sql_type in GA4_STRUCTURE if sql_type != "JSON"]


def bq_extract_value(value: object) -> object:
    """A value as `bq extract --destination_format NEWLINE_DELIMITED_JSON` writes it: INT64
    as a JSON string, NULL fields left out (FLOAT64 stays a number)."""
    if isinstance(value, dict):
        return {k: bq_extract_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [bq_extract_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def write_bq_extract(source: Path, target: Path) -> None:
    with gzip.open(source, "rt", encoding="utf-8") as lines, \
            gzip.open(target, "wt", encoding="utf-8", compresslevel=1) as out:
        for line in lines:
            out.write(json.dumps(bq_extract_value(json.loads(line)), separators=(",", ":")))
            out.write("\n")


@pytest.fixture(scope="module")
def loaded(real_file, tmp_path_factory) -> dict[str, tuple[Settings, Path]]:
    """Each shape loaded into a data home of its own, as its only GA4 export."""
    parquet = real_file(FOLDER, "ga4_events_sampled.snappy.parquet")
    ndjson = real_file(FOLDER, "ga4_events_sampled.ndjson.gz")
    derived = tmp_path_factory.mktemp("bq") / "events_20201101_20210131.json.gz"
    write_bq_extract(ndjson, derived)
    shapes = {
        "parquet": (parquet, "events_20201101_20210131.parquet"),
        "ndjson_gz": (ndjson, "events_20201101_20210131.ndjson.gz"),
        "bq_extract": (derived, "events_20201101_20210131.json.gz"),
    }
    homes = {}
    for shape, (file, name) in shapes.items():
        # The memory limit of the unit tests: at 1 GB the NDJSON used to run out of memory.
        settings = Settings(home=tmp_path_factory.mktemp(shape) / "data",
                            duckdb_memory_limit="1GB", duckdb_threads=1)
        path = link_landing(settings, "ga4", "2021-02-01", name, file)
        report = ingest_files(settings, "ga4", [path], f"real-{shape}")
        assert report.count("loaded") == 1, report.summary()
        homes[shape] = (settings, file)
    return homes



@pytest.mark.parametrize("shape", ["parquet", "ndjson_gz", "bq_extract"])
def test_every_event_loads_with_its_ledger_entry_and_nothing_quarantined(loaded, shape):
    settings, file = loaded[shape]
    assert query(settings, "select status, rows_read, rows_loaded, rows_quarantined, sha256, "
                           "size_bytes from audit.loads") == [
        ("loaded", EVENTS, EVENTS, 0, hashlib.sha256(file.read_bytes()).hexdigest(),
         file.stat().st_size)]
    assert query(settings, "select count(*) from raw.quarantine") == [(0,)]
    counts = dict(query(settings, "select event_name, count(*) from raw.ga4__events group by 1"))
    assert counts == EVENT_COUNTS
    assert query(settings, "select count(distinct user_pseudo_id), min(event_date), "
                           "max(event_date), count(distinct _row) from raw.ga4__events") == [
        (19_210, "20201101", "20210131", EVENTS)]


def test_the_three_shapes_give_the_same_typed_rows(loaded):
    con = duckdb.connect()
    for shape, (settings, _) in loaded.items():
        con.execute(f"attach '{settings.work_db}' as {shape} (read_only)")
    columns = ", ".join(f'"{c}"' for c in ["_row", *TYPED])
    for shape in ("ndjson_gz", "bq_extract"):
        # Row by row (the file's row number), every typed column, nested ones included.
        differing = con.sql(f"select count(*) from (select {columns} "
                            f"from parquet.raw.ga4__events) a "
                            f"full join (select {columns} from {shape}.raw.ga4__events) b "
                            f"using (_row) where a is distinct from b")
        assert differing.fetchall() == [(0,)], shape
    # Values read straight from the Parquet file agree with what raw holds.
    table = pq.read_table(loaded["parquet"][1], columns=["event_timestamp", "ecommerce"])
    timestamps = sum(table.column("event_timestamp").to_pylist())
    revenue = sum(e["purchase_revenue"] or 0 for e in table.column("ecommerce").to_pylist()
                  if e is not None)
    for shape, (settings, _) in loaded.items():
        assert query(settings, "select sum(event_timestamp), sum(ecommerce.purchase_revenue), "
                               "count(*) filter (where len(items) > 0) "
                               "from raw.ga4__events") == [(timestamps, revenue, 3333)], shape


def test_the_raw_table_has_one_schema_whatever_the_format(loaded):
    """Parquet types columns that are NULL in every row as int64 (BigQuery has STRING) and
    carries records the product does not read; raw keeps the declared types and JSON."""
    def schema(shape: str) -> dict[str, str]:
        return dict(query(loaded[shape][0], "select column_name, data_type from "
                                            "information_schema.columns "
                                            "where table_name = 'ga4__events'"))

    parquet, ndjson, bq = schema("parquet"), schema("ndjson_gz"), schema("bq_extract")
    assert parquet == ndjson
    # `bq extract` leaves out NULL fields: one NULL in every row never reaches raw.
    assert set(parquet) - set(bq) == {"event_server_timestamp_offset", "app_info",
                                      "event_dimensions"}
    assert {k: parquet[k] for k in bq} == bq
    assert (parquet["user_id"], parquet["privacy_info"], parquet["user_ltv"]) == (
        "VARCHAR", "JSON", "JSON")
    for shape in loaded:
        assert query(loaded[shape][0], "select count(*) filter (where privacy_info->>"
                                       "'$.uses_transient_token' = 'No'), "
                                       "sum((user_ltv->>'$.revenue')::double) "
                                       "from raw.ga4__events")[0][0] == EVENTS, shape
