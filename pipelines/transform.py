"""Run dbt as a subprocess on the work file and report what it did from run_results.json.

A subprocess, not dbt's in-process runner: the runner can keep the DuckDB file locked after it
returns, and the next task needs the lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.config import Settings

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt failed; the message lists each failed model or test with dbt's own message."""


@dataclass
class TransformResult:
    status_counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    dbt_version: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def dbt_executable() -> str:
    """The dbt installed beside this Python, so the project's pinned version always runs."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


# Models that read what the pipeline's Python steps write (scores, personas) carry this tag: the
# daily build leaves them out, and a second invocation builds them once those steps have run.
REPORT_TAG = "tag:report"


def dbt_paths(settings: Settings, target: str = "target") -> tuple[Path, Path]:
    """Target and log folders under the data home, so runs on different homes never mix.
    Each invocation kind has its own target folder, so the report build's run results do not
    replace the main build's."""
    return settings.home / "dbt" / target, settings.home / "dbt" / "logs"


def dbt_command(settings: Settings, args: list[str], target: str = "target") -> list[str]:
    """The dbt command line for `args` on this data home's project, target and log folders,
    every path absolute: dbt runs in the warehouse folder (`dbt_cwd`)."""
    target_path, log_path = dbt_paths(settings, target)
    return [
        dbt_executable(),
        *args,
        "--project-dir", str(settings.dbt_project_dir.absolute()),
        "--profiles-dir", str(settings.dbt_project_dir.absolute()),
        "--target-path", str(target_path.absolute()),
        "--log-path", str(log_path.absolute()),
        "--no-use-colors",
    ]


def dbt_cwd(settings: Settings) -> Path:
    """The folder dbt runs in: the work file's, which the profile names by its file name alone.
    The profile's connection is part of what dbt checks before it reuses a saved parse, so a
    path that is the same in every data folder lets a new data folder start from the parse
    another one saved (`_seed_parse`) instead of parsing the whole project again."""
    return settings.work_db.parent


def dbt_env(settings: Settings, logical_date: date) -> dict[str, str]:
    """The environment dbt runs in: the work file, memory limit and the run's date."""
    return {**os.environ, **dbt_settings(settings, logical_date)}


