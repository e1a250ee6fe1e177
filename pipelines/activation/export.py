"""Daily audience exports: files a marketer uploads as they are.

Write, audit, publish, as for the warehouse: `build_exports` takes in the day's erasure
requests, then writes every audience's files into a staging folder from the work file; the audit
validates them with the export suites, and `publish_exports` moves the audited folder to
`exports/<date>/` (replacing a rerun's whole). For each audience and platform there is a full
file and its `adds` and `removes` since the last published export; Meta's come in parts of at
most 10,000 rows. Each folder has a `manifest.json` of rows, checksums and suppressions by
reason.

An audience with a holdout (audiences.yml) leaves its held-out people out of every file, as
`ml.experiment_assignments` records them (the run_experiments step), and the manifest's
`audiences` entry counts both arms.

`export_on_demand` (the CLI's `marketing export --audience/--platform`) builds the same files for
some audiences and platforms into `exports/on-demand/<date>/`, after the same suites pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines import coverage
from pipelines.activation import normalize
from pipelines.activation.audiences import Audience, AudienceFileError, load_audiences
from pipelines.activation.consent import REQUIRED_COLUMNS, apply_consent
from pipelines.activation.delta import delta, split_parts
from pipelines.activation.platforms import FORMATS, rows_for
from pipelines.activation.suppression import current_store, mark_erased, taken_in_on
from pipelines.config import Settings
from pipelines.experiments import store as assignments_store
from pipelines.experiments.assign import arms, experiment_for
from pipelines.ml.scores import pivot_sql
from pipelines.personalize import sendtime_store as send_times_store
from pipelines.personalize.recommend import top_products
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

def customers_sql(with_personas: bool = True) -> str:
    """The one place the customers the exports draw on are read: their consent and identifiers
    (marts.dim_customers), their RFM segment, their persona (`persona_name`, from the
    find_personas task's `ml.personas`), and every model's score, decile and reasons pivoted
    from the long `ml.scores` (`churn_score`, `churn_decile`, `churn_reason_1`, ...,
    `ltv_score`, ..., `lead_score`, ...; null where a model did not score the customer)."""
    persona = "p.persona_name, " if with_personas else ""
    persona_join = (
        "left join ml.personas as p using (customer_key) " if with_personas else ""
    )
    return (
        f"select c.*, seg.rfm_segment, {persona}s.* exclude (customer_key) "
        "from marts.dim_customers as c "
        "left join marts.customer_rfm as seg using (customer_key) "
        f"{persona_join}"
        f"left join ({pivot_sql()}) as s using (customer_key)"
    )


# What `prepare_customers` reads for every platform (erasure matches on email and phone).
IDENTITY_COLUMNS = ("customer_key", "email", "phone_e164", "country_code")
SOURCES = ("work", "published")
KINDS = ("full", "adds", "removes")
PLATFORM_NAMES = {"meta": "Meta", "google": "Google Ads", "mailchimp": "Mailchimp",
                  "crm": "the CRM"}
RECOMMENDED_IN_EMAIL = 3  # Mailchimp merge fields RECO1..RECO3
DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ExportError(RuntimeError):
    """The exports cannot be built as configured; the message says what to change."""


@dataclass
class ExportFile:
    path: str
    platform: str
    audience: str
    kind: str
    part: int
    parts: int
    rows: int
    sha256: str
    suppressed: dict[str, int] = field(default_factory=dict)


def read_customers(settings: Settings, source: str = "work") -> pl.DataFrame:
    """Customers with their identifiers, consent and scores: from the work file the audit is
    about to validate (`work`), or from the file analysts read (`published`)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    path = settings.work_db if source == "work" else settings.published_db
    if source == "published" and not path.exists():
        raise ExportError(f"{path}: nothing published yet; run the daily run first")
    con = connect(settings, path=path, read_only=source == "published")
    try:
        with_personas = bool(
            con.sql(
                "select count(*) from information_schema.tables "
                "where table_schema = 'ml' and table_name = 'personas'"
            ).fetchall()[0][0]
        )
        if not with_personas:
            # A shop whose find_personas task has not run yet still exports; persona audiences and
            # tags are then empty, and the log says why.
            log.warning("%s has no ml.personas yet: no persona audiences or tags", path)
        return with_personalisation(con, con.sql(customers_sql(with_personas)).pl())
    finally:
        con.close()


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()[0][0])


