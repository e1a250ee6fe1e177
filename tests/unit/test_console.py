"""The console of `marketing run`: one line per step from Airflow's output, and a failed step's
message instead of its traceback."""

from __future__ import annotations

import itertools

from pipelines.console import Progress, headline

TS = "2026-12-05T21:29:41.{:06d}Z [info     ] "


def _clock():
    ticks = itertools.count(0.0, 1.5)
    return lambda: next(ticks)


def _run(lines: list[str]) -> tuple[Progress, list[str]]:
    shown: list[str] = []
    progress = Progress(emit=shown.append, now=_clock())
    for line in lines:
        progress.feed(line + "\n")
    return progress, shown


def test_a_successful_step_is_one_line_with_its_summary_and_time():
    progress, shown = _run([
        TS.format(1) + "[DAG TEST] starting task_id=ingest_orders map_index=-1 [airflow.sdk]",
        TS.format(2) + "Task instance state updated [airflow.api_fastapi]",
        TS.format(3) + "Done. Returned value was: {'summary': 'orders: 1 files loaded (417534 "
        "rows, 0 quarantined), 0 already loaded, 0 empty, 0 rejected', 'files': 1} "
        "[airflow.task.operators.airflow.providers.standard.decorators.python._PythonDecor]",
        TS.format(4) + "[DAG TEST] end task task_id=ingest_orders map_index=-1 [airflow.sdk]",
    ])
    assert shown == ["ok   ingest_orders         1.5 s  1 files loaded (417534 rows)"]
    assert progress.current is None and progress.steps[0].ok


def test_a_failed_step_shows_the_error_message_not_the_traceback():
    _, shown = _run([
        TS.format(1) + "[DAG TEST] starting task_id=transform map_index=-1 [airflow.sdk]",
        TS.format(2) + "Task failed with exception     [task] loc=task_runner.py:1676",
        "Traceback (most recent call last):",
        '  File "/x/pipelines/transform.py", line 92, in run_dbt',
        "    raise TransformError(...)",
        "pipelines.transform.TransformError: dbt build failed (exit 1):",
        "test.marketing.non_negative_line_amount: fail: Got 9816 results",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/x/dags/marketing_daily.py", line 60, in _run',
        "airflow.sdk.exceptions.AirflowFailException: transform: dbt build failed (exit 1):",
        "test.marketing.non_negative_line_amount: fail: Got 9816 results",
        TS.format(3) + "::group::Post Execute [task]",
        TS.format(4) + "[DAG TEST] end task task_id=transform map_index=-1 [airflow.sdk]",
    ])
    assert shown == ["FAIL transform             1.5 s  transform: dbt build failed (exit 1): "
                     "test.marketing.non_negative_line_amount: fail: Got 9816 results"]


def test_headlines_of_each_kind_of_step():
    assert headline("ingest_shop", {"summary": "shop: 2 files loaded (10 rows, 3 quarantined), "
                                               "1 already loaded, 0 empty, 0 rejected"}) == (
        "2 files loaded (10 rows, 3 quarantined), 1 already loaded")
    assert headline("ingest_ga4", {"summary": "ga4: no new files"}) == "no new files"
    assert headline("ingest_ga4", {"summary": "ga4: 0 files loaded (0 rows, 0 quarantined), "
                                              "25 already loaded, 0 empty, 0 rejected"}) == (
        "no new files (25 already loaded)")
    assert headline("audit", {"tables": ["marts.a", "exports/x.csv"], "evaluated": 40,
                              "failed_warnings": 1}) == (
        "2 tables and files checked, 40 checks, 1 warnings")
    assert headline("audit", {"tables": ["marts.a", "exports/x.csv"], "evaluated": 40,
                              "failed_warnings": 0, "kept": 1}) == (
        "2 tables and files checked, 40 checks (1 unchanged since the last audit)")
    assert headline("transform", {"status": {"pass": 170, "success": 40}}) == (
        "dbt: 170 pass, 40 success")
    assert headline("score_churn", {"model": "churn", "version": "abc", "scored": 1200,
                                    "auc": 0.81234, "baseline": 0.77}) == (
        "1,200 rows by abc; auc 0.812 (baseline 0.770)")
    assert headline("find_personas", {"k": 5, "customers": 4312}) == (
        "5 personas over 4,312 customers")
    assert headline("exports_arrived", True) == "the day's exports are in the landing folder"
    assert headline("run_experiments", {"experiments": {"a__h10": {}, "b__h10": {}},
                                        "assigned": 1200, "left": 3}) == (
        "2 experiments: 1,200 people assigned, 3 left")
    assert headline("run_experiments", {"experiments": {}, "assigned": 0, "left": 0,
                                        "note": "no audience has a holdout"}) == (
        "no audience has a holdout")


def test_a_step_that_lacked_an_input_says_which():
    assert headline("forecast_units", {
        "model": "forecast_units", "version": "recent_mean", "rows": 8, "wape": 0.181,
        "baseline": 0.304, "lacks": ["the orders carry no product ids: units are forecast "
                                          "for the shop's total, not per product"],
    }) == ("8 rows by recent_mean; wape 0.181 (baseline 0.304); "
           "lacks: the orders carry no product ids")
    assert headline("score_lead", {"model": "lead", "version": "click_level_rate", "scored": 0,
                                   "lacks": ["no CRM contacts (HubSpot): no lead scores",
                                             "no web analytics (GA4): no features"]}) == (
        "0 rows by click_level_rate; lacks: no CRM contacts (HubSpot) and 1 more")
    assert headline("transform", {"status": {"pass": 1}, "lacks": []}) == "dbt: 1 pass"
    assert headline("transform", {"status": {"pass": 1}, "reused": "r1", "lacks": []}) == (
        "inputs unchanged, kept run r1's: dbt: 1 pass")
    assert headline("find_personas", {"k": 4, "customers": 900, "reused": "r1"}) == (
        "inputs unchanged, kept run r1's: 4 personas over 900 customers")


def test_a_long_line_is_cut_to_the_console_width():
    _, shown = _run([
        TS.format(1) + "[DAG TEST] starting task_id=report map_index=-1 [airflow.sdk]",
        TS.format(2) + "Done. Returned value was: {'path': '" + "x" * 300 + "'} [airflow.task]",
        TS.format(3) + "[DAG TEST] end task task_id=report map_index=-1 [airflow.sdk]",
    ])
    assert len(shown[0]) == 110 and shown[0].endswith("...")
