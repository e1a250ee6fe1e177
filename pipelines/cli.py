"""`marketing`: the command line of the product.

marketing simulate [--scale xs] [--seed 42]    make a synthetic shop in the landing folder
                                                (--identity-noise: a harder identity world)
marketing simulate --days N                     continue it by N days, a folder per day
marketing run [--date D] [--wait]               run the daily DAG through Airflow for day D
                                                (one run per data folder; --wait queues)
marketing ingest --source shop --path FILE      load one of your own export files
marketing score | export | report [--date D]    run one step on its own (score: every model)
marketing export --audience A --platform P      export some audiences now, checked, into
                                                exports/on-demand/<date>/
marketing landing-date                          the newest export date in the landing folder
marketing airflow ARGS...                       any Airflow command in the project's Airflow
marketing backfill --start D1 --end D2 [--wait]  every day of a range, oldest first
marketing status                                the last runs: loaded, quarantined, published
marketing sql ["SELECT ..."]                    the DuckDB shell, read-only, on the published file
marketing docs [--serve]                        dbt docs of the warehouse (and serve them)
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from pipelines.config import SCALES, Settings
from pipelines.content.names import FORMATS, GOALS


def _latest_landing_date(settings: Settings) -> date | None:
    """The newest export folder's date; folders whose name is no date are named on stderr."""
    from pipelines.ingest.landing import skipped_folders
    from pipelines.runcheck import landing_dates

    for folder, why in skipped_folders(settings.landing_dir).items():
        print(f"{folder}: skipped, {why}; its files are not loaded", file=sys.stderr)
    dates = landing_dates(settings)
    return max(dates) if dates else None