def with_personalisation(con: duckdb.DuckDBPyConnection, customers: pl.DataFrame
                         ) -> pl.DataFrame:
    """`customers` with what the personalize step learnt for Mailchimp's merge fields:
    `send_hour_utc`, `send_timezone` and `send_group` (ml.send_times) and `reco_1`..`reco_3`,
    the names of the top recommended products (ml.recommendations). Null where the step has
    not run or has nothing for the person."""
    send = pl.DataFrame(schema={"customer_key": pl.String, "send_hour_utc": pl.Int32,
                                "send_timezone": pl.String, "send_group": pl.String})
    if _has_table(con, "ml", "send_times"):
        send = send_times_store.read(con).select(
            "customer_key", "send_hour_utc", pl.col("timezone").alias("send_timezone"),
            "send_group").cast(send.schema)
    top = top_products(con, RECOMMENDED_IN_EMAIL).select("customer_key", "rank", "product_name")
    return customers.join(send, on="customer_key", how="left").join(
        reco_columns(top), on="customer_key", how="left")


def reco_columns(top: pl.DataFrame) -> pl.DataFrame:
    """One row per customer_key with `reco_1`..`reco_<RECOMMENDED_IN_EMAIL>`: the product names
    of `top` (customer_key, rank, product_name) in rank order, null where fewer."""
    wide = top.filter(pl.col("rank").is_between(1, RECOMMENDED_IN_EMAIL)).group_by(
        "customer_key").agg(
        *[pl.col("product_name").filter(pl.col("rank") == r).first().alias(f"reco_{r}")
          for r in range(1, RECOMMENDED_IN_EMAIL + 1)])
    return wide.cast({f"reco_{r}": pl.String for r in range(1, RECOMMENDED_IN_EMAIL + 1)})


def read_assignments(settings: Settings, source: str = "work") -> pl.DataFrame:
    """The holdout assignments so far (`ml.experiment_assignments`) from the same file as the
    customers: empty where none were made yet (people are then placed by the hash alone)."""
    path = settings.work_db if source == "work" else settings.published_db
    con = connect(settings, path=path, read_only=source == "published")
    try:
        return assignments_store.read(con)
    finally:
        con.close()


def hold_out(
    defined: Audience, name: str, members: pl.DataFrame, assignments: pl.DataFrame
) -> tuple[pl.DataFrame, dict | None]:
    """The members to upload, and the manifest's experiment entry: an audience with a holdout
    leaves its held-out people out of every platform's file (their recorded arm, or the hash
    for anyone not yet assigned). `treated` and `held_out` count the members in the
    experiment today by arm: not erased, and not marked as having left it."""
    experiment = experiment_for(defined, name)
    if experiment is None:
        return members, None
    keys = members.get_column("customer_key")
    held = arms(experiment, keys, assignments)
    left = assignments.filter(
        (pl.col("experiment_id") == experiment.id) & pl.col("left_on").is_not_null()
    ).get_column("customer_key")
    counted = ~keys.cast(pl.String).is_in(left.implode()) & ~members.get_column("is_erased")
    entry = {
        "id": experiment.id,
        "name": experiment.name,
        "holdout_share": experiment.holdout,
        "outcome_days": experiment.outcome_days,
        "treated": int((counted & ~held).sum()),
        "held_out": int((counted & held).sum()),
    }
    return members.filter(~held), entry


def prepare_customers(
    customers: pl.DataFrame, default_country: str, store: pl.DataFrame
) -> pl.DataFrame:
    """`customers` plus the normalised identifiers every platform uses (`email_norm`,
    `phone_norm` in E.164), their hashes, and `is_erased` from the suppression store.

    dim_customers already reads phones into E.164 (`phone_e164`); they go through the same
    normaliser as the erasure list's, so both hash alike whatever either side gets wrong."""
    prepared = customers.with_columns(
        email_norm=normalize.email(pl.col("email")),
        phone_norm=normalize.phone_e164(
            pl.col("phone_e164"), pl.col("country_code"), default_country
        ),
    ).with_columns(email_sha256=pl.col("email_norm"), phone_sha256=pl.col("phone_norm"))
    prepared = normalize.sha256_columns(prepared, ["email_sha256", "phone_sha256"])
    return mark_erased(prepared, store)


def check_columns(columns: list[str], audiences: list[Audience], where: Path) -> None:
    """Every column each audience's platforms need is in the customer frame, or say which not."""
    for audience in audiences:
        for platform in audience.platforms:
            needed = (*IDENTITY_COLUMNS, *REQUIRED_COLUMNS[platform])
            missing = [c for c in dict.fromkeys(needed) if c not in columns]
            if missing:
                raise ExportError(
                    f"{where}: audience {audience.name!r} exports to {platform}, which needs "
                    f"the columns {missing}, which marts.dim_customers (or the scores) "
                    f"lacks. Take {platform} out of the audience's platforms until they exist."
                )


