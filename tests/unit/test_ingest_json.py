"""NDJSON and Parquet exports: typed nested records, quarantine by line, replaced GA4 days."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from datetime import date

import duckdb
import pytest
from conftest import write_landing
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from pipelines.config import Settings
from pipelines.ingest.run import IngestError, ingest_source
from tests.conftest import query as rows

# Each kind of bad line, and the reason it must be quarantined with (None: not a row at all).
BAD_LINES = {
    "cut": ('{"event_date": "20261029", "event_name": ', "parse error: invalid JSON"),
    "array": ("[1, 2]", "parse error: not a JSON object"),
    "scalar": ('"page_view"', "parse error: not a JSON object"),
    "indented array": ("  [1]", "parse error: not a JSON object"),
    "no user": ('{"event_date": "20261029", "event_name": "x", "event_timestamp": "1"}',
                "missing required field: user_pseudo_id"),
    "null user": ('{"event_date": "20261029", "event_name": "x", "event_timestamp": "1", '
                  '"user_pseudo_id": null}', "missing required field: user_pseudo_id"),
    "bad time": ('{"event_date": "20261029", "event_name": "x", "event_timestamp": "soon", '
                 '"user_pseudo_id": "1.2"}', "bad type: event_timestamp is not bigint"),
    "blank": ("", None),
}


def ga4_event(i: int, day: str = "20261029", **extra) -> str:
    event = {
        "event_date": day,
        "event_timestamp": str(1761696000000000 + i),  # INT64 arrives as a string
        "event_name": "page_view",
        "event_params": [
            {"key": "ga_session_id", "value": {"int_value": str(1000 + i)}},
            {"key": "page_location", "value": {"string_value": f"https://shop.example/p/{i}"}},
        ],
        "user_pseudo_id": f"{i}.1761696000",
        "device": {"category": "mobile", "web_info": {"browser": "Safari"}},
        "geo": {"country": "United States", "city": "Boston"},
        **extra,
    }
    return json.dumps(event)



def test_ga4_ndjson_is_typed_nested_and_bad_lines_are_quarantined(settings):
    lines = [ga4_event(i) for i in range(1, 201)]
    lines[49] = '{"event_date": "20261029", "event_name": '  # cut off mid-line
    lines[99] = json.dumps({"event_date": "20261029", "event_name": "x",
                            "event_timestamp": "1"})  # no user_pseudo_id
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson", "\n".join(lines))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (50, "parse error: invalid JSON"), (100, "missing required field: user_pseudo_id")]
    first = rows(settings, "select event_timestamp, event_params[1].value.int_value, "
                           "device.web_info.browser, _row from raw.ga4__events order by _row "
                           "limit 1")
    assert first == [(1761696000000001, 1001, "Safari", 1)]
    assert rows(settings, "select typeof(event_timestamp), typeof(event_params) "
                          "from raw.ga4__events limit 1")[0][0] == "BIGINT"
    assert rows(settings, "select rows_read, rows_loaded, rows_quarantined from audit.loads") \
        == [(200, 198, 2)]


def test_a_rewritten_ga4_day_replaces_the_earlier_export_not_doubles_it(settings):
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson",
                  "\n".join(ga4_event(i) for i in range(10)))
    write_landing(settings, "ga4", "2026-10-30", "events_20261028.ndjson",
                  "\n".join(ga4_event(i, "20261028") for i in range(4)))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 30))
    # Late events arrive: the export of the 31st holds the whole day 29 again, with more rows.
    write_landing(settings, "ga4", "2026-10-31", "events_20261029.ndjson",
                  "\n".join(ga4_event(i) for i in range(13)))
    ingest_source(settings, "ga4", "r2", date(2026, 10, 31))
    assert rows(settings, "select event_date, count(*) from raw.ga4__events group by 1 "
                          "order by 1") == [("20261028", 4), ("20261029", 13)]
    # A backfill file that holds many days is replaced day by day by later daily exports.
    write_landing(settings, "ga4", "2026-11-01", "events_20261028.ndjson",
                  "\n".join(ga4_event(i, "20261028") for i in range(6)))
    ingest_source(settings, "ga4", "r3", date(2026, 11, 1))
    assert rows(settings, "select event_date, count(*) from raw.ga4__events group by 1 "
                          "order by 1") == [("20261028", 6), ("20261029", 13)]


def test_a_new_field_is_kept_and_a_wrong_type_is_quarantined(settings):
    lines = [ga4_event(1, privacy_info={"analytics_storage": "Yes"}),
             ga4_event(2).replace('"mobile"', '"tablet"'),
             json.dumps({**json.loads(ga4_event(3)), "event_timestamp": "soon"})]
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson", "\n".join(lines))
    from pipelines.config import Settings

    lenient = Settings(home=settings.home, error_budget=0.5)
    ingest_source(lenient, "ga4", "r1", date(2026, 10, 31))
    kept = rows(settings, "select privacy_info->>'$.analytics_storage' from raw.ga4__events "
                          "order by _row")
    assert kept == [("Yes",), (None,)]
    assert rows(settings, "select row_number, reason, raw_line from raw.quarantine") == [
        (3, "bad type: event_timestamp is not bigint", lines[2])]


def test_ga4_parquet_loads_into_the_same_table(settings, tmp_path):
    ndjson = tmp_path / "day.ndjson"
    ndjson.write_text("\n".join(ga4_event(i) for i in range(5)))
    target = settings.landing_dir / "ga4" / "2026-10-30" / "events_20261029.parquet"
    target.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"copy (select * replace (cast(event_timestamp as bigint) as event_timestamp) "
                f"from read_json('{ndjson}')) to '{target}' (format parquet)")
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select count(*), min(_row), max(_row) from raw.ga4__events") == [
        (5, 1, 5)]


def test_parquet_columns_take_the_declared_types_and_unknown_ones_are_json(settings, tmp_path):
    """BigQuery's Parquet writes a column that is NULL in every row as int64 where the
    export has STRING, and records hold fields the product does not read: raw gets the
    declared types and JSON, as from NDJSON, whichever format comes first."""
    target = settings.landing_dir / "ga4" / "2026-10-30" / "events_20261029.parquet"
    target.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"copy (select '20261029' as event_date, 1761696000000000 + i as event_timestamp, "
        f"'page_view' as event_name, i || '.17' as user_pseudo_id, "
        f"null::bigint as user_id, 2100450278 as stream_id, "
        f"{{'analytics_storage': null::bigint, 'uses_transient_token': 'No'}} as privacy_info, "
        f"{{'category': 'desktop', 'vendor_id': null::bigint}} as device, "
        f"{{'revenue': 339.0, 'currency': 'USD'}} as user_ltv "
        f"from range(3) t(i)) to '{target}' (format parquet)")
    write_landing(settings, "ga4", "2026-10-31", "events_20261030.ndjson",
                  ga4_event(9, day="20261030", user_ltv={"revenue": 1.5, "currency": "EUR"}))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    types = dict(rows(settings, "select column_name, data_type from information_schema.columns "
                                "where table_name = 'ga4__events'"))
    assert (types["user_id"], types["stream_id"], types["privacy_info"], types["user_ltv"]) \
        == ("VARCHAR", "VARCHAR", "JSON", "JSON")
    assert rows(settings, "select stream_id, device.category, user_ltv->>'$.currency', "
                          "privacy_info->>'$.uses_transient_token' from raw.ga4__events "
                          "where _row = 1 order by _file") == [
        ("2100450278", "desktop", "USD", "No"), (None, "mobile", "EUR", None)]


def test_a_parquet_value_that_does_not_cast_is_quarantined_with_its_reason(settings):
    target = settings.landing_dir / "ga4" / "2026-10-30" / "events_20261029.parquet"
    target.parent.mkdir(parents=True)
    duckdb.connect().execute(
        f"copy (select '20261029' as event_date, "
        f"case when i = 1 then 'soon' else (1761696000000000 + i)::varchar end "
        f"as event_timestamp, 'page_view' as event_name, i || '.17' as user_pseudo_id "
        f"from range(60) t(i)) to '{target}' (format parquet)")
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select row_number, reason, raw_line->>'$.event_timestamp' "
                          "from raw.quarantine") == [
        (2, "bad type: event_timestamp is not bigint", "soon")]
    assert rows(settings, "select count(*), typeof(any_value(event_timestamp)) "
                          "from raw.ga4__events") == [(59, "BIGINT")]


def test_explicit_nulls_load_except_in_a_required_field(settings):
    """Arrow and pandas write every null: an optional field's null is no bad value (and no
    reason to recheck the line), a required field's null is a missing field."""
    base = {"event_date": "20261029", "event_name": "x", "event_timestamp": "5",
            "user_pseudo_id": "1.2", "event_previous_timestamp": None, "ecommerce": None,
            "items": None, "privacy_info": None}
    lines = [{**base, "event_timestamp": None}, {**base, "event_previous_timestamp": "soon"},
             *([base] * 98)]
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson",
                  "\n".join(json.dumps(line) for line in lines))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select row_number, reason from raw.quarantine order by 1") == [
        (1, "missing required field: event_timestamp"),
        (2, "bad type: event_previous_timestamp is not bigint")]
    assert rows(settings, "select count(*), count(event_previous_timestamp), count(ecommerce) "
                          "from raw.ga4__events") == [(98, 0, 0)]


