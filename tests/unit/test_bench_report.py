"""The report benchmark's table: the figures it measured and a plain verdict on each target."""

from __future__ import annotations

from pathlib import Path

from bench.report import folder_bytes, markdown


def result(**changes) -> dict:
    base = {
        "scale": "m", "people": 100_000, "commit": "abc1234", "machine": "x86_64, 2 cores",
        "browser": "Chromium 140.0", "report_bytes": 1_234_567,
        "report_render_ms": [410.0, 380.0, 395.0, 1200.0, 390.0],
        "report_render_ms_median": 395.0, "report_seconds": 12.3,
        "quality_index_bytes": 9_000, "quality_render_ms": [50.0] * 5,
        "quality_render_ms_median": 50.0, "quality_pages": 41,
        "quality_folder_bytes": 2_500_000,
    }
    return base | changes


def test_the_table_gives_bytes_median_every_load_and_the_verdicts():
    table = markdown(result())
    assert "| report `index.html` | 1,234,567 | 395 | 410, 380, 395, 1200, 390 |" in table
    assert "under 2 MB, under 2 s; built in 12.3 s" in table
    assert "| quality `index.html` | 9,000 | 50 |" in table
    assert "41 suite pages, folder 2,500,000 bytes" in table
    assert "median of 5 loads" in table


def test_a_page_over_a_target_says_so():
    table = markdown(result(report_bytes=2_000_001, report_render_ms_median=2_000.0))
    assert "OVER 2 MB, OVER 2 s" in table


def test_folder_bytes_counts_every_file_below(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"12345")
    (tmp_path / "y").write_bytes(b"123")
    assert folder_bytes(tmp_path) == 8