def staging_dir(settings: Settings, logical_date: date) -> Path:
    """Where a day's exports wait for the audit."""
    return settings.exports_dir / ".staging" / logical_date.isoformat()


def on_demand_dir(
    settings: Settings, logical_date: date, audience: str | None, platform: str | None
) -> Path:
    """Where `marketing export --audience/--platform` puts its files."""
    return (
        settings.exports_dir
        / "on-demand"
        / logical_date.isoformat()
        / f"{audience or 'all'}.{platform or 'all'}"
    )


def file_stem(audience: str, kind: str) -> str:
    return audience if kind == "full" else f"{audience}.{kind}"


class Baselines:
    """The last published export of each audience and platform before a date: what the day's
    adds and removes are computed against."""

    def __init__(self, exports_dir: Path, logical_date: date) -> None:
        self.manifests: list[tuple[Path, dict]] = []
        if exports_dir.is_dir():
            days = sorted(
                (
                    p
                    for p in exports_dir.iterdir()
                    if p.is_dir() and DAY_DIR.match(p.name) and p.name < logical_date.isoformat()
                ),
                reverse=True,
            )
            for day in days:
                manifest = day / "manifest.json"
                if manifest.exists():
                    self.manifests.append((day, json.loads(manifest.read_text())))

    def rows(self, audience: str, platform: str) -> tuple[str | None, pl.DataFrame | None]:
        """`(date, rows of the full file)` of the newest published export holding it."""
        for day, manifest in self.manifests:
            files = sorted(
                (
                    f
                    for f in manifest.get("files", [])
                    # Manifests published before audiences had their own name say "segment".
                    if f.get("audience", f.get("segment")) == audience
                    and f["platform"] == platform
                    and f.get("kind", "full") == "full"
                ),
                key=lambda f: f.get("part", 1),
            )
            if files:
                frames = [pl.read_csv(day / f["path"], infer_schema=False) for f in files]
                return day.name, pl.concat(frames, how="diagonal")
        return None, None


