"""`marketing status`: the last runs of the daily DAG, what each loaded and quarantined, and what
was published, from Airflow's metadata, the load ledger and the published file.

The work file has one writer at a time: while a run holds it, the status says so and shows what
the published file and Airflow know.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.config import Settings


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    logical_date: str
    state: str  # Airflow's: success, failed, running, queued
    files_loaded: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    outcome: str = ""  # published / unchanged since <run> / not published


def runs_status(settings: Settings, runs: list[dict]) -> tuple[list[RunStatus], list[str]]:
    """Each Airflow run (`dags list-runs` rows, newest first) with what it loaded and
    published; and notes (the work file busy, quarantine reasons of the newest run)."""
    notes: list[str] = []
    loads: dict[str, tuple[int, int, int]] = {}
    decided: dict[str, tuple[str, str | None]] = {}
    reasons: list[tuple[str, int]] = []
    try:
        con = duckdb.connect(str(settings.work_db), read_only=True)
    except duckdb.Error:
        con = None
        if settings.work_db.exists():
            notes.append(f"{settings.work_db} is held by a running step; loads not shown")
    if con is not None:
        try:
            tables = {t for (t,) in con.sql(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()}
            if "audit.loads" in tables:
                loads = {r: (f, lo, q) for r, f, lo, q in con.sql(
                    "select run_id, count(*) filter (where status = 'loaded'), "
                    "coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                    "from audit.loads group by run_id").fetchall()}
            if "audit.publications" in tables:
                decided = {r: (o, s) for r, o, s in con.sql(
                    "select run_id, outcome, same_as from audit.publications").fetchall()}
            if runs and "raw.quarantine" in tables:
                reasons = con.execute(
                    "select reason, count(*) from raw.quarantine where run_id = ? "
                    "group by 1 order by 2 desc limit 3", [runs[0]["run_id"]]).fetchall()
        finally:
            con.close()
    published = _published_runs(settings)
    # A run the ledger does not name loaded nothing, when the ledger could be read.
    nothing = (0, 0, 0) if con is not None else (None, None, None)
    rows = []
    for run in runs:
        run_id = run["run_id"]
        files, loaded, quarantined = loads.get(run_id, nothing)
        if run_id in published:
            outcome = "published"
        elif run_id in decided and decided[run_id][0] == "unchanged":
            outcome = f"nothing new (as {decided[run_id][1]})"
        elif run_id in decided and decided[run_id][0] == "older":
            outcome = f"exports only (newer day published by {decided[run_id][1]})"
        else:
            outcome = "not published"
        rows.append(RunStatus(run_id, str(run.get("logical_date", ""))[:10],
                              str(run.get("state") or ""), files, loaded, quarantined, outcome))
    if reasons:
        notes.append("quarantined in the newest run: " + "; ".join(
            f"{reason} ({n:,})" for reason, n in reasons)
            + f" (rows in {settings.work_db}, raw.quarantine)")
    return rows, notes


def _published_runs(settings: Settings) -> set[str]:
    if not settings.published_db.exists():
        return set()
    from pipelines.warehouse import published_run_ids

    return set(published_run_ids(settings))


def render(rows: list[RunStatus], notes: list[str], published_at: str | None) -> str:
    lines = [f"{'logical date':12}  {'state':8}  {'files':>5}  {'rows':>10}  "
             f"{'quarantined':>11}  outcome  (run id)"]
    for r in rows:
        def num(value: int | None) -> str:
            return "-" if value is None else f"{value:,}"
        lines.append(f"{r.logical_date:12}  {r.state:8}  {num(r.files_loaded):>5}  "
                     f"{num(r.rows_loaded):>10}  {num(r.rows_quarantined):>11}  {r.outcome}  "
                     f"({r.run_id})")
    if not rows:
        lines.append("no runs yet")
    lines += notes
    lines.append(published_at or "nothing published yet")
    return "\n".join(lines)