def test_gzip_ndjson_loads_with_the_hash_of_its_bytes_and_its_content_encoding(settings):
    """BigQuery exports compress NDJSON with gzip (`events_*.json.gz`); DuckDB reads it as
    it is. The ledger knows the file by the hash of the bytes on disk."""
    path = settings.landing_dir / "ga4" / "2026-10-30" / "events_20261029.json.gz"
    path.parent.mkdir(parents=True)
    text = "\n".join(ga4_event(i, geo={"city": "Zürich"}) for i in range(1, 4))
    # Two gzip members, as `cat a.gz b.gz` makes.
    path.write_bytes(gzip.compress(text[:500].encode()) + gzip.compress(text[500:].encode()))
    report = ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert report.summary().startswith("ga4: 1 files loaded (3 rows, 0 quarantined)")
    assert rows(settings, "select sha256, size_bytes, encoding from audit.loads") == [
        (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size, "utf-8")]
    assert rows(settings, "select distinct geo.city from raw.ga4__events") == [("Zürich",)]
    assert ingest_source(settings, "ga4", "r2", date(2026, 10, 31)).count("skipped") == 1


def test_a_broken_or_empty_gzip_file_is_named_not_a_traceback(settings):
    day = settings.landing_dir / "ga4" / "2026-10-30"
    day.mkdir(parents=True)
    whole = gzip.compress(ga4_event(1).encode())
    (day / "events_20261029.json.gz").write_bytes(whole[:-12])  # cut short in transfer
    (day / "events_20261028.json.gz").write_bytes(gzip.compress(b""))
    (day / "events_20261027.json.gz").write_bytes(b"{not gzip at all}")
    with pytest.raises(IngestError) as error:
        ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert "events_20261029.json.gz: rejected, not a readable gzip file (the gzip stream " \
           "ends before its end marker" in str(error.value)
    assert "events_20261027.json.gz: rejected, not a readable gzip file" in str(error.value)
    assert sorted(rows(settings, "select regexp_extract(file_path, 'events_\\d+'), status "
                                 "from audit.loads")) == [
        ("events_20261027", "rejected"), ("events_20261028", "empty"),
        ("events_20261029", "rejected")]