def _day(text: str) -> date:
    """A `--date` argument: a real calendar date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a real date written YYYY-MM-DD") from None


def _run_date(settings: Settings, given: date | None, allow_future: bool = False) -> date:
    """The day to run: the one given, else the newest export folder's, which must not be
    after today unless `allow_future` (a folder misnamed 2099-01-01 never silently becomes
    the run date)."""
    from pipelines.runcheck import future_folders, future_message

    if given:
        return given
    latest = _latest_landing_date(settings)
    if latest is None:
        raise SystemExit(
            f"no dated export folders under {settings.landing_dir}; "
            "run `marketing simulate` or pass --date"
        )
    today = date.today()
    if latest > today and not allow_future:
        raise SystemExit("not run: " + future_message(
            future_folders(settings, today)[-1], latest, today))
    return latest


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here only: the simulator is a development tool that no pipeline run may load
    # (tests/unit/test_simulator_boundary.py).
    from simulator import continue_days, landing_is_empty, simulate, world_exists

    counts: dict[str, int] = {}
    if args.days is not None and world_exists(settings):
        pass  # continue the saved world below
    elif args.if_empty and not landing_is_empty(settings):
        print(f"landing folder {settings.landing_dir} already has files; not simulating")
        return 0
    else:
        counts = simulate(
            settings,
            scale=args.scale,
            seed=args.seed,
            orders_format=args.orders_format,
            history_days=args.history_days,
            personas=args.personas,
            identity_noise=args.identity_noise,
        )
        noise = ", identity noise" if args.identity_noise else ""
        print(
            f"simulated scale {args.scale} (seed {args.seed}, {args.orders_format} orders, "
            f"{args.personas} personas{noise}) into {settings.landing_dir}"
        )
        _print_counts(counts)
    if args.days:
        try:
            counts = continue_days(settings, args.days)
        except ValueError as exc:
            print(f"cannot continue: {exc}", file=sys.stderr)
            return 1
        print(f"continued the world by {args.days} days into {settings.landing_dir}")
        _print_counts(counts)
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    for name, n in counts.items():
        print(f"  {name}: {n:,}")


def _lock(settings: Settings, command: str, day: object, wait: bool):
    """The data folder's run lock for `marketing <command>` on `day`, or None after saying in
    one sentence which run holds it (see pipelines/runlock.py)."""
    from pipelines.runlock import RunLock, RunLockedError

    lock = RunLock(settings.home)
    try:
        stale = lock.acquire(
            command, str(day), wait=wait,
            on_wait=lambda held: print(f"waiting for {held} to end", file=sys.stderr,
                                       flush=True))
    except RunLockedError as exc:
        print(f"not run: {exc}", file=sys.stderr)
        return None
    if stale:
        print(f"note: {stale.describe()} ended without releasing the data folder (killed?); "
              "this run takes it over", file=sys.stderr)
    return lock


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines import airflow_env, daily, runcheck

    day = _run_date(settings, args.date, args.allow_future)
    lock = _lock(settings, "run", day, args.wait)
    if lock is None:
        return 1
    with lock:
        # Checked under the lock: the check reads the work file, which a running run writes.
        try:
            runcheck.check_date(settings, day, allow_future=args.allow_future)
        except ValueError as exc:
            print(f"not run: {exc}", file=sys.stderr)
            return 1
        env = airflow_env.airflow_env()
        airflow_env.prepare(env)
        try:
            if not _run_day(settings, env, day, args.verbose, lock):
                return 1
        except airflow_env.RunInterrupted as stop:
            return _stopped(settings, day, stop)
    print("Outputs:")
    for name, where in daily.outputs(settings, day).items():
        print(f"  {name:28} {where}")
    print("\nQuery it: .venv/bin/marketing sql (the DuckDB shell, read-only), or read the "
          f"Parquet copies in {settings.warehouse_dir / 'parquet'}")
    return 0


def _stopped(settings: Settings, day: date, stop) -> int:
    """Say in one sentence that a signal stopped the run and what stands; the exit code a
    shell gives a process ended by that signal (128 + its number)."""
    from pipelines.alerts import kept

    print(f"\nthe run for {day} was {stop}: Airflow and every process it started were ended "
          f"before another step could begin; {kept(settings)}", file=sys.stderr, flush=True)
    return 128 + stop.signum


def _run_day(settings: Settings, env: dict[str, str], day: date, verbose: bool,
             lock) -> bool:
    """Run the DAG for `day` through Airflow, one line per step, then check what it did and
    say it in one sentence; whether the run counts as done. Airflow inherits `lock` (the data
    folder's run lock), so it holds the folder while it lives."""
    from datetime import UTC, datetime

    from pipelines import airflow_env, runcheck

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log_path = settings.home / "logs" / f"run-{day}-{stamp}.log"
    print(f"running DAG marketing_daily for {day} (Airflow's full log: {log_path})", flush=True)
    lock.note(day=str(day), child_pid=None)
    code, steps = _follow(airflow_env, day, env, log_path, verbose=verbose,
                          keep_fds=(lock.fd,), on_start=lambda pid: lock.note(child_pid=pid))
    run_id, states = airflow_env.task_states(day, env)
    check = runcheck.check_run(settings, day, run_id, states)
    for warning in check.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if code != 0 or check.errors:
        # What each failed step said (the file and the reason), then what the checks found.
        reasons = [f"{s.task_id} failed: {s.headline}" for s in steps if not s.ok]
        reasons += check.errors or ([] if reasons else [f"Airflow exited with code {code}"])
        print(f"\nthe run for {day} failed: " + "; ".join(reasons) + f" (log: {log_path})",
              file=sys.stderr)
        return False
    if check.stands_because == "unchanged":
        outcome = f"nothing new since run {check.stands}, whose publication stands unchanged"
    elif check.stands_because == "older":
        outcome = (f"the day's exports published; the warehouse keeps the newer day of run "
                   f"{check.stands}")
    else:
        outcome = f"published as run {run_id}"
    print(f"\nmarketing_daily {day}: done; {check.tasks} tasks succeeded, "
          f"{check.files_loaded} new files loaded ({check.rows_loaded:,} rows), {outcome}.",
          flush=True)
    return True


def _follow(airflow_env, day: date, env: dict[str, str], log_path: Path,
            verbose: bool, **run_args) -> tuple[int, list]:
    """Run the DAG, showing one line per finished step (all of Airflow's lines with
    `verbose`) and, on a terminal, the running step with a spinner and its elapsed time;
    Airflow's exit code and the steps (pipelines.console.StepLine) it ran."""
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.console import Progress

    console = Console(highlight=False)
    progress = Progress(emit=lambda text: console.print(text, markup=False, soft_wrap=True))
    with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
             console=console, transient=True, disable=not console.is_terminal) as bar:
        shown: list = []

        def on_line(line: str) -> None:
            if verbose:
                console.print(line.rstrip("\n"), markup=False, soft_wrap=True)
            before = progress.current
            progress.feed(line)
            if progress.current != before:
                while shown:
                    bar.remove_task(shown.pop())
                if progress.current:
                    shown.append(bar.add_task(progress.current))

        code = airflow_env.dags_test(day, env, log_path, on_line, **run_args)
    return code, progress.steps


