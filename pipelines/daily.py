"""The steps of the daily run, one function each; the DAG's tasks and the benchmark call these.

Each step opens what it needs, does one job for the logical date, closes its connections and
returns a small summary (it goes to XCom, so no frames).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from pipelines.config import Settings

log = logging.getLogger(__name__)


class PublishRefusedError(RuntimeError):
    """Publish found no passing audit for this run; nothing was published."""


def retry_can_fix(error: BaseException) -> bool:
    """Whether running the step again could succeed: the file system or a DuckDB file lock
    failing for a moment. A bad input, a failed check, a setting or a bug fails the same way
    every time, so a retry only delays the message by minutes."""
    import duckdb

    if isinstance(error, FileNotFoundError | PermissionError | IsADirectoryError
                  | NotADirectoryError):
        return False
    return isinstance(error, OSError | TimeoutError | duckdb.IOException)


def exports_arrived(settings: Settings, logical_date: date, run_id: str) -> bool:
    """Whether the exports for `logical_date` have arrived: a landing folder is dated that day
    or later (a run for an earlier day of the history has its data), or the landing folder
    holds files but no dated folders, so arrival cannot be told by date."""
    from pipelines.runcheck import landing_dates

    dates = landing_dates(settings)
    if dates:
        arrived = max(dates) >= logical_date
    else:
        arrived = any(p.is_file() for p in settings.landing_dir.rglob("*"))
    log.info("exports for %s %s", logical_date, "have arrived" if arrived else
             f"have not arrived (newest export folder: {max(dates) if dates else 'none'})")
    return arrived


def ingest(settings: Settings, source: str, logical_date: date, run_id: str) -> dict:
    from pipelines.ingest.run import ingest_source

    report = ingest_source(settings, source, run_id, logical_date)
    loaded = [r for r in report.results if r.status in ("loaded", "empty")]
    return {"summary": report.summary(), "files": len(loaded),
            "rows_read": sum(r.rows_read for r in loaded),
            "bytes": sum(Path(r.file).stat().st_size for r in loaded)}


def _lacks(settings: Settings, step: str, summary: dict) -> dict:
    """`summary` with `lacks`: what `step` skipped or narrowed because the shop's exports lack
    an input, one sentence each (also logged); see pipelines/coverage.py."""
    from pipelines.coverage import step_lacks

    return {**summary, "lacks": step_lacks(settings, step)}


def transform(settings: Settings, logical_date: date, run_id: str) -> dict:
    """`dbt build` of the customer view, facts and features with their tests; kept as it is
    when nothing it reads has changed since it last ran (pipelines/reuse.py)."""
    from pipelines.transform import build_step

    return _lacks(settings, "transform", build_step(settings, "transform", logical_date, run_id))


def optimise_ads(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Fit each Meta ad set's response curve and write the day's budget plan and bids
    (`ml.ad_budget_plan`); a shop without Meta Ads data skips it, saying so."""
    from pipelines.ads.tasks import optimise_ads as optimise

    return _lacks(settings, "optimise_ads", optimise(settings, logical_date, run_id))


