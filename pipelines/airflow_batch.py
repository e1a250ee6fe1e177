"""Several Airflow CLI commands in one process: `python -m pipelines.airflow_batch`.

Each `airflow` command pays Airflow's start-up (its imports and configuration, about 4 s on two
busy cores) before doing a few milliseconds of work; `marketing run` needs four of them around
every DAG run. Here they run one after the other through Airflow's own command-line parser, as
`airflow` itself runs one, so the start-up is paid once. Reads a JSON request on stdin, writes
one JSON line on stdout after the marker line:
- `{"commands": [[...argv...], ...]}`: each command's standard output, in order;
- `{"task_states": "<dag_id>", "date": "YYYY-MM-DD"}`: the run id of the DAG's newest run for
  that logical date and its task instances' states (`airflow dags list-runs`, then
  `airflow tasks states-for-dag-run` for that run).
A failing command ends the process with its error on stderr and exit code 1.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from typing import Any

MARKER = "--- airflow_batch result ---"


def _runner() -> Any:
    from airflow.cli import cli_parser
    from airflow.cli.utils import redirect_stdout_log_handlers_to_stderr
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()

    def run(argv: list[str]) -> str:
        out = io.StringIO()
        args = parser.parse_args(argv)
        if hasattr(args, "output"):  # as `airflow` does: log lines never mix into the JSON
            redirect_stdout_log_handlers_to_stderr()
        with redirect_stdout(out):
            args.func(args)
        return out.getvalue()

    return run


def json_rows(out: str) -> list[dict]:
    """The JSON list Airflow's `--output json` prints, past any log lines before it."""
    for line in reversed(out.strip().splitlines()):
        if line.startswith("["):
            return json.loads(line)
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


def task_states(run: Any, dag_id: str, day: str) -> dict[str, Any]:
    runs = [r for r in json_rows(run(["dags", "list-runs", dag_id, "--output", "json"]))
            if str(r.get("logical_date", "")).startswith(day)]
    if not runs:
        return {"run_id": None, "states": []}
    run_id = max(runs, key=lambda r: str(r.get("run_after") or ""))["run_id"]
    rows = json_rows(run(["tasks", "states-for-dag-run", dag_id, run_id, "--output", "json"]))
    return {"run_id": run_id,
            "states": [{"task_id": r["task_id"], "state": r.get("state")} for r in rows]}


def main() -> int:
    request = json.loads(sys.stdin.read())
    run = _runner()
    if "task_states" in request:
        result: Any = task_states(run, request["task_states"], request["date"])
    else:
        result = []
        for argv in request["commands"]:
            try:
                result.append(run(argv))
            except (Exception, SystemExit) as exc:
                print(f"airflow {' '.join(argv)} failed: {exc!r}", file=sys.stderr)
                return 1
    print(MARKER)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