def cmd_airflow(args: argparse.Namespace, settings: Settings) -> int:
    """Run an Airflow command in the project's Airflow (its home under the data folder, the
    project's settings and DAG), after creating or upgrading the metadata DB and the pool."""
    import os

    from pipelines import airflow_env

    if args.airflow_args[:1] in (["standalone"], ["scheduler"]):
        # A scheduler runs the DAG on this folder for as long as it lives: it holds the
        # folder's run lock (kept open across exec), so `marketing run` cannot start a run of
        # its own beside it, which would delete the scheduler's run of the same day.
        lock = _lock(settings, f"airflow {args.airflow_args[0]}", "scheduled runs", wait=False)
        if lock is None:
            return 1
        os.set_inheritable(lock.fd, True)
    env = airflow_env.airflow_env()
    airflow_env.prepare(env)
    command = [airflow_env.airflow_executable(), *args.airflow_args]
    # Replace this process: signals (Ctrl-C, a service manager's stop) reach Airflow itself.
    os.execvpe(command[0], command, env)
    return 0  # not reached


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from pipelines.ingest.run import IngestError, ingest_files

    run_id = "cli__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    lock = _lock(settings, "ingest", args.source, wait=False)
    if lock is None:
        return 1
    try:
        with lock:
            report = ingest_files(settings, args.source, [Path(p) for p in args.path], run_id)
    except IngestError as exc:
        print(f"rejected:\n{exc}", file=sys.stderr)
        return 1
    for r in report.results:
        line = (
            f"{r.file}: {r.status}, {r.rows_loaded} rows loaded, {r.rows_quarantined} quarantined"
        )
        if r.top_reasons:
            line += " (" + ", ".join(f"{reason}: {n}" for reason, n in r.top_reasons) + ")"
        print(line)
    for path in report.unrecognised:
        print(f"{path}: not loaded, the name matches no {args.source} export")
    if any(r.rows_quarantined for r in report.results):
        print(f"quarantined rows are in {settings.work_db}, table raw.quarantine")
    return 0


