"""Daily segment exports: files a marketer uploads as they are.

Write, audit, publish, as for the warehouse: `build_exports` writes the day's files into a
staging folder from the work file, the audit validates them with the export suites, and
`publish_exports` moves the audited folder to `exports/<date>/` (replacing a rerun's whole).
Each folder has a `manifest.json` of rows, checksums and suppressions by reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.activation.csvsafe import neutralise_frame
from pipelines.activation.segments import Segment, load_segments
from pipelines.config import Settings
from pipelines.ml.scores import pivot_sql
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

def audience_sql() -> str:
    """Every customer with every model's score, decile and reasons (`churn_score`,
    `churn_decile`, `churn_reason_1`, ..., `ltv_score`, ..., `lead_score`, ...), from the long
    `ml.scores` table; null where a model did not score the customer."""
    return (f"select c.*, s.* exclude (customer_key) from marts.dim_customers as c "
            f"left join ({pivot_sql()}) as s using (customer_key)")


@dataclass
class ExportFile:
    path: str
    platform: str
    segment: str
    rows: int
    sha256: str
    suppressed: dict[str, int] = field(default_factory=dict)


def read_audience(settings: Settings) -> pl.DataFrame:
    """Customers with their scores, from the work file the audit is about to validate."""
    with work_connection(settings) as con:
        return con.sql(audience_sql()).pl()


def staging_dir(settings: Settings, logical_date: date) -> Path:
    """Where a day's exports wait for the audit."""
    return settings.exports_dir / ".staging" / logical_date.isoformat()


def mailchimp_rows(members: pl.DataFrame, segment: Segment) -> tuple[pl.DataFrame, dict]:
    """The Mailchimp import rows for a segment, and how many were held back and why."""
    no_email = members.filter(pl.col("email").is_null())
    with_email = members.filter(pl.col("email").is_not_null())
    status = pl.col("mailchimp_status")
    suppressed = {
        "no_email": no_email.height,
        "unsubscribed": with_email.filter(status == "unsubscribed").height,
        "cleaned": with_email.filter(status == "cleaned").height,
        "no_email_consent": with_email.filter(
            ~pl.col("is_emailable") & ~status.is_in(["unsubscribed", "cleaned"]).fill_null(False)
        ).height,
    }
    allowed = with_email.filter(pl.col("is_emailable")).sort("customer_key")
    rows = allowed.select(
        pl.col("email").alias("Email Address"),
        pl.col("first_name").alias("First Name"),
        pl.col("last_name").alias("Last Name"),
        pl.lit(segment.name).alias("Tags"),
    )
    return neutralise_frame(rows), {k: v for k, v in suppressed.items() if v}


def build_exports(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Write every segment's files for `logical_date` and the manifest into the staging
    folder; return the manifest. Nothing reaches `exports/<date>/` before the audit passes."""
    audience = read_audience(settings)
    segments = load_segments(settings.segments_file, columns=audience.columns)
    building = staging_dir(settings, logical_date)
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    files: list[ExportFile] = []
    for segment in segments:
        members = segment.select(audience)
        for platform in segment.platforms:
            rows, suppressed = mailchimp_rows(members, segment)
            relative = Path(platform) / f"{segment.name}.csv"
            target = building / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            rows.write_csv(target)
            files.append(ExportFile(
                path=str(relative), platform=platform, segment=segment.name,
                rows=rows.height, sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
                suppressed=suppressed,
            ))
            log.info("%s/%s: %d rows, suppressed %s", platform, segment.name, rows.height,
                     suppressed)
    manifest = {
        "run_id": run_id,
        "logical_date": logical_date.isoformat(),
        "files": [vars(f) for f in files],
    }
    (building / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def publish_exports(settings: Settings, logical_date: date) -> Path:
    """Move the audited staging folder to `exports/<date>/`, replacing an earlier run's."""
    building = staging_dir(settings, logical_date)
    if not (building / "manifest.json").exists():
        raise FileNotFoundError(f"{building}: no staged exports to publish; run the export step")
    final = settings.exports_dir / logical_date.isoformat()
    retired = final.with_name(f".{final.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    building.rename(final)
    shutil.rmtree(retired, ignore_errors=True)
    return final