def run_experiments(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Score uplift (`ml.scores` model `uplift`) from the experiments whose outcome window has
    closed, then assign the people who entered an audience with a holdout today to its
    treatment or holdout arm (`ml.experiment_assignments`), and mark who left; a shop with no
    completed experiment scores no uplift, and one with no holdout assigns nothing, each
    saying so."""
    from pipelines.experiments.tasks import run_experiments as run

    return run(settings, logical_date, run_id)


def personalize(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Each person's top products with a reason (`ml.recommendations`): learned from what
    people bought and looked at, shifted by place and season, never a product out of the
    catalogue or one just bought that is not due again; and each contact's best hour and
    weekday to receive email (`ml.send_times`) from their own opens and clicks, shrunk toward
    their persona's when they are few."""
    from pipelines.personalize.tasks import run_personalize

    return run_personalize(settings, logical_date, run_id)


def generate_content(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Checked copy per persona, campaign goal and format from the brand file, ranked by a
    model of the shop's campaign history (`ml.content_lines`); a brand file that does not
    parse stops the step with its line."""
    from pipelines.content.tasks import run_content

    return run_content(settings, logical_date, run_id)


def transform_reports(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Build the report models, which read the scores and personas the steps before wrote,
    and the KPI file (kpis.yml, written to settings.kpis for the KPI worksheet)."""
    from pipelines.ads.kpis import load_kpis, write_kpis
    from pipelines.transform import build_step
    from pipelines.warehouse import work_connection

    kpis = load_kpis(settings.kpis_file)
    with work_connection(settings) as con:
        write_kpis(con, kpis)
    return build_step(settings, "transform_reports", logical_date, run_id)


def find_personas(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Find the day's personas (ml.personas and the persona profiles for the report models)."""
    from pipelines.personas.tasks import run as find

    return _lacks(settings, "find_personas", find(settings, logical_date, run_id))


def score_churn(settings: Settings, logical_date: date, run_id: str) -> dict:
    from pipelines.ml.tasks import score_churn as score

    return _lacks(settings, "score_churn", score(settings, logical_date, run_id))


def score_ltv(settings: Settings, logical_date: date, run_id: str) -> dict:
    from pipelines.ml.tasks import score_ltv as score

    return _lacks(settings, "score_ltv", score(settings, logical_date, run_id))


def score_lead(settings: Settings, logical_date: date, run_id: str) -> dict:
    from pipelines.ml.tasks import score_lead as score

    return _lacks(settings, "score_lead", score(settings, logical_date, run_id))


def forecast_units(settings: Settings, logical_date: date, run_id: str) -> dict:
    from pipelines.ml.tasks import forecast_units as forecast

    return _lacks(settings, "forecast_units", forecast(settings, logical_date, run_id))


def audit(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Validate every table and export file to publish; raises QualityGateError when an
    error-level check fails. Checks that fail at warning level are sent as an alert."""
    from pipelines import alerts
    from pipelines.activation.export import staging_dir
    from pipelines.quality import audit_tables
    from pipelines.warehouse import work_connection

    docs = settings.reports_dir / logical_date.isoformat() / "quality"
    with work_connection(settings) as con:
        summary = audit_tables(con, settings.expectations_dir, run_id, logical_date,
                               published=settings.published_db,
                               exports=staging_dir(settings, logical_date), docs_dir=docs,
                               reuse=settings.reuse)
    if summary.failed_warnings:
        warned = [o.describe() for o in summary.outcomes
                  if not o.success and o.severity == "warning"]
        alerts.notify(alerts.Alert(
            "warning", logical_date,
            f"{summary.failed_warnings} checks failed at warning level; publishing goes on",
            [*warned[:20], "", f"Every check of the run: {docs / 'index.html'}"]))
    return {"tables": summary.tables, "evaluated": summary.evaluated,
            "failed_warnings": summary.failed_warnings, "kept": summary.kept}


def export_files(settings: Settings, logical_date: date) -> list[str]:
    """The staged export files, named as the audit records them (`exports/<path>`)."""
    from pipelines.activation.export import staging_dir

    manifest = staging_dir(settings, logical_date) / "manifest.json"
    if not manifest.exists():
        return []
    return sorted(f"exports/{f['path']}" for f in json.loads(manifest.read_text())["files"])


def audited_tables(settings: Settings, run_id: str, logical_date: date
                   ) -> tuple[list[str], dict]:
    """Tables and export files whose audit for `run_id` passed, with the validation summary;
    refuses otherwise."""
    from pipelines.quality import suite_tables
    from pipelines.warehouse import work_connection

    expected = suite_tables(settings.expectations_dir)
    expected += export_files(settings, logical_date)
    with work_connection(settings) as con:
        rows = con.execute(
            "select table_name, count(*) as checks, "
            "count(*) filter (where not success and severity = 'error') as failed_errors, "
            "count(*) filter (where not success and severity = 'warning') as failed_warnings "
            "from audit.validations where run_id = ? group by table_name order by table_name",
            [run_id],
        ).fetchall()
    summary = {t: {"checks": c, "failed_errors": e, "failed_warnings": w} for t, c, e, w in rows}
    unaudited = [t for t in expected if t not in summary]
    failed = [t for t, s in summary.items() if s["failed_errors"]]
    if unaudited or failed:
        raise PublishRefusedError(
            f"run {run_id}: not publishing; tables without an audit: {unaudited}, "
            f"tables that failed it: {failed}"
        )
    return [t for t in expected if not t.startswith("exports/")], summary


PUBLICATIONS_DDL = """
create table if not exists audit.publications (
    run_id varchar not null,
    logical_date date not null,
    -- published; unchanged (same content as `same_as`); older (a day before the published
    -- `same_as`: only its exports were published)
    outcome varchar not null,
    same_as varchar,
    decided_at timestamptz not null
)
"""


def publish(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Publish the audited tables atomically, then the audited exports; record run id, counts,
    versions and validation. A rerun whose tables and export files are the same as the last
    publication's for the same day publishes nothing again and says so; a day older than the
    published one (a backfill) publishes its exports and leaves the newer warehouse."""
    from pipelines.activation.export import publish_exports, staging_dir
    from pipelines.activation.suppression import (
        current_store,
        erased_customer_keys,
        erasure_row_filters,
    )
    from pipelines.transform import dbt_paths, read_run_results
    from pipelines.warehouse import (
        last_publication,
        published_run_ids,
        work_connection,
        work_content_hashes,
    )
    from pipelines.warehouse import publish as publish_tables

    tables, validation = audited_tables(settings, run_id, logical_date)
    last = last_publication(settings)
    staged = staging_dir(settings, logical_date)
    if last and last.run_id == run_id:
        # A retry of this run's publish, stopped after the warehouse was swapped in: finish
        # it (its exports, if they had not moved yet, and the record), publishing nothing twice.
        exports = (publish_exports(settings, logical_date) if (staged / "manifest.json").exists()
                   else settings.exports_dir / logical_date.isoformat())
        _record_publication(settings, run_id, logical_date, "published", None)
        log.info("run %s was published already; its publication is finished", run_id)
        return {"path": str(settings.published_db), "resumed": True, "exports": str(exports)}
    if not (staged / "manifest.json").exists():
        # Checked before anything moves: a warehouse published without its exports would
        # leave analysts and marketers on different days.
        raise PublishRefusedError(
            f"run {run_id}: not publishing; no staged exports in {staged}: run the export step")
    if last and logical_date < last.logical_date:
        # A backfilled (or rerun) older day: its exports and report are the day's own, but
        # analysts keep the newest day's warehouse.
        exports = publish_exports(settings, logical_date)
        _record_publication(settings, run_id, logical_date, "older", last.run_id)
        log.info("%s is older than the published %s (run %s): the day's exports are "
                 "published, the warehouse stays", logical_date, last.logical_date, last.run_id)
        return {"older_than": last.run_id, "exports": str(exports)}
    hashes = work_content_hashes(settings, tables)
    # Analysts' file names people too: everyone erased is left out of every table with a
    # customer key (the work file keeps the ledger's raw rows). A filtered publication is
    # never "unchanged": a new erasure must reach the published file even on a quiet day.
    with work_connection(settings) as con:
        filters = erasure_row_filters(
            con, tables, erased_customer_keys(con, current_store(settings, logical_date)))
    if (not filters and last and last.logical_date == logical_date
            and last.content_hashes == hashes
            and _exports_unchanged(settings, logical_date)):
        _record_publication(settings, run_id, logical_date, "unchanged", last.run_id)
        log.info("nothing new since run %s: its publication stands", last.run_id)
        return {"unchanged_since": last.run_id}
    with work_connection(settings) as con:
        models = dict(con.execute(
            "select model, version from ml.model_runs where run_id = ?", [run_id]
        ).fetchall())
    dbt_version = read_run_results(dbt_paths(settings)[0] / "run_results.json").dbt_version
    # Only published runs' model records are published: a run that failed after scoring
    # left rows in the work file that describe scores nobody saw.
    published = [*published_run_ids(settings), run_id]
    runs_filter = "run_id in ({})".format(", ".join(_sql_text(r) for r in published))
    publication = publish_tables(
        settings, tables, run_id, logical_date,
        versions={"dbt": dbt_version, **{f"model:{k}": v for k, v in models.items()}},
        validation=validation, row_filters={**filters, "ml.model_runs": runs_filter},
        known_hashes=hashes,
    )
    exports = publish_exports(settings, logical_date)
    _record_publication(settings, run_id, logical_date, "published", None)
    return {"path": str(publication.path), "row_counts": publication.row_counts,
            "exports": str(exports)}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _exports_unchanged(settings: Settings, logical_date: date) -> bool:
    """Whether the staged export files are those already published for the day."""
    from pipelines.activation.export import staging_dir

    def files(folder: Path) -> list[tuple] | None:
        manifest = folder / "manifest.json"
        if not manifest.exists():
            return None
        listed = json.loads(manifest.read_text())["files"]
        return sorted((f["path"], f.get("sha256"), f.get("rows")) for f in listed)

    staged = files(staging_dir(settings, logical_date))
    return staged is not None and staged == files(settings.exports_dir
                                                  / logical_date.isoformat())


def _record_publication(settings: Settings, run_id: str, logical_date: date, outcome: str,
                        same_as: str | None) -> None:
    from pipelines.warehouse import work_connection

    with work_connection(settings) as con:
        con.execute("create schema if not exists audit")
        con.execute(PUBLICATIONS_DDL)
        con.execute("delete from audit.publications where run_id = ?", [run_id])
        con.execute("insert into audit.publications values (?, ?, ?, ?, now())",
                    [run_id, logical_date, outcome, same_as])


def export(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Build the day's audience exports into staging, for the audit to validate."""
    from pipelines.activation.export import build_exports

    manifest = build_exports(settings, logical_date, run_id)
    return {"files": [(f["path"], f["rows"]) for f in manifest["files"]],
            "lacks": manifest["lacks"]}


def report(settings: Settings, logical_date: date, run_id: str) -> dict:
    from pipelines import coverage
    from pipelines.report.digest import mail_digest
    from pipelines.report.html import build_report, published_money_currency

    path = build_report(settings, logical_date, run_id)
    return {"path": str(path), "money_in": published_money_currency(settings),
            "lacks": coverage.step_lacks(settings, "report", settings.published_db),
            "digest": mail_digest(settings, logical_date, path.parent)}


def outputs(settings: Settings, logical_date: date) -> dict[str, str]:
    """Where a day's outputs are, for the CLI to tell the user."""
    day = logical_date.isoformat()
    return {
        "warehouse (analysts)": str(settings.published_db),
        "exports (marketers)": str(settings.exports_dir / day),
        "report": str(settings.reports_dir / day / "index.html"),
        "quarantine and load ledger": f"{settings.work_db} (raw.quarantine, audit.loads)",
    }


def describe(summary: dict) -> str:
    return json.dumps(summary, sort_keys=True, default=str)
