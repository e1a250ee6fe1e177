"""What `marketing run` shows while Airflow runs the DAG: one line per step with what it did and
how long it took, the error of a step that failed, and a spinner while a long step works.

Airflow's own output (about a thousand lines a run, mostly its internals) goes whole to a log
file; `-v` shows it on the console as well. The lines are read as `airflow dags test` prints
them: a task starts (`[DAG TEST] starting task_id=...`), returns its summary (`Done. Returned
value was: {...}`), fails (`Task failed with exception` and the traceback) and ends
(`[DAG TEST] end task task_id=...`).
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

STARTED = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
ENDED = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
RETURNED = re.compile(r"Done\. Returned value was: (.*?) \[airflow\.")
FAILED = "Task failed with exception"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
WIDTH = 110


@dataclass
class StepLine:
    """One step as the console shows it."""

    task_id: str
    seconds: float
    headline: str
    ok: bool

    def render(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.task_id:<18} {self.seconds:6.1f} s  {self.headline}"
        # An error is shown whole: it is what the user reads to act.
        return text if len(text) <= WIDTH or not self.ok else text[: WIDTH - 3] + "..."


def headline(task_id: str, summary: object) -> str:
    """A step's summary (the dict it returned) in a few words, and what it lacked (its
    summary's `lacks`: the first missing input, and how many more)."""
    text = _headline(task_id, summary)
    if isinstance(summary, dict) and summary.get("reused"):  # pipelines/reuse.py
        text = f"inputs unchanged, kept run {summary['reused']}'s: {text}"
    lacks = summary.get("lacks") if isinstance(summary, dict) else None
    if lacks:
        more = f" and {len(lacks) - 1} more" if len(lacks) > 1 else ""
        text += f"; lacks: {lacks[0].split(':')[0]}{more}"
    return text


def _headline(task_id: str, summary: object) -> str:
    if task_id == "exports_arrived":
        # A sensor returns no value; it ends only once the exports have arrived.
        return "the day's exports are in the landing folder"
    if not isinstance(summary, dict):
        return ""
    if "summary" in summary:  # ingest: "orders: 1 files loaded (9 rows, 0 quarantined), ..."
        text = re.sub(r",? 0 [a-z ]+(?=[,)]|$)", "", str(summary["summary"]).split(": ", 1)[-1])
        if text.startswith("0 files loaded (0 rows), "):
            return f"no new files ({text.removeprefix('0 files loaded (0 rows), ')})"
        return text
    if "status" in summary:  # dbt
        counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["status"].items()))
        return f"dbt: {counts}"
    if "model" in summary:
        return _model_headline(summary)
    if "experiments" in summary and "assigned" in summary:
        if summary.get("note"):
            return str(summary["note"])
        return (f"{len(summary['experiments'])} experiments: {summary['assigned']:,} people "
                f"assigned, {summary['left']:,} left")
    if "kept_by_format" in summary:  # generate_content
        dropped = sum(summary.get("dropped_by_reason", {}).values())
        return (f"{summary['lines']:,} lines for {summary['personas']} personas, "
                f"{dropped:,} dropped by the checks")
    if "recommend" in summary:  # personalize: one clause per part
        reco = summary["recommend"]
        return reco.get("note") or (
            f"{reco['rows']:,} recommendations for {reco['customers']:,} people "
            f"({reco['restock']:,} due to restock)")
    if "k" in summary and "customers" in summary:
        return f"{summary['k']} personas over {summary['customers']:,} customers"
    if "files" in summary and isinstance(summary["files"], list):
        return f"{len(summary['files'])} export files staged"
    if "tables" in summary and "evaluated" in summary:
        warned = summary.get("failed_warnings") or 0
        tables = summary["tables"]
        count = len(tables) if isinstance(tables, list | dict) else tables
        kept = summary.get("kept") or 0
        return (f"{count} tables and files checked, {summary['evaluated']} checks"
                + (f", {warned} warnings" if warned else "")
                + (f" ({kept} unchanged since the last audit)" if kept else ""))
    if "older_than" in summary:
        return f"exports published; the warehouse keeps the newer run {summary['older_than']}"
    if "unchanged_since" in summary:
        return f"nothing new: the publication of run {summary['unchanged_since']} stands"
    if "row_counts" in summary:
        return f"{len(summary['row_counts'])} tables published"
    if "path" in summary:
        return str(summary["path"])
    return ", ".join(f"{k}={v}" for k, v in summary.items() if k != "lacks")


def _model_headline(summary: dict) -> str:
    figures = [f"{summary.get('scored', summary.get('rows', 0)):,} rows by {summary['version']}"]
    for metric in ("auc", "spearman", "wape"):
        if summary.get(metric) is not None:
            baseline = summary.get("baseline")
            vs = f" (baseline {baseline:.3f})" if isinstance(baseline, float) else ""
            figures.append(f"{metric} {summary[metric]:.3f}{vs}")
    return "; ".join(figures)


@dataclass
class Progress:
    """Follows `airflow dags test`'s lines and reports each finished step to `emit`."""

    emit: Callable[[str], None]
    now: Callable[[], float] = time.monotonic
    current: str | None = None
    started: float = 0.0
    summary: object = None
    error: list[str] = field(default_factory=list)
    in_traceback: bool = False
    steps: list[StepLine] = field(default_factory=list)

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        if self.in_traceback:
            if LOG_LINE.match(line):
                self.in_traceback = False
            else:
                self.error.append(line)
                return
        if match := STARTED.search(line):
            self.current, self.started = match.group(1), self.now()
            self.summary, self.error = None, []
        elif match := RETURNED.search(line):
            try:
                self.summary = ast.literal_eval(match.group(1))
            except (ValueError, SyntaxError):
                self.summary = None
        elif FAILED in line:
            self.in_traceback, self.error = True, []
        elif (match := ENDED.search(line)) and match.group(1) == self.current:
            failed = bool(self.error)
            text = _exception_message(self.error) if failed else headline(self.current,
                                                                          self.summary)
            step = StepLine(self.current, self.now() - self.started, text, not failed)
            self.steps.append(step)
            self.emit(step.render())
            self.current = None


def _exception_message(lines: list[str]) -> str:
    """The exception's message: the lines after the traceback's last frame, without the
    exception's class path, on one line."""
    tail: list[str] = []
    for line in reversed(lines):
        if line.startswith((" ", "Traceback", "The above exception")) or not line.strip():
            if tail:
                break
            continue
        tail.insert(0, line.strip())
    message = " ".join(tail)
    # "airflow.sdk.exceptions.AirflowFailException: transform: dbt ..." -> "transform: dbt ..."
    return re.sub(r"^[\w.]+(Error|Exception): ", "", message)