def test_meta_insights_metrics_are_checked_as_numbers(settings):
    row = {"date_start": "2026-10-29", "date_stop": "2026-10-29", "ad_id": "23850000001",
           "spend": "12.34", "impressions": "1000", "clicks": "17",
           "actions": [{"action_type": "link_click", "value": "15"}]}
    bad = {**row, "ad_id": "23850000002", "spend": "twelve"}
    text = "\n".join(json.dumps(r) for r in [row, bad])
    write_landing(settings, "meta_ads", "2026-10-30", "ads_insights_20261029.ndjson", text)
    ingest_source(settings, "meta_ads", "r1", date(2026, 10, 31))
    assert rows(settings, "select row_number, reason from raw.quarantine") == [
        (2, "bad type: spend is not a number")]
    assert rows(settings, "select ad_id, spend from raw.meta_ads__insights") == [
        ("23850000001", "12.34")]


def test_renamed_required_csv_column_names_the_closest_match(settings):
    header = "Record ID,First Name,Last Name,Email,Phone,Lifecycle Stage\n"
    write_landing(settings, "hubspot", "2026-10-30", "deals.csv",
                  "Record ID,Deal Name\n1,Big one\n")
    write_landing(settings, "hubspot", "2026-10-31", "contacts.csv",
                  header.replace("Record ID", "Record_ID") + "1,A,B,a@x.com,555,lead\n")
    with pytest.raises(IngestError, match=r"'Record ID' is missing.*'Record_ID'"):
        ingest_source(settings, "hubspot", "r1", date(2026, 10, 31))
    # The other file of the source still loaded.
    assert rows(settings, "select count(*) from raw.hubspot__deals") == [(1,)]