def build_exports(
    settings: Settings,
    logical_date: date,
    run_id: str,
    *,
    audience: str | None = None,
    platform: str | None = None,
    out_dir: Path | None = None,
    source: str = "work",
) -> dict:
    """Write the files for `logical_date` and the manifest into `out_dir` (default the day's
    staging folder); return the manifest. `audience` and `platform` narrow it (a split audience
    by its own or its parent's name). Nothing reaches `exports/<date>/` before the audit.
    """
    store = current_store(settings, logical_date)
    customers = read_customers(settings, source)
    audiences = load_audiences(settings.audiences_file, columns=customers.schema)
    if platform is not None and platform not in FORMATS:
        raise ExportError(f"unknown platform {platform!r}; known: {sorted(FORMATS)}")
    check_columns(customers.columns, audiences, settings.audiences_file)
    prepared = prepare_customers(customers, settings.default_country, store)
    # The names a user gave are matched against the defined audiences before any file is
    # touched; only the defined names ever reach a path.
    chosen = choose_audiences(audiences, prepared, audience, platform, settings.audiences_file)
    assignments = read_assignments(settings, source)
    building = _inside_exports(settings, out_dir or staging_dir(settings, logical_date))
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    baselines = Baselines(settings.exports_dir, logical_date)

    files: list[ExportFile] = []
    suppressed: dict[str, dict[str, dict[str, int]]] = {}
    since: dict[str, dict[str, str | None]] = {}
    changes: dict[str, dict[str, dict[str, int]]] = {}
    warnings: list[str] = [
        f"{defined.name}: no customer has a value in {', '.join(unscored)} (a score no model "
        "has written yet; uplift needs a completed experiment), so the audience is empty"
        for defined in audiences if (unscored := defined.unscored(prepared))
    ]
    for warning in warnings:
        log.warning("%s", warning)
    entries: dict[str, dict] = {}
    for defined, name, selected, targets in chosen:
        members, experiment = hold_out(defined, name, selected, assignments)
        entries[name] = {"audience": defined.name, "members": selected.height,
                         "platforms": list(targets)}
        if experiment is not None:
            entries[name]["experiment"] = experiment
            log.info("%s: experiment %s, %d held out of every file", name, experiment["id"],
                     selected.height - members.height)
        for target in targets:
            allowed, held_back = apply_consent(members, target)
            rows = rows_for(target, allowed, name, defined.crm)
            baseline_day, previous = baselines.rows(name, target)
            if target in ("mailchimp", "crm") and previous is not None:
                previous = _without_erased(previous, target, prepared, store)
            adds, removes = delta(rows, previous, FORMATS[target].key)
            for kind, frame in zip(KINDS, (rows, adds, removes), strict=True):
                if kind != "full" and frame.height == 0:
                    continue  # no header-only change file; `changes` says nobody
                files += _write(
                    building,
                    target,
                    name,
                    kind,
                    frame,
                    settings.meta_part_rows,
                    held_back if kind == "full" else {},
                )
            suppressed.setdefault(name, {})[target] = held_back
            since.setdefault(name, {})[target] = baseline_day
            changes.setdefault(name, {})[target] = {"adds": adds.height,
                                                    "removes": removes.height}
            minimum = settings.min_audience.get(target)
            if minimum and rows.height < minimum:
                warnings.append(
                    f"{target}/{name}: {rows.height:,} people, fewer than the "
                    f"{minimum:,} matched people {PLATFORM_NAMES[target]} needs before "
                    "an audience serves (fewer still will match); upload it to grow it, "
                    "but do not expect it to run yet")
            log.info(
                "%s/%s: %d rows (%d adds, %d removes since %s), held back %s",
                target,
                name,
                rows.height,
                adds.height,
                removes.height,
                baseline_day or "no earlier export",
                held_back,
            )
    if audience is None and platform is None and source == "work":
        # The day's ad set budgets ride with the audiences: staged, audited and published
        # alike (pipelines/ads/export.py).
        from pipelines.ads.export import write_budget_file

        con = connect(settings)
        try:
            budget_file = write_budget_file(con, building)
        finally:
            con.close()
        if budget_file is not None:
            files.append(ExportFile(**budget_file))
        # The site feed and lookup and each persona's ad copy (personalised.py).
        from pipelines.activation.personalised import write_personalisation_files

        con = connect(settings)
        try:
            personalised, notes = write_personalisation_files(settings, con, prepared, building)
        finally:
            con.close()
        files += [ExportFile(**entry) for entry in personalised]
        for note in notes:
            log.warning("%s", note)
        warnings += notes
    manifest = {
        "lacks": coverage.step_lacks(
            settings, "export", settings.work_db if source == "work" else settings.published_db
        ),
        "run_id": run_id,
        "logical_date": logical_date.isoformat(),
        "source": source,
        "selected": {
            "audience": _defined_name(chosen, audience),
            "platform": next((p for p in FORMATS if p == platform), None),
        },
        "audiences": entries,
        "files": [vars(f) for f in files],
        "suppressed": suppressed,
        "deltas_since": since,
        "changes": changes,
        "warnings": warnings,
        "erasure": {"new_hashed_identifiers": taken_in_on(store, logical_date),
                    "hashed_identifiers": store.height},
    }
    (building / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def choose_audiences(
    audiences: list[Audience],
    prepared: pl.DataFrame,
    audience: str | None,
    platform: str | None,
    where: Path,
) -> list[tuple[Audience, str, pl.DataFrame, tuple[str, ...]]]:
    """`(defined audience, exported name, members, platforms)` to write: every audience, or those
    `audience` names (a split by its own name or its parent's) and `platform` takes. Raises
    ExportError, naming the audiences there are, when the selection matches nothing."""
    chosen, names = [], {}
    for defined in audiences:
        for name, members in defined.expand(prepared):
            if name in names:
                raise AudienceFileError(
                    f"{where}: audience {defined.name!r} makes {name!r}, which "
                    f"{names[name]!r} also makes"
                )
            names[name] = defined.name
            if audience is not None and audience not in (name, defined.name):
                continue
            targets = tuple(t for t in defined.platforms if platform in (None, t))
            if targets:
                chosen.append((defined, name, members, targets))
    if (audience is not None or platform is not None) and not chosen:
        raise ExportError(
            f"no audience {audience or '(any)'!r} with platform {platform or 'any'} in "
            f"{where} (split audiences are named <audience>__<value>); known: {sorted(names)}"
        )
    return chosen


def _defined_name(
    chosen: list[tuple[Audience, str, pl.DataFrame, tuple[str, ...]]], audience: str | None
) -> str | None:
    """The defined name equal to the `audience` asked for (from the audiences file, not from the
    user), or None when every audience was asked for."""
    if audience is None:
        return None
    return next(n for defined, name, _, _ in chosen for n in (name, defined.name) if n == audience)


def _inside_exports(settings: Settings, path: Path) -> Path:
    """`path`, checked to lie inside the exports folder (below it, not the folder itself), the
    only place exports write or delete."""
    root = settings.exports_dir.resolve()
    resolved = path.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise ExportError(f"{path}: not inside the exports folder {root}; nothing was written")
    return path


def _without_erased(
    previous: pl.DataFrame, platform: str, prepared: pl.DataFrame, store: pl.DataFrame
) -> pl.DataFrame:
    """The previous plain-identifier rows less erased people, so that a `removes` file never
    carries an erased person's email or record id (ad platforms' removes hold only hashes, and
    need the erased person's to forget them)."""
    erased = prepared.filter("is_erased")
    if platform == "crm":
        ids = erased.get_column("hubspot_record_id").cast(pl.String).str.strip_chars()
        return previous.filter(~pl.col("Record ID").is_in(ids.drop_nulls().implode()))
    emails = previous.select(
        pl.col("Email Address").str.strip_chars_start("'").str.to_lowercase().alias("h")
    )
    hashed = normalize.sha256_columns(emails, ["h"]).get_column("h")
    erased_emails = store.filter(pl.col("identifier_type") == "email").get_column("sha256")
    return previous.filter(
        ~hashed.is_in(erased_emails.implode()).fill_null(False)
        & ~pl.col("Email Address").is_in(erased.get_column("email_norm").drop_nulls().implode())
    )


def _write(
    building: Path,
    platform: str,
    audience: str,
    kind: str,
    frame: pl.DataFrame,
    meta_part_rows: int,
    suppressed: dict[str, int],
) -> list[ExportFile]:
    fmt = FORMATS[platform]
    parts = split_parts(frame, meta_part_rows if fmt.in_parts else None)
    written = []
    for number, part in enumerate(parts, start=1):
        stem = file_stem(audience, kind)
        relative = Path(platform) / (
            f"{stem}.part-{number:03d}.csv" if fmt.in_parts else f"{stem}.csv"
        )
        target = building / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        part.select(fmt.columns).write_csv(target)
        written.append(
            ExportFile(
                path=relative.as_posix(),
                platform=platform,
                audience=audience,
                kind=kind,
                part=number,
                parts=len(parts),
                rows=part.height,
                sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
                suppressed=suppressed if number == 1 else {},
            )
        )
    return written


def publish_exports(settings: Settings, logical_date: date) -> Path:
    """Move the audited staging folder to `exports/<date>/`, replacing an earlier run's."""
    return _replace_with(
        settings,
        staging_dir(settings, logical_date),
        settings.exports_dir / logical_date.isoformat(),
    )


def export_on_demand(
    settings: Settings,
    logical_date: date,
    audience: str | None,
    platform: str | None,
    source: str = "published",
) -> tuple[Path, dict]:
    """Build some audiences' files now, validate them with the export suites, and put them in
    `on_demand_dir`; return the folder and manifest. Raises QualityGateError when a suite
    fails (nothing is moved)."""
    from pipelines.quality.gate import QualityGateError, validate_exports

    # Built in a fresh folder of its own; the final folder is named after the audience the
    # audiences file defines (build_exports matched the name given against them).
    staging = settings.exports_dir / ".staging" / "on-demand"
    staging.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{logical_date.isoformat()}.", dir=staging))
    try:
        manifest = build_exports(
            settings,
            logical_date,
            f"on-demand__{logical_date}",
            audience=audience,
            platform=platform,
            out_dir=building,
            source=source,
        )
        failed = [
            o
            for o in validate_exports(building, settings.expectations_dir / "exports")
            if o.blocking
        ]
        if failed:
            raise QualityGateError(
                "on-demand export failed its checks; nothing was moved:\n"
                + "\n".join(o.describe() for o in failed),
                failures=failed,
            )
        selected = manifest["selected"]
        final = _replace_with(
            settings,
            building,
            on_demand_dir(settings, logical_date, selected["audience"], selected["platform"]),
        )
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final, manifest


def _replace_with(settings: Settings, building: Path, final: Path) -> Path:
    _inside_exports(settings, final)
    if not (building / "manifest.json").exists():
        raise FileNotFoundError(f"{building}: no staged exports to publish; run the export step")
    final.parent.mkdir(parents=True, exist_ok=True)
    retired = final.with_name(f".{final.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    building.rename(final)
    shutil.rmtree(retired, ignore_errors=True)
    return final