def cmd_convert_meta_ads_report(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.ingest.meta_ads_report import ReportError, convert_meta_ads_report

    try:
        done = convert_meta_ads_report(
            Path(args.path), settings.landing_dir,
            date.fromisoformat(args.date) if args.date else None, args.currency)
    except ReportError as exc:
        print(f"not converted: {exc}", file=sys.stderr)
        return 1
    print(f"{done.path}: {done.rows} ad rows, {done.first_day} to {done.last_day}, "
          f"{done.currency}; the next meta_ads ingest loads it")
    if done.summary_rows:
        print(f"  left out {done.summary_rows} summary (totals) row(s)")
    if done.multi_day_rows:
        print(f"  {done.multi_day_rows} rows cover more than one day and count on their first "
              f"day; export with a Day breakdown for daily figures")
    if done.ignored_columns:
        print(f"  columns not read: {', '.join(done.ignored_columns)}")
    return 0


def _step(*names: str):
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from pipelines import daily

        day = _run_date(settings, args.date)
        lock = _lock(settings, args.command, day, wait=False)
        if lock is None:
            return 1
        with lock:
            for name in names:
                print(daily.describe(getattr(daily, name)(settings, day,
                                                          f"cli__{name}__{day}")))
        return 0

    return run


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines import daily
    from pipelines.activation.audiences import AudienceFileError
    from pipelines.activation.export import ExportError, export_on_demand
    from pipelines.activation.suppression import ErasureFileError
    from pipelines.quality import QualityGateError

    day = _run_date(settings, args.date)
    try:
        if args.audience is None and args.platform is None:
            # The daily step: every audience into the staging folder the audit checks.
            lock = _lock(settings, "export", day, wait=False)
            if lock is None:
                return 1
            with lock:
                print(daily.describe(daily.export(settings, day, f"cli__export__{day}")))
            return 0
        folder, manifest = export_on_demand(
            settings, day, args.audience, args.platform, source=args.source
        )
    except (ExportError, AudienceFileError, ErasureFileError, QualityGateError) as exc:
        print(f"not exported: {exc}", file=sys.stderr)
        return 1
    print(f"exported {day} from the {args.source} warehouse into {folder}")
    for f in manifest["files"]:
        part = f", part {f['part']} of {f['parts']}" if f["parts"] > 1 else ""
        print(f"  {f['path']}: {f['rows']:,} rows ({f['kind']}{part})")
    for audience, platforms in manifest["suppressed"].items():
        for platform, counts in platforms.items():
            held = ", ".join(f"{reason} {n:,}" for reason, n in counts.items()) or "nobody"
            since = manifest["deltas_since"][audience][platform] or "no earlier published export"
            print(f"  {platform}/{audience}: held back {held}; adds/removes since {since}")
    return 0


def cmd_content(args: argparse.Namespace, settings: Settings) -> int:
    """Checked copy for the personas, goals and formats asked, best first, with evidence;
    generated from the work file, written nowhere (the daily step writes ml.content_lines)."""
    import polars as pl

    from pipelines.content.brand import BrandFileError
    from pipelines.content.names import FORMATS, GOALS
    from pipelines.content.tasks import generate

    day = _run_date(settings, args.date)
    try:
        result, used = generate(settings, day, goals=tuple(args.goal or GOALS),
                                formats=tuple(args.format or FORMATS), personas=args.persona)
    except BrandFileError as exc:
        print(f"no content: {exc}", file=sys.stderr)
        return 1
    lines = result.lines.filter(pl.col("rank") <= args.top)
    print(f"content for {day} ({used['backend']}, brand file {used['brand_file']}): "
          f"{lines.height} lines; dropped by the checks: "
          f"{dict(sorted(result.dropped.items())) or 'none'}")
    for key, group in lines.group_by(["persona", "goal", "format"], maintain_order=True):
        print(f"\n{key[0]} / {key[1]} / {key[2]}")
        for row in group.iter_rows(named=True):
            text = row["text"].replace("\n", "\n      ")
            print(f"  {row['rank']}. {text}\n     why: {row['evidence']}")
    return 0


def cmd_landing_date(args: argparse.Namespace, settings: Settings) -> int:
    latest = _latest_landing_date(settings)
    if latest is None:
        return 1
    print(latest.isoformat())
    return 0


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    """Every day from --start to --end, oldest first, each a run of the DAG through Airflow;
    stops at the first day that fails."""
    from datetime import timedelta

    from pipelines import airflow_env, runcheck

    if args.start > args.end:
        print(f"not run: --start {args.start} is after --end {args.end}", file=sys.stderr)
        return 1
    lock = _lock(settings, "backfill", f"{args.start} to {args.end}", args.wait)
    if lock is None:
        return 1
    with lock:
        try:
            runcheck.check_date(settings, args.end, allow_future=args.allow_future)
            runcheck.check_date(settings, args.start, allow_future=args.allow_future)
        except ValueError as exc:
            print(f"not run: {exc}", file=sys.stderr)
            return 1
        env = airflow_env.airflow_env()
        airflow_env.prepare(env)
        days = (args.end - args.start).days + 1
        print(f"backfilling marketing_daily for {days} days, {args.start} to {args.end}, "
              "oldest first", flush=True)
        for offset in range(days):
            day = args.start + timedelta(days=offset)
            try:
                ran = _run_day(settings, env, day, args.verbose, lock)
            except airflow_env.RunInterrupted as stop:
                print(f"the backfill stopped at {day}; {offset} of {days} days ran",
                      file=sys.stderr)
                return _stopped(settings, day, stop)
            if not ran:
                print(f"the backfill stopped at {day}; {offset} of {days} days ran",
                      file=sys.stderr)
                return 1
    print(f"\nbackfilled {days} days; `.venv/bin/marketing status` lists them")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """The last runs: Airflow's state, what each loaded and quarantined, what was published."""
    from pipelines import airflow_env, status
    from pipelines.warehouse import last_publication

    env = airflow_env.airflow_env()
    airflow_env.prepare(env, register_dag=True)
    runs = sorted(airflow_env.dag_runs(env), key=lambda r: str(r.get("run_after") or ""),
                  reverse=True)[: args.runs]
    rows, notes = status.runs_status(settings, runs)
    last = last_publication(settings) if settings.published_db.exists() else None
    published = (f"published now: run {last.run_id} for {last.logical_date} in "
                 f"{settings.published_db}" if last else None)
    print(status.render(rows, notes, published))
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from pipelines.transform import dbt_command, dbt_cwd, dbt_env, generate_docs

    day = args.date or _latest_landing_date(settings)
    if day is None:
        print(f"no dated export folders under {settings.landing_dir}; pass --date",
              file=sys.stderr)
        return 1
    index = generate_docs(settings, day)
    print(f"dbt docs (models, columns, tests, lineage): {index}")
    if not args.serve:
        print("browse them: .venv/bin/marketing docs --serve")
        return 0
    command = dbt_command(settings, ["docs", "serve", "--port", str(args.port), "--no-browser"])
    print(f"serving them on http://localhost:{args.port} (Ctrl-C stops)", flush=True)
    os.chdir(dbt_cwd(settings))
    os.execvpe(command[0], command, dbt_env(settings, day))
    return 0  # not reached


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Open the DuckDB shell, read-only, on the published warehouse (or run `args.sql`)."""
    import os

    if not settings.published_db.exists():
        print(f"nothing is published yet at {settings.published_db}; run `make run` first",
              file=sys.stderr)
        return 1
    shell = Path(sys.executable).parent / "duckdb"
    command = [str(shell) if shell.exists() else "duckdb", "-readonly",
               str(settings.published_db)]
    if args.sql:
        command += ["-c", args.sql]
    os.execvp(command[0], command)
    return 0  # not reached


def cmd_identity_explain(args: argparse.Namespace, settings: Settings) -> int:
    """Why the records of one person were joined: identifiers, records, history."""
    import duckdb

    from pipelines.identity.explain import ExplainError, explain

    if not settings.work_db.exists():
        print(f"no warehouse at {settings.work_db}; run `make run` first", file=sys.stderr)
        return 1
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        print(explain(con, args.query).render())
    except ExplainError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def _allow_future(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-future", action="store_true",
        help="run for a day after today (an export folder dated in the future is refused "
        "otherwise, as a likely misnamed folder)")


WAIT_HELP = ("when another run uses the data folder, wait for it to end (default: refuse at "
             "once, naming it)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marketing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="make a synthetic shop in the landing folder")
    p.add_argument("--scale", choices=sorted(SCALES), default="xs")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--if-empty",
        action="store_true",
        help="do not create a world when the landing folder already has files",
    )
    p.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="continue the saved world by N days, one export folder per day "
        "(creates the world first when there is none)",
    )
    p.add_argument(
        "--orders-format",
        choices=("shopify", "generic"),
        default="shopify",
        help="a Shopify shop (default) or a generic orders.csv only",
    )
    p.add_argument(
        "--history-days",
        type=int,
        default=730,
        metavar="N",
        help="days of history in the first exports (default 730: two years, so that "
        "365-day value labels have a year to train on)",
    )
    p.add_argument(
        "--personas",
        type=int,
        choices=range(3, 11),
        default=7,
        metavar="K",
        help="hidden behaviour groups in the world, 3-10 (default 7, the reference ones; "
        "others are sampled from or varied on them)",
    )
    p.add_argument(
        "--identity-noise",
        action="store_true",
        help="a harder identity world: names, emails and phones typed differently per "
        "system, moves and second shop accounts, recorded in truth/identity_variations.parquet "
        "(default off: the world is byte for byte the one without it)",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="run the daily DAG end to end through Airflow")
    p.add_argument("--date", type=_day, help="the day to run (default: the newest export date)")
    _allow_future(p)
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "airflow",
        help="run an Airflow command in the project's Airflow, e.g. `marketing airflow "
        "standalone` (the UI and scheduler) or `marketing airflow dags list-runs "
        "marketing_daily`",
    )
    p.add_argument("airflow_args", nargs=argparse.REMAINDER, metavar="ARGS")
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("ingest", help="load your own export files")
    p.add_argument("--source", required=True)
    p.add_argument("--path", required=True, nargs="+")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("convert", help="turn an export the sources do not read into one they do")
    formats = p.add_subparsers(dest="format", required=True)
    p = formats.add_parser(
        "meta-ads-report",
        help="a Meta Ads Manager CSV report (ad level, with Ad ID) into meta_ads Insights rows "
        "in the landing folder",
    )
    p.add_argument("path", help="the CSV file Ads Manager exported")
    p.add_argument("--date", help="export date folder (default: the report's last day)")
    p.add_argument("--currency", help="ISO code of the amounts, when no header names it")
    p.set_defaults(func=cmd_convert_meta_ads_report)

    steps = {"score": ("score_churn", "score_ltv", "score_lead", "forecast_units"),
             "report": ("report",)}
    for command, names in steps.items():
        p = sub.add_parser(command, help=f"run the {', '.join(names)} step(s) alone")
        p.add_argument("--date", type=_day)
        p.set_defaults(func=_step(*names))

    p = sub.add_parser(
        "export",
        help="build export files: the daily step, or some audiences "
        "on demand with --audience and/or --platform",
    )
    p.add_argument("--date", type=_day, help="the day (default: the newest export date)")
    p.add_argument(
        "--audience",
        help="an audience of the audiences file (a split one by its "
        "<audience>__<value> name or all its splits by <audience>)",
    )
    p.add_argument("--platform", choices=("mailchimp", "meta", "google", "crm"))
    p.add_argument(
        "--source",
        choices=("published", "work"),
        default="published",
        help="on demand, read the published warehouse (default) or the work file",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("docs", help="generate dbt docs of the warehouse (lineage, columns)")
    p.add_argument("--date", type=_day)
    p.add_argument("--serve", action="store_true", help="then serve them on localhost")
    p.add_argument("--port", type=int, default=8081)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser(
        "sql", help="the DuckDB shell, read-only, on the published warehouse (analysts)")
    p.add_argument("sql", nargs="?", help="run this SQL and exit instead of opening the shell")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("backfill", help="run every day of a range, oldest first")
    p.add_argument("--start", type=_day, required=True, help="the first day (YYYY-MM-DD)")
    p.add_argument("--end", type=_day, required=True, help="the last day (YYYY-MM-DD)")
    _allow_future(p)
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("status", help="the last runs: state, loaded, quarantined, published")
    p.add_argument("--runs", type=int, default=10, help="how many runs (default 10)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("content", help="checked copy per persona, goal and format, ranked")
    p.add_argument("--date", type=_day, help="the day (default: the newest export date)")
    p.add_argument("--persona", action="append", help="a persona's name, or all (repeatable)")
    p.add_argument("--goal", action="append", choices=GOALS)
    p.add_argument("--format", action="append", choices=FORMATS)
    p.add_argument("--top", type=int, default=3, help="lines per persona, goal and format")
    p.set_defaults(func=cmd_content)

    p = sub.add_parser("identity", help="identity resolution: why records were joined")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser("explain", help="a person's identifiers, the records that join them "
                           "and their merges and splits, by email, identifier or customer key")
    p.add_argument("query", help="an email, another identifier or a customer_key")
    p.set_defaults(func=cmd_identity_explain)

    p = sub.add_parser("landing-date", help="print the newest export date in the landing folder")
    p.set_defaults(func=cmd_landing_date)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args, Settings.from_env())
    except Exception as exc:  # one sentence for the user; the traceback only when asked for
        if args.verbose:
            raise
        kind = "" if isinstance(exc, ValueError | OSError) else f"{type(exc).__name__}: "
        print(f"marketing {args.command} failed: {kind}{exc} (-v shows where)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