def test_a_key_the_structure_does_not_know_becomes_a_json_column(settings):
    def with_new(i: int, **extra: object) -> str:
        return json.dumps({**json.loads(ga4_event(i)), **extra})

    lines = [with_new(1, engagement_score={"a": 1}), with_new(2, engagement_score=None),
             ga4_event(3), with_new(4, engagement_score="high")]
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson", "\n".join(lines))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select _row, engagement_score::varchar from raw.ga4__events "
                          "order by _row") == [
        (1, '{"a":1}'), (2, None), (3, None), (4, '"high"')]


@hyp_settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 7000), data=st.data())
def test_ndjson_row_numbers_and_reasons_survive_any_pattern_of_bad_lines(
        tmp_path_factory, n, data):
    """Lines are parsed on several threads: whichever lines are bad, every good line loads
    with its own line number and every bad one is quarantined under that number, with its
    reason. Files span several chunks of rows, so the threads share them."""
    home = tmp_path_factory.mktemp("h")
    settings = Settings(home=home, duckdb_memory_limit="1GB", duckdb_threads=2,
                        error_budget=1.0)
    picked = data.draw(st.dictionaries(st.integers(1, n), st.sampled_from(sorted(BAD_LINES)),
                                       max_size=40))
    # An explicit null in an optional typed field is not a bad value.
    lines = [BAD_LINES[picked[i]][0] if i in picked
             else ga4_event(i, event_previous_timestamp=None if i % 7 == 0 else str(i))
             for i in range(1, n + 1)]
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson", "\n".join(lines))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    expected_bad = {i: BAD_LINES[kind][1] for i, kind in picked.items() if BAD_LINES[kind][1]}
    good = set(range(1, n + 1)) - set(picked)
    loaded = rows(settings, "select _row, event_timestamp - 1761696000000000, "
                            "event_previous_timestamp from raw.ga4__events")
    assert sorted(loaded) == [(i, i, None if i % 7 == 0 else i) for i in sorted(good)]
    assert dict(rows(settings, "select row_number, reason from raw.quarantine")) == expected_bad
    assert rows(settings, "select rows_read, rows_loaded, rows_quarantined from audit.loads") \
        == [(len(good) + len(expected_bad), len(good), len(expected_bad))]


def insights_row(ad: int, day: str = "2026-10-29", **extra) -> str:
    return json.dumps({"date_start": day, "date_stop": day, "ad_id": str(ad), "spend": "1.50",
                       "impressions": "100", "clicks": "3", **extra})


def test_small_files_staged_together_keep_their_own_budget_rows_and_columns(settings):
    """Small NDJSON files of an entity are read and checked together; each is still loaded or
    rejected on its own, with its own row numbers, ledger entry and new columns."""
    days = ["2026-08-01", "2026-09-01", "2026-10-01"]
    ok_a = [insights_row(i, days[0]) for i in range(1, 21)]
    ok_a[4] = insights_row(5, days[0], spend="lots")
    # Over the budget, and the only file with a key the structure does not know.
    over = [insights_row(i, days[1], creative_tag="x") for i in range(1, 21)]
    for i in (2, 9):
        over[i] = "{not json"
    ok_c = [insights_row(i, days[2]) for i in range(1, 31)]
    ok_c[16] = insights_row(17, days[2]).replace('"ad_id": "17", ', "")
    for day, lines in zip(days, [ok_a, over, ok_c], strict=True):
        write_landing(settings, "meta_ads", "2026-10-30",
                      f"ads_insights_{day.replace('-', '')}.ndjson", "\n".join(lines))
    with pytest.raises(IngestError, match=r"ads_insights_20260901\.ndjson: rejected, 2 of 20"):
        ingest_source(settings, "meta_ads", "r1", date(2026, 10, 31))
    ledger = rows(settings, "select regexp_extract(file_path, '\\d{8}'), rows_read, rows_loaded, "
                            "rows_quarantined, status from audit.loads order by 1")
    assert ledger == [("20260801", 20, 19, 1, "loaded"), ("20260901", 20, 0, 2, "rejected"),
                      ("20261001", 30, 29, 1, "loaded")]
    assert rows(settings, "select regexp_extract(file_path, '\\d{8}'), row_number, reason "
                          "from raw.quarantine order by 1") == [
        ("20260801", 5, "bad type: spend is not a number"),
        ("20261001", 17, "missing required field: ad_id")]
    loaded = rows(settings, "select date_start, count(*), sum(_row), sum(ad_id::int) "
                            "from raw.meta_ads__insights group by 1 order by 1")
    assert loaded == [("2026-08-01", 19, 210 - 5, 210 - 5), ("2026-10-01", 29, 465 - 17, 465 - 17)]
    columns = rows(settings, "select column_name from information_schema.columns "
                             "where table_name = 'meta_ads__insights'")
    assert ("creative_tag",) not in columns


