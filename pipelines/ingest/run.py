"""Find new landing files of a source and load each one; the entry points of ingestion.

`ingest_source` is what the Airflow task `ingest_<source>` calls; `ingest_files` serves the
CLI for a user's own export.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from pipelines.config import Settings
from pipelines.ingest import landing, ledger
from pipelines.ingest.files import FileFacts, Limits, inspect_file, transcoded
from pipelines.ingest.loader import (
    LoadResult,
    drop_staging,
    ensure_raw_table,
    load_file,
    load_ndjson_files,
    start_run,
)
from pipelines.ingest.sources import SOURCES, EntitySpec, spec_for
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

# NDJSON files up to this size are staged together, this many bytes at most at a time.
SMALL_FILE_BYTES = 4 << 20
BATCH_BYTES = 64 << 20


class IngestError(RuntimeError):
    """One or more files were rejected; the message names each file and why."""


@dataclass
class IngestReport:
    source: str
    results: list[LoadResult] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    # Landing folders whose files no run loads (a name that is no export date), with why.
    skipped_folders: dict[str, str] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def summary(self) -> str:
        skipped = "; ".join(f"{folder} skipped: {why}"
                            for folder, why in self.skipped_folders.items())
        if skipped:
            skipped = (f"; {len(self.skipped_folders)} "
                       f"folder{'s' if len(self.skipped_folders) > 1 else ''} skipped, "
                       f"their files not loaded ({skipped})")
        if not self.results and not self.unrecognised:
            return f"{self.source}: no new files{skipped}"
        loaded = sum(r.rows_loaded for r in self.results)
        quarantined = sum(r.rows_quarantined for r in self.results)
        parts = [
            f"{self.source}: {self.count('loaded')} files loaded ({loaded} rows, "
            f"{quarantined} quarantined)",
            f"{self.count('skipped')} already loaded",
            f"{self.count('empty')} empty",
            f"{self.count('rejected')} rejected",
        ]
        if self.unrecognised:
            parts.append(f"{len(self.unrecognised)} unrecognised files not loaded")
        return ", ".join(parts) + skipped

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "results": [asdict(r) for r in self.results],
            "unrecognised": self.unrecognised,
            "skipped_folders": self.skipped_folders,
        }


def discover(settings: Settings, source: str, logical_date: date | None) -> list[Path]:
    """Files for `source` in the landing folder, oldest export first.

    Folders named by export date (`YYYY-MM-DD`) after `logical_date` are left for later runs,
    so rerunning an old day never reads files from its future. Folders whose name is no export
    date are skipped (`landing.scan` says why).
    """
    found = landing.scan(settings.landing_dir, source)
    return [path for path, when in found.files
            if not (logical_date and when and when > logical_date)]


def ingest_files(
    settings: Settings, source: str, paths: list[Path], run_id: str
) -> IngestReport:
    """Load `paths` as exports of `source`; files already in the ledger are skipped."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known sources: {sorted(SOURCES)}")
    report = IngestReport(source)
    start_run()
    with work_connection(settings) as con:
        # Each file commits on its own. At the default 16 MB of log, every GA4 file's commit
        # also checkpointed, rewriting the table's last, growing row group each time: 10
        # files of scale m took 29.3 s that way and 26.0 s with one checkpoint at the end,
        # at the same peak memory. The log still holds every committed file if we crash.
        con.execute("set checkpoint_threshold = '1GB'")
        ledger.ensure_ledger(con)
        for spec in SOURCES[source]:
            ensure_raw_table(con, spec)
        done = ledger.loaded_hashes(con, source)
        unchanged = ledger.unchanged_files(con, source)
        batch: list[FileFacts] = []
        batch_spec: EntitySpec | None = None

        def load_batch() -> None:
            if not batch or batch_spec is None:
                return
            budget = settings.error_budget_for(source), settings.error_budget_min_rows
            if len(batch) == 1:
                results = [load_file(con, batch_spec, batch[0], run_id, *budget)]
            else:
                results = load_ndjson_files(con, batch_spec, batch, run_id, *budget)
            for facts, result in zip(batch, results, strict=True):
                report.results.append(result)
                if result.status in ledger.DONE_STATUSES:
                    done.add(facts.sha256)
                if facts.read_path:
                    facts.read_path.unlink(missing_ok=True)
            batch.clear()

        plan = _plan(source, paths, unchanged)
        limits = Limits(settings.max_line_bytes, settings.max_file_bytes)
        inspected = _inspect_ahead([(p, spec) for p, spec, skip in plan if spec and not skip],
                                   limits)
        for path, spec, skip in plan:
            if spec is None:
                log.warning("%s: no %s entity matches this file name; not loaded", path, source)
                report.unrecognised.append(str(path))
                continue
            if skip:
                load_batch()  # results stay in the order of the files
                report.results.append(
                    LoadResult(str(path), source, spec.entity, "skipped",
                               message="loaded before, same size and modification time")
                )
                continue
            facts = next(inspected)
            if facts.sha256 in done or facts.sha256 in {f.sha256 for f in batch}:
                load_batch()  # an earlier copy in the batch decides whether this is a repeat
            if facts.sha256 in done:
                ledger.note_modified(con, str(path), facts.sha256, facts.modified_ns)
                report.results.append(
                    LoadResult(str(path), source, spec.entity, "skipped",
                               message="same bytes already loaded")
                )
                continue
            if not _batches_with(batch, batch_spec, spec, facts):
                load_batch()
            fmt = spec.format_of(path.name)
            batch.append(transcoded(facts, settings.temp_dir / "ingest", f".{fmt}"))
            batch_spec = spec
        load_batch()
        drop_staging(con)
    log.info(report.summary())
    rejected = [r for r in report.results if r.status == "rejected"]
    if rejected:
        raise IngestError("\n".join(r.message for r in rejected))
    return report


