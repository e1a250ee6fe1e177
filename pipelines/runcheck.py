"""Whether a run of the daily DAG did what a run is for: ran its tasks, loaded the export files
waiting for it, and published. The CLI asks after every run, so that it never says "done" for
a run that did nothing.

Airflow alone cannot tell: it marks a run successful when it created no task at all (a logical
date before the DAG's start date), and a run whose ingest matched no file still succeeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.airflow_env import TaskState
from pipelines.config import Settings

log = logging.getLogger(__name__)

# How many waiting files a message names before it says "and N more".
SHOWN = 3


@dataclass
class RunCheck:
    """What the run did, and what is wrong with it (`errors` empty: the run did its job)."""

    tasks: int = 0
    files_loaded: int = 0
    rows_loaded: int = 0
    published: bool = False
    # The publication that stands instead of this run's: nothing was new ("unchanged"), or the
    # run's day is older than the published one ("older": only its exports were published).
    stands: str | None = None
    stands_because: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def landing_dates(settings: Settings) -> list[date]:
    """The export dates of the landing folder's dated folders (`<source>/<YYYY-MM-DD>/`).

    A folder whose name is no real date (`2026-02-30`, `not-a-date`) gives none: its files are
    skipped, and `waiting_files` names them with why.
    """
    from pipelines.ingest.landing import dated_folders

    return sorted(set(dated_folders(settings.landing_dir).values()))


def future_folders(settings: Settings, today: date) -> list[Path]:
    """Export folders dated after `today`: a name that is likely a typo, never a run date
    unless asked for."""
    from pipelines.ingest.landing import dated_folders

    return [folder for folder, when in dated_folders(settings.landing_dir).items()
            if when > today]


def check_date(settings: Settings, day: date, allow_future: bool = False,
               today: date | None = None) -> None:
    """Refuse, in one sentence, a day the landing folder holds nothing for: no export files
    dated that day or before, or a day after the newest export; and a day after `today`
    (default: the machine's date) unless `allow_future`."""
    from pipelines.ingest.run import discover
    from pipelines.ingest.sources import source_names

    dates = landing_dates(settings)
    if dates and day > max(dates):
        raise ValueError(
            f"no exports for {day}: the newest export folder under {settings.landing_dir} is "
            f"{max(dates)}; run for that date, or add {day}'s exports first"
        )
    today = today or date.today()
    if day > today and not allow_future:
        future = [f for f in future_folders(settings, today)
                  if (landing_date := _folder_day(f)) is not None and landing_date <= day]
        raise ValueError(future_message(future[-1] if future else None, day, today))
    if not any(discover(settings, source, day) for source in source_names()):
        raise ValueError(
            f"no export files dated {day} or earlier under {settings.landing_dir}: nothing to "
            "run on; put exports in landing/<source>/<YYYY-MM-DD>/ (see the README)"
        )
    loaded = newest_loaded_date(settings)
    if loaded and day < loaded:
        raise ValueError(
            f"{day} is before {loaded}, whose exports the warehouse already holds: the "
            "customer view keeps no history of earlier days, so a run for an earlier day "
            "would mix in later data; run it in a fresh data folder (MARKETING_HOME) instead"
        )


def _folder_day(folder: Path) -> date | None:
    from pipelines.ingest.landing import folder_date

    when = folder_date(folder.name)
    return when if isinstance(when, date) else None


def future_message(folder: Path | None, day: date, today: date) -> str:
    """Why a day after today is not run, in one sentence naming the folder dated then."""
    what = f"{folder} is dated" if folder else f"{day} is"
    return (f"{what} after today ({today}); a folder's name is its export date, so rename it, "
            f"run an earlier day with --date, or pass --allow-future to run for {day}")


def newest_loaded_date(settings: Settings) -> date | None:
    """The newest export folder date among the files the warehouse has loaded."""
    import duckdb

    from pipelines.ingest.landing import export_date_of

    if not settings.work_db.exists():
        return None
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        if not _has_table(con, "loads"):
            return None
        paths = [p for (p,) in con.execute(
            "select distinct file_path from audit.loads where status in ('loaded', 'empty')"
        ).fetchall()]
    finally:
        con.close()
    dates = [when for path in paths if (when := export_date_of(path))]
    return max(dates) if dates else None


def waiting_files(settings: Settings, day: date) -> list[tuple[Path, str]]:
    """Landing files up to `day` that are not loaded, each with why: a name that matches no
    export of its source, a rejection in the ledger, or never seen by ingest. A file whose
    bytes were loaded under another name is not waiting."""
    from pipelines.ingest import ledger
    from pipelines.ingest.files import inspect_file
    from pipelines.ingest.landing import scan
    from pipelines.ingest.run import discover
    from pipelines.ingest.sources import source_names, spec_for
    from pipelines.warehouse import work_connection

    candidates = {s: discover(settings, s, day) for s in source_names()}
    waiting: list[tuple[Path, str]] = []
    for source in source_names():
        for folder, why in scan(settings.landing_dir, source).skipped.items():
            waiting.extend((path, f"its folder {folder.name} is skipped: {why}")
                           for path in sorted(folder.rglob("*"))
                           if path.is_file() and not path.name.startswith("."))
    if not any(candidates.values()):
        return waiting
    with work_connection(settings) as con:
        ledger.ensure_ledger(con)
        for source, paths in candidates.items():
            done_paths = {
                p for (p,) in con.execute(
                    "select distinct file_path from audit.loads where source = ? and status in "
                    "(?, ?)", [source, *ledger.DONE_STATUSES]).fetchall()
            }
            rejected = dict(con.execute(
                "select file_path, arg_max(message, loaded_at) from audit.loads "
                "where source = ? and status = 'rejected' group by file_path", [source]
            ).fetchall())
            done_hashes = ledger.loaded_hashes(con, source)
            for path in paths:
                if str(path) in done_paths:
                    continue
                spec = spec_for(source, path.name)
                if spec is None:
                    waiting.append((path, f"its name matches no {source} export"))
                elif str(path) in rejected:
                    waiting.append((path, f"rejected: {rejected[str(path)]}"))
                elif inspect_file(path, spec.format_of(path.name)).sha256 not in done_hashes:
                    waiting.append((path, "not loaded"))
    return waiting


def check_run(settings: Settings, day: date, run_id: str | None,
              states: list[TaskState]) -> RunCheck:
    """What the run for `day` did, from its task states, the load ledger and the published
    file; `errors` says, a sentence each, why it does not count as done."""
    from pipelines.warehouse import connect, work_connection

    check = RunCheck(tasks=len(states))
    if not states:
        check.errors.append(
            f"Airflow ran no task for {day}: the DAG created no task instance for that date "
            "(its start date or schedule excludes it), so nothing was loaded or published"
        )
        return check
    failed = [f"{s.task_id} ({s.state or 'not run'})" for s in states if s.state != "success"]
    if failed:
        check.errors.append(f"tasks that did not succeed for {day}: {', '.join(failed)}")
    if run_id and settings.work_db.exists():
        with work_connection(settings) as con:
            rows = con.execute(
                "select count(*), coalesce(sum(rows_loaded), 0) from audit.loads "
                "where run_id = ? and status = 'loaded'", [run_id]
            ).fetchall() if _has_table(con, "loads") else [(0, 0)]
        check.files_loaded, check.rows_loaded = int(rows[0][0]), int(rows[0][1])
    waiting = waiting_files(settings, day) if settings.work_db.exists() else []
    if waiting:
        named = "; ".join(f"{path} ({why})" for path, why in waiting[:SHOWN])
        more = f"; and {len(waiting) - SHOWN} more" if len(waiting) > SHOWN else ""
        files = "1 export file is waiting and was" if len(waiting) == 1 else (
            f"{len(waiting)} export files are waiting and were")
        message = f"{files} not loaded: {named}{more}"
        if check.files_loaded == 0:
            check.errors.append(f"the run for {day} loaded nothing although {message}")
        else:
            check.warnings.append(message)
    if run_id and settings.published_db.exists():
        con = connect(settings, path=settings.published_db, read_only=True)
        try:
            check.published = bool(con.execute(
                "select count(*) from meta.runs where run_id = ?", [run_id]).fetchall()[0][0])
        finally:
            con.close()
    if run_id and not check.published and settings.work_db.exists():
        with work_connection(settings) as con:
            same = con.execute(
                "select same_as, outcome from audit.publications where run_id = ? and outcome "
                "in ('unchanged', 'older')", [run_id]).fetchall() if _has_table(
                    con, "publications") else []
        if same:
            check.stands, check.stands_because = same[0]
    if not check.published and not check.stands and not failed:
        check.errors.append(
            f"the run for {day} published nothing: {settings.published_db} has no record of "
            f"run {run_id or '(unknown)'}"
        )
    return check


def _has_table(con, name: str) -> bool:
    """Whether the work file has `audit.<name>` (a new data folder may not yet)."""
    return bool(con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'audit' and table_name = ?", [name]
    ).fetchall()[0][0])