@hyp_settings(max_examples=8, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 400), min_size=2, max_size=5), data=st.data())
def test_files_staged_together_number_their_rows_as_if_alone(tmp_path_factory, sizes, data):
    """Whatever the files' sizes and bad lines, each file staged with others loads its good
    lines under their own line numbers and quarantines its bad ones under theirs."""
    settings = Settings(home=tmp_path_factory.mktemp("h"), duckdb_memory_limit="1GB",
                        duckdb_threads=2, error_budget=1.0)
    expected_good, expected_bad = set(), {}
    for f, n in enumerate(sizes):
        picked = data.draw(st.dictionaries(st.integers(1, n), st.sampled_from(sorted(BAD_LINES)),
                                           max_size=10))
        day = f"202610{f + 10}"
        lines = [BAD_LINES[picked[i]][0] if i in picked else ga4_event(i, day)
                 for i in range(1, n + 1)]
        write_landing(settings, "ga4", "2026-10-30", f"events_{day}.ndjson", "\n".join(lines))
        expected_good |= {(day, i) for i in range(1, n + 1) if i not in picked}
        expected_bad |= {(day, i): BAD_LINES[kind][1] for i, kind in picked.items()
                         if BAD_LINES[kind][1]}
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    loaded = rows(settings, "select regexp_extract(_file, '\\d{8}'), _row, "
                            "event_timestamp - 1761696000000000, event_date from raw.ga4__events")
    assert sorted((d, r) for d, r, _, _ in loaded) == sorted(expected_good)
    assert all(r == i and d == day for d, r, i, day in loaded)
    quarantined = rows(settings, "select regexp_extract(file_path, '\\d{8}'), row_number, reason "
                                 "from raw.quarantine")
    assert {(d, r): reason for d, r, reason in quarantined} == expected_bad
    assert len(quarantined) == len(expected_bad)


def test_ndjson_row_numbers_hold_in_a_file_read_in_parallel(tmp_path_factory):
    """Lines are read on two threads, several of the reader's 8 MB scan units: each loaded
    event keeps its own line's number and the bad lines, wherever they fall, theirs."""
    settings = Settings(home=tmp_path_factory.mktemp("h"), duckdb_memory_limit="1GB",
                        duckdb_threads=2)
    n = 90_000
    bad_rows = set(random.Random(11).sample(range(1, n + 1), 200))
    lines = ['{"event_date": "2026' if i in bad_rows else ga4_event(i)
             for i in range(1, n + 1)]
    path = write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson",
                         "\n".join(lines))
    assert path.stat().st_size > 2.5 * 8 * 2**20
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    out_of_place = ("select count(*) from raw.ga4__events "
                    "where _row <> event_timestamp - 1761696000000000")
    assert rows(settings, out_of_place) == [(0,)]
    assert rows(settings, "select count(*) from raw.ga4__events") == [(n - len(bad_rows),)]
    quarantined = rows(settings, "select row_number from raw.quarantine order by 1")
    assert [r for (r,) in quarantined] == sorted(bad_rows)


def test_a_line_longer_than_the_fast_read_allows_is_read_whole(settings):
    """Where the line limit allows them (MARKETING_MAX_LINE_BYTES), lines over the first read's
    2 MB send the file to the 64 MB read, not to an error."""
    from dataclasses import replace

    settings = replace(settings, max_line_bytes=64 << 20)
    long_page = "https://shop.example/p?" + "x" * (3 << 20)
    lines = [ga4_event(1), ga4_event(2, page_location=long_page), ga4_event(3)]
    write_landing(settings, "ga4", "2026-10-30", "events_20261029.ndjson", "\n".join(lines))
    ingest_source(settings, "ga4", "r1", date(2026, 10, 31))
    assert rows(settings, "select _row, length(page_location ->> '$') from raw.ga4__events "
                          "order by _row") == [(1, None), (2, len(long_page)), (3, None)]
