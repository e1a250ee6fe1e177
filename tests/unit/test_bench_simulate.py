"""`bench.simulate` times a world it then deletes, and counts what it wrote."""

from __future__ import annotations

from pathlib import Path

from bench.simulate import run


def test_simulator_benchmark_counts_rows_and_leaves_no_world_behind(tmp_path: Path):
    result = run("xs", seed=7, history_days=30, where=tmp_path)
    assert list(tmp_path.iterdir()) == []
    counts = result["counts"]
    assert result["rows"] == sum(v for k, v in counts.items() if not k.startswith("truth_"))
    assert counts["truth_customers"] == result["people"] == 1000
    assert result["rows"] > counts["orders"] > 0
    assert result["landing_gb"] > 0
    assert result["rows_per_second"] == result["rows"] / result["seconds"]