def dbt_settings(settings: Settings, logical_date: date) -> dict[str, str]:
    """What the pipeline tells dbt through its environment."""
    from pipelines.content.brand import brand_file

    return {
        "MARKETING_WORK_DB": settings.work_db.name,  # in dbt_cwd
        # The Python models read the run's settings (int_content__offers, its brand file):
        # this data folder's, as absolute paths, whatever the environment and dbt's folder.
        "MARKETING_HOME": str(settings.home.absolute()),
        "MARKETING_BRAND_FILE": str(brand_file(settings).absolute()),
        "MARKETING_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        # The date goes in the environment (macros/as_of_date.sql): a new value of --vars
        # makes dbt parse the whole project again, every day.
        "MARKETING_AS_OF_DATE": logical_date.isoformat(),
        "MARKETING_HUBSPOT_TIMEZONE": settings.hubspot_timezone,
        "MARKETING_SOCIAL_TIMEZONE": settings.social_timezone,
        # Phones without a country code, as the exports read them (macros/normalize.sql).
        "MARKETING_DEFAULT_COUNTRY": settings.default_country,
        # Customer money is converted to it (int_orders__rates); empty: decided from the orders.
        "MARKETING_REPORTING_CURRENCY": settings.reporting_currency or "",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(
    settings: Settings,
    args: list[str],
    logical_date: date,
    extra_vars: dict | None = None,
    target: str = "target",
) -> TransformResult:
    """Run `dbt <args>` for `logical_date` and return its parsed run results."""
    target_path, _ = dbt_paths(settings, target)
    command = dbt_command(settings, args, target)
    if extra_vars:
        command += ["--vars", json.dumps(extra_vars)]
    env = dbt_env(settings, logical_date)
    dbt_cwd(settings).mkdir(parents=True, exist_ok=True)
    _seed_parse(settings, target, extra_vars)
    log.info("running dbt %s for %s", " ".join(args), logical_date)
    proc = subprocess.run(command, env=env, cwd=dbt_cwd(settings), capture_output=True,
                          text=True, check=False)
    for line in proc.stdout.splitlines():
        log.info("dbt: %s", line)
    result = read_run_results(target_path / "run_results.json")
    if proc.returncode != 0:
        detail = "\n".join(result.failures) or proc.stdout[-4000:] + proc.stderr[-4000:]
        raise TransformError(f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n{detail}")
    for warning in result.warnings:
        log.warning("dbt warning: %s", warning)
    _keep_parse(settings, target, extra_vars)
    return result


def read_run_results(path: Path) -> TransformResult:
    """Summarise dbt's run_results.json: counts by status, failures and warnings by node."""
    result = TransformResult()
    if not path.exists():
        return result
    data = json.loads(path.read_text())
    result.elapsed_s = float(data.get("elapsed_time") or 0.0)
    result.dbt_version = data.get("metadata", {}).get("dbt_version", "")
    for node in data.get("results", []):
        status = node.get("status", "unknown")
        result.status_counts[status] = result.status_counts.get(status, 0) + 1
        unique_id = node.get("unique_id", "?")
        result.timings[unique_id] = float(node.get("execution_time") or 0.0)
        message = node.get("message") or ""
        if status in ("error", "fail", "runtime error"):
            result.failures.append(f"{unique_id}: {status}: {message}")
        elif status == "warn":
            result.warnings.append(f"{unique_id}: {message}")
    return result


def settings_vars(settings: Settings) -> dict:
    """dbt vars from the user's settings files: the attribution window of ads.yml. Passed
    to every invocation alike, so dbt's partial parse stays valid from one to the next."""
    from pipelines.ads.settings import load_ads_settings

    window = load_ads_settings(settings.ads_file).attribution
    return {"attribution_click_days": window.click_days,
            "attribution_view_days": window.view_days}


# dbt's unit tests check the models' SQL on fixed fixture rows, not the day's data: the same
# inputs give the same verdict every day, so they run where the SQL changes (`make test`,
# tests/integration/test_daily_dag.py), as dbt advises, and not in every daily build,
# where they were a third of the transform's time at `xs`. The data tests run every day.
DAILY_EXCLUDE = ["--exclude-resource-type", "unit_test"]
# dbt's saved parse of the project, in each target folder.
PARTIAL_PARSE = "partial_parse.msgpack"


BUILD_ARGS = ["build", "--exclude", REPORT_TAG, *DAILY_EXCLUDE]
REPORTS_ARGS = ["build", "--select", REPORT_TAG, *DAILY_EXCLUDE]
REPORTS_TARGET = "target_reports"


def build(settings: Settings, logical_date: date) -> TransformResult:
    """`dbt build`: every model and its data tests, in dependency order, except the report
    models (REPORT_TAG); a failing test fails it."""
    return run_dbt(settings, BUILD_ARGS, logical_date, settings_vars(settings))


def build_reports(settings: Settings, logical_date: date) -> TransformResult:
    """`dbt build` of the report models (REPORT_TAG) and their data tests, after scoring and
    segmenting have written the tables they read."""
    return run_dbt(settings, REPORTS_ARGS, logical_date, settings_vars(settings),
                   target=REPORTS_TARGET)


# What dbt is told of where things are, not of what is in them (the settings files' content is
# digested on its own).
WHERE = ("MARKETING_WORK_DB", "MARKETING_HOME", "MARKETING_BRAND_FILE")


def build_step(settings: Settings, step: str, logical_date: date, run_id: str) -> dict:
    """The daily `transform` (main build) or `transform_reports` step's summary: the build
    run, or its last result kept when nothing it reads has changed (pipelines/reuse.py)."""
    from pipelines import reuse

    args, target, builder = {
        "transform": (BUILD_ARGS, "target", build),
        "transform_reports": (REPORTS_ARGS, REPORTS_TARGET, build_reports),
    }[step]

    def run() -> tuple[dict, list[str], list[str]]:
        result = builder(settings, logical_date)
        return ({"status": result.status_counts, "seconds": round(result.elapsed_s, 1),
                 "dbt_version": result.dbt_version},
                *built_relations(dbt_paths(settings, target)[0]))

    # A data folder moved or copied keeps its builds.
    told = {k: v for k, v in dbt_settings(settings, logical_date).items()
            if k not in WHERE}
    given = {"args": args, "vars": settings_vars(settings), "env": told,
             "project": reuse.files_digest([settings.dbt_project_dir]),
             "settings_files": reuse.files_digest(settings_files(settings))}
    return reuse.reuse_or_run(settings, step, logical_date, run_id, given, run)


def settings_files(settings: Settings) -> list[Path]:
    """The user's settings files a model reads (the content models read the brand file)."""
    from pipelines.content.brand import brand_file

    return [settings.ads_file, settings.audiences_file, settings.kpis_file,
            brand_file(settings)]


def built_relations(target_path: Path) -> tuple[list[str], list[str]]:
    """What the last dbt invocation in `target_path` read and wrote, as `schema.name`: the
    relations its nodes depend on that it did not build (sources, models of another
    invocation), and those it built."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    ran = [r["unique_id"] for r in
           json.loads((target_path / "run_results.json").read_text())["results"]]
    nodes = {**manifest["nodes"], **manifest["sources"]}

    def relation(node: dict) -> str:
        return f"{node['schema']}.{node.get('identifier') or node.get('alias') or node['name']}"

    written = {relation(nodes[u]) for u in ran
               if nodes[u]["resource_type"] in ("model", "seed", "snapshot")
               and nodes[u]["config"].get("materialized") != "ephemeral"}
    read = {relation(nodes[d]) for u in ran
            for d in nodes[u].get("depends_on", {}).get("nodes", []) if d in nodes}
    return sorted(read - written), sorted(written)


def unit_tests(settings: Settings, logical_date: date) -> TransformResult:
    """`dbt test` of every unit test (the models' SQL on fixture rows). dbt reads the column
    types of each tested model's parents from the warehouse, so a built work file is needed."""
    return run_dbt(settings, ["test", "--select", "test_type:unit"], logical_date,
                   settings_vars(settings), target="target_unit")


def _parse_cache(settings: Settings, extra_vars: dict | None) -> Path:
    """Where a data folder's parse of the project is kept for the next new data folder: in
    the project's own target folder (made by dbt, ignored by git), one file per profile
    setting and vars that dbt's check compares, so invocations with different ones do not
    take turns replacing it."""
    told = json.dumps([settings.duckdb_memory_limit, extra_vars or {}], sort_keys=True)
    key = hashlib.sha256(told.encode()).hexdigest()[:12]
    return settings.dbt_project_dir / "target" / f"partial_parse-{key}.msgpack"


def _seed_parse(settings: Settings, target: str, extra_vars: dict | None) -> None:
    """Start a target folder without a saved parse from this data folder's main build's, or
    else from the project's cache (`_parse_cache`). dbt checks a saved parse against the
    project's files, vars, profile, environment and its own version before using it, and
    parses again what differs (a full parse took 8.3 s here, one with nothing changed
    1.9-4.0 s)."""
    dest = dbt_paths(settings, target)[0] / PARTIAL_PARSE
    if dest.exists():
        return
    for source in (dbt_paths(settings)[0] / PARTIAL_PARSE, _parse_cache(settings, extra_vars)):
        if source.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            return


def _keep_parse(settings: Settings, target: str, extra_vars: dict | None) -> None:
    """Keep the parse a successful invocation saved for new data folders, when it is newer
    than the one kept; written whole and then renamed, so a reader never sees half a file.
    A project folder that cannot be written only loses the head start."""
    source = dbt_paths(settings, target)[0] / PARTIAL_PARSE
    cache = _parse_cache(settings, extra_vars)
    try:
        if not source.exists() or (cache.exists()
                                   and cache.stat().st_mtime >= source.stat().st_mtime):
            return
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        shutil.copy2(source, partial)
        os.replace(partial, cache)
    except OSError as error:
        log.debug("dbt's parse not kept for new data folders: %s", error)


def generate_docs(settings: Settings, logical_date: date) -> Path:
    """`dbt docs generate` over the work file: the catalog of every model, column and test,
    and the lineage, for analysts to browse (`dbt docs serve`). Returns the index.html path."""
    run_dbt(settings, ["docs", "generate"], logical_date, settings_vars(settings))
    target_path, _ = dbt_paths(settings)
    return target_path / "index.html"
