"""The orchestration bench's split of a run's wall time (bench/orchestration.py)."""

from __future__ import annotations

import pytest

from bench.orchestration import Overhead, split, step_seconds, table
from pipelines.console import StepLine

CONSOLE = "\n".join([
    "running DAG marketing_daily for 2026-11-01 (Airflow's full log: /x.log)",
    StepLine("exports_arrived", 4.2, "the day's exports are in the landing folder", True).render(),
    StepLine("transform", 30.0, "dbt: 336 pass, 68 success", True).render(),
    StepLine("score_churn", 6.5, "11,539 rows", True).render(),
    StepLine("transform_reports", 10.0, "dbt: 40 success", True).render(),
    "",
    "marketing_daily 2026-11-01: done; 4 tasks succeeded, ...",
])  # fmt: skip


def test_the_step_lines_the_console_prints_are_read_back():
    assert step_seconds(CONSOLE) == {"exports_arrived": 4.2, "transform": 30.0,
                                     "score_churn": 6.5, "transform_reports": 10.0}


def test_the_wall_time_splits_into_orchestration_and_work():
    got = split(60.0, step_seconds(CONSOLE), {"transform": 22.0, "transform_reports": 7.5},
                imports=3.0)
    # 60 - 50.7 outside the tasks; (30 - 22) + (10 - 7.5) in dbt's overhead.
    assert got.outside_tasks == pytest.approx(9.3)
    assert got.dbt_overhead == pytest.approx(10.5)
    assert got.orchestration == pytest.approx(22.8)
    assert got.work == pytest.approx(37.2)
    assert "| **orchestration** | 22.8 | 38.0% |" in table(got, "s", "abc1234")


def test_a_dbt_step_the_console_did_not_show_is_an_error_not_a_zero():
    with pytest.raises(ValueError, match="transform_reports"):
        split(60.0, {"transform": 30.0}, {"transform": 22.0, "transform_reports": 7.5}, 3.0)


def test_the_parts_add_up_to_the_wall_time():
    o = Overhead(wall=100.0, outside_tasks=10.0, dbt_overhead=5.0, imports=2.0)
    assert o.orchestration + o.work == pytest.approx(o.wall)


def test_run_results_of_a_build_the_run_kept_are_refused():
    # The transform step took 1.6 s (kept): the 22 s of nodes are an earlier run's.
    with pytest.raises(ValueError, match="transform"):
        split(60.0, {"transform": 1.6, "transform_reports": 10.0},
              {"transform": 22.0, "transform_reports": 7.5}, 3.0)