def _plan(
    source: str, paths: list[Path], unchanged: set[tuple[str, int, int]]
) -> list[tuple[Path, EntitySpec | None, bool]]:
    """Each path with its entity (None: no entity matches its name) and whether it is
    skipped unread: the ledger holds it with the same size and modification time."""
    plan = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        stat = path.stat()
        plan.append((path, spec_for(source, path.name),
                     (str(path), stat.st_size, stat.st_mtime_ns) in unchanged))
    return plan


def _inspect_ahead(files: list[tuple[Path, EntitySpec]],
                   limits: Limits | None = None) -> Iterator[FileFacts]:
    """The files' facts in order, each file hashed while the one before it loads: hashing is
    Python on one core, and DuckDB's load leaves a core free for part of its time."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = None
        for i, (path, spec) in enumerate(files):
            current = ahead or pool.submit(inspect_file, path, spec.format_of(path.name), limits)
            if i + 1 < len(files):
                following, next_spec = files[i + 1]
                ahead = pool.submit(inspect_file, following, next_spec.format_of(following.name),
                                    limits)
            yield current.result()


def _batches_with(
    batch: list[FileFacts], batch_spec: EntitySpec | None, spec: EntitySpec, facts: FileFacts
) -> bool:
    """Whether `facts` can be loaded with the files waiting in `batch`: small NDJSON files of
    one entity, export folder and encoding (UTF-8: a file in another encoding is read from its
    own UTF-8 copy), up to `BATCH_BYTES` together."""
    if not batch:
        return True
    small = all(f.size <= SMALL_FILE_BYTES for f in (*batch, facts))
    return (
        small
        and spec == batch_spec
        and spec.format_of(facts.path.name) == "ndjson"
        and batch_spec.format_of(batch[0].path.name) == "ndjson"
        and facts.encoding == batch[0].encoding == "utf-8"
        and not facts.problem
        and facts.path.parent == batch[0].path.parent
        and sum(f.size for f in batch) + facts.size <= BATCH_BYTES
    )


def ingest_source(
    settings: Settings, source: str, run_id: str, logical_date: date | None = None
) -> IngestReport:
    """Load every new file of `source` in the landing folder up to `logical_date`."""
    paths = discover(settings, source, logical_date)
    skipped = landing.scan(settings.landing_dir, source).skipped
    for folder, why in skipped.items():
        log.warning("%s: skipped, %s; its files are not loaded by any run", folder, why)
    if not paths:
        log.warning("%s: no files under %s; nothing to load", source,
                    settings.landing_dir / source)
    try:
        report = ingest_files(settings, source, paths, run_id)
    except IngestError as error:
        if skipped:
            raise IngestError("\n".join([str(error), *(
                f"{folder}: skipped, {why}" for folder, why in skipped.items())])) from None
        raise
    report.skipped_folders = {str(folder): why for folder, why in skipped.items()}
    return report
