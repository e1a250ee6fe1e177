"""The DAG folder parses without touching a database, and each DAG follows the house rules."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.config import REPO_ROOT

PROBE = """
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "tags": sorted(dag.tags), "doc": bool(dag.doc_md), "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tasks": {t.task_id: {"retries": t.retries, "pool": t.pool,
                              "outlets": [o.name for o in t.outlets]} for t in dag.tasks},
    }
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags}))
"""


def parse_dags() -> dict:
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW_CONFIG": str(REPO_ROOT / "airflow.cfg"),
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////nonexistent/never-opened.db"}
        proc = subprocess.run([sys.executable, "-c", PROBE, str(REPO_ROOT / "dags")], env=env,
                              capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_dag_folder_parses_and_marketing_daily_follows_the_rules():
    parsed = parse_dags()
    assert parsed["errors"] == {}
    dag = parsed["dags"]["marketing_daily"]
    assert dag["tags"] and dag["doc"] and dag["catchup"] is False and dag["max_active_runs"] == 1
    tasks = dag["tasks"]
    assert {"ingest_shop", "ingest_mailchimp", "transform", "score_churn", "find_personas",
            "optimise_ads", "run_experiments", "personalize", "generate_content",
            "transform_reports", "audit", "publish", "export", "report"} <= set(tasks)
    # Every task that touches DuckDB holds the one writer slot; the sensor that waits for the
    # day's exports reads only the landing folder and must not block a writer while it waits.
    assert tasks["exports_arrived"]["pool"] == "default_pool"
    assert all(t["pool"] == "duckdb_writer" for n, t in tasks.items() if n != "exports_arrived")
    assert all(t["retries"] >= 1 for name, t in tasks.items() if name != "audit")
    assert [n for n, t in tasks.items() if t["outlets"]] == ["publish"]
    assert tasks["publish"]["outlets"] == ["marketing_published"]
