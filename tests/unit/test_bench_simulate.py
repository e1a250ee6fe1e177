"""`bench.simulate` times a world it then deletes, and counts what it wrote."""

from __future__ import annotations

from pathlib import Path

from bench.simulate import NOT_ROWS, run


def test_simulator_benchmark_counts_rows_and_leaves_no_world_behind(tmp_path: Path):
    result = run("xs", seed=7, history_days=30, where=tmp_path)
    assert list(tmp_path.iterdir()) == []
    counts = result["counts"]
    status_files = ("subscribed", "unsubscribed", "cleaned", "nonsubscribed")
    assert counts["mailchimp_members"] == sum(counts[f"mailchimp_{s}"] for s in status_files)
    files = [k for k in counts if not k.startswith("truth_") and k not in NOT_ROWS]
    assert result["rows"] == sum(counts[k] for k in files)
    assert counts["truth_customers"] == result["people"] == 1000
    assert result["rows"] > counts["orders"] > 0
    assert result["landing_gb"] > 0
    assert result["rows_per_second"] == result["rows"] / result["seconds"]
