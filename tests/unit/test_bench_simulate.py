"""`bench.simulate` times a world it then deletes, and counts what it wrote; the bench's
worlds have identity noise when asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import bench
from bench import (
    IDENTITY_NOISE_ENV,
    identity_noise_asked,
    mark_world_complete,
    world_is_current,
)
from bench.simulate import NOT_ROWS, run
from pipelines.config import REPO_ROOT, Settings


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


def test_a_world_with_identity_noise_is_timed_as_asked(tmp_path: Path):
    result = run("xs", seed=7, history_days=30, where=tmp_path, identity_noise=True)
    assert result["identity_noise"] is True
    assert result["counts"]["truth_identity_variations"] > 0
    assert "truth_identity_variations" not in run("xs", seed=7, history_days=30,
                                                  where=tmp_path)["counts"]  # fmt: skip


def test_bench_worlds_have_identity_noise_when_asked(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    import bench.__main__ as bench_main
    import simulator

    asked: list[bool] = []

    def fake(settings: Settings, **kwargs: object) -> dict[str, int]:
        asked.append(bool(kwargs["identity_noise"]))
        settings.home.mkdir(parents=True)
        return {}

    monkeypatch.setattr(simulator, "simulate", fake)
    monkeypatch.setattr(bench_main, "REPO_ROOT", tmp_path)
    monkeypatch.delenv(IDENTITY_NOISE_ENV, raising=False)
    assert bench_main.world("xs", 3).name == "xs-seed3" and asked == [False]
    monkeypatch.setenv(IDENTITY_NOISE_ENV, "1")
    assert identity_noise_asked()
    assert bench_main.world("xs", 3).name == "xs-seed3-noisy" and asked == [False, True]
    # Each is cached apart: asking again simulates nothing.
    assert bench_main.world("xs", 3, identity_noise=False).name == "xs-seed3"
    assert bench_main.world("xs", 3).name == "xs-seed3-noisy" and asked == [False, True]


def test_a_cached_world_counts_only_while_the_simulator_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "world").mkdir()
    assert not world_is_current(tmp_path)
    (tmp_path / "world" / ".complete").touch()  # a world cached before worlds were marked
    assert not world_is_current(tmp_path)
    mark_world_complete(tmp_path)
    assert world_is_current(tmp_path)
    source = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "simulator", source / "simulator",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(bench, "REPO_ROOT", source)
    assert world_is_current(tmp_path)  # the same source, wherever it lies
    with (source / "simulator" / "population.py").open("a") as f:
        f.write("\n# a changed rule\n")
    assert not world_is_current(tmp_path)
