"""Settings in one place: paths, DuckDB resources and thresholds, read from the environment.

Nothing here runs at import time beyond defining names: `Settings.from_env()` reads the
environment when a task or command starts, so a missing variable never breaks DAG parsing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent

SCALES: dict[str, int] = {"xs": 1_000, "s": 10_000, "m": 100_000, "l": 1_000_000}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name}={raw!r} must be a whole number") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name}={raw!r} must be a number") from exc


def _timezone(name: str) -> str:
    """An IANA time zone name from the environment, UTC when unset."""
    raw = (os.environ.get(name) or "UTC").strip()
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"setting {name}={raw!r} must be an IANA time zone name, "
                         "such as UTC or Europe/Berlin") from exc
    return raw


def _env_bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"setting {name}={raw!r} must be true or false")
    return raw in ("true", "1", "yes")


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(name: str, default: str) -> int:
    """A weekday name from the environment ("monday", any case), as date.weekday() numbers it."""
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in WEEKDAYS:
        raise ValueError(f"setting {name}={raw!r} must be a weekday name, such as Monday")
    return WEEKDAYS.index(raw)


def _currency(name: str) -> str:
    """An ISO 4217 currency code (three letters, upper-cased) from the environment."""
    raw = os.environ.get(name, "").strip().upper()
    if not (len(raw) == 3 and raw.isascii() and raw.isalpha()):
        raise ValueError(f"setting {name}={raw!r} must be an ISO 4217 three-letter currency "
                         "code, such as USD or EUR")
    return raw


def _click_levels(name: str) -> tuple[int, int]:
    """Two whole numbers of clicks, the first at least 1 and below the second."""
    raw = os.environ.get(name) or "1,3"
    try:
        first, engaged = (int(part) for part in raw.split(","))
    except ValueError:
        first = engaged = 0
    if not 1 <= first < engaged:
        raise ValueError(f"setting {name}={raw!r} must be two whole numbers of email clicks, "
                         "the first at least 1 and below the second, such as 1,3")
    return first, engaged


@dataclass(frozen=True)
class PersonaSettings:
    """How personas are found (pipelines/personas). Every run starts from the last run's model
    and keeps its number of personas; every `refit_every_days` (or when the data's shape
    changes) k is chosen again from `k_min`-`k_max` on a sample of `selection_sample`
    customers: the best BIC among the ks whose silhouette is positive and whose bootstrap
    stability (mean adjusted Rand index over up to `bootstraps` resamples) is at least
    `min_stability` (see pipelines/personas/select.py). When no k is, the personas are the RFM
    segments until the next choice."""

    k_min: int = 3
    k_max: int = 10
    seeds: tuple[int, ...] = (0, 1)
    # At most this many resamples per k; at least four (select.MIN_BOOTSTRAPS), and more only
    # while the mean agreement is within two standard errors of `min_stability`. The cap is
    # a cost: each resample is a fit. With one resample's agreement spreading by sd (about
    # 0.06 at a stable k on the simulated shop), eight pin the mean to +-2 sd / sqrt(8) =
    # +-0.04 at 95%; a k whose mean is still that close to the bar is admitted or not on the
    # mean, which is a coin toss only for ks the data barely supports either way.
    bootstraps: int = 8
    # Adjusted Rand index of 0.8 and above is "good" agreement (Steinley 2004, Psychological
    # Methods 9:386): below it, resampling the customers redraws the personas.
    min_stability: float = 0.8
    selection_sample: int = 4000
    # A new model is fitted on at most this many customers, then refined on all of them.
    fit_sample: int = 50_000
    refit_every_days: int = 28
    max_iter: int = 200
    # EM rounds on a new day's data from yesterday's model.
    warm_iter: int = 30
    # Processes that score the candidate ks side by side; 0: one per core.
    workers: int = 0


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes, and the knobs a data engineer may turn.

    `home` is the data folder (env `MARKETING_HOME`, default the repo's `data/`); every other
    path hangs under it unless overridden.
    """

    home: Path
    dbt_project_dir: Path = REPO_ROOT / "dbt_project"
    expectations_dir: Path = REPO_ROOT / "expectations"
    audiences_file: Path = REPO_ROOT / "pipelines" / "activation" / "audiences.yml"
    ads_file: Path = REPO_ROOT / "pipelines" / "ads" / "ads.yml"
    kpis_file: Path = REPO_ROOT / "pipelines" / "ads" / "kpis.yml"
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 2
    error_budget: float = 0.05
    # A file may always have this many bad rows, so one bad line never rejects a tiny file.
    error_budget_min_rows: int = 1
    # Per-source budgets (env MARKETING_ERROR_BUDGET_<SOURCE>), overriding `error_budget`.
    error_budgets: dict[str, float] = field(default_factory=dict)
    # A landing file with a longer line (its line end included), or a larger file, is rejected
    # whole, naming the line: a GA4 event line is a few KB, and 16 MiB is DuckDB's own largest
    # JSON object (`maximum_object_size`), so a longer line is a file that is not what its
    # name says (a dump on one line); a file of 64 GiB is a mistake that would fill the disk
    # before it failed (env MARKETING_MAX_LINE_BYTES / _FILE_BYTES).
    max_line_bytes: int = 16 << 20
    max_file_bytes: int = 64 << 30
    churn_horizon_days: int = 90
    # Lifetime value is what a customer spends in the next year; training cutoffs end this
    # many days before the validation cutoff (a whole year apart would need three years).
    ltv_horizon_days: int = 365
    ltv_training_gap_days: int = 30
    # A shop with less than a year of history learns value over the longest shorter window it
    # holds (then scaled to the horizon), but never one below this: over shorter windows most
    # customers buy nothing, and the scale-up to a year would multiply the noise (ml/ltv.py).
    ltv_min_label_days: int = 90
    # A lead converts when their first order comes within this many days.
    lead_horizon_days: int = 60
    # The lead model's click levels: a lead with at least the first number of email clicks
    # has "clicked", with the second is "engaged" (env MARKETING_LEAD_CLICK_LEVELS, "1,3").
    # A business rule for the baseline and a feature, not a CRM's lifecycle stage.
    lead_click_levels: tuple[int, int] = (1, 3)
    # A model scores until it is this many days old, then the next run trains a new one.
    retrain_every_days: int = 7
    # A new model version replaces the one in use only if its validation metric (AUC, or
    # Spearman for lifetime value) is at most this much below the old one's on the same
    # customers, and above the baseline's.
    promotion_tolerance: float = 0.005
    # Weekly units per product are forecast this many weeks ahead.
    forecast_weeks: int = 8
    # XGBoost's threads. One by default: its OpenMP threads spin while they wait for each
    # other, so when another process holds a core a 2-thread fit slows to a crawl (measured
    # on a shared 2-core machine: 7 ms per boosting round with 1 thread, 240 ms with 2).
    ml_threads: int = 1
    default_currency: str = "USD"
    # Customer-level money (revenue, order values, lifetime value, personas) is in this
    # currency: orders in another are converted with the rates in landing/fx/ (env
    # MARKETING_REPORTING_CURRENCY, ISO 4217). None: the orders' own currency when they are
    # all in one (no rates needed), else default_currency (int_orders__rates decides).
    reporting_currency: str | None = None
    # Country assumed for a phone number written in national form when the record has none
    # (env MARKETING_DEFAULT_COUNTRY, ISO 3166 alpha-2).
    default_country: str = "US"
    # HubSpot exports write times in the account's time zone without an offset (env
    # MARKETING_HUBSPOT_TIMEZONE, an IANA name); staging reads them in it.
    hubspot_timezone: str = "UTC"
    # Meta Business Suite's content exports write publish times in the Page's time zone,
    # without an offset (env MARKETING_SOCIAL_TIMEZONE, an IANA name).
    social_timezone: str = "UTC"
    # Meta's API takes at most 10,000 rows per call, so Meta files come in parts this size.
    meta_part_rows: int = 10_000
    # The fewest matched people an ad platform needs before a custom audience serves: Meta
    # asks for at least 100; Google Ads Customer Match lists serve from 100 active members
    # (since December 2024; Search and YouTube asked for 1,000 before). A smaller export is
    # flagged in the manifest and the report (env MARKETING_MIN_AUDIENCE_META / _GOOGLE).
    min_audience: dict[str, int] = field(default_factory=lambda: {"meta": 100, "google": 100})
    # The report step e-mails the weekly digest (the week's actions and headlines) on this
    # weekday, 0 Monday as date.weekday() counts, when an SMTP target is configured (env
    # MARKETING_DIGEST_WEEKDAY, a weekday name).
    digest_weekday: int = 0
    personas: PersonaSettings = field(default_factory=PersonaSettings)
    # A step whose inputs are all as they were at its last run keeps that run's result
    # (pipelines/reuse.py); false runs every step in full (env MARKETING_REUSE).
    reuse: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("MARKETING_HOME") or REPO_ROOT / "data").resolve()
        kwargs: dict[str, object] = {"home": home}
        if os.environ.get("MARKETING_EXPECTATIONS_DIR"):
            kwargs["expectations_dir"] = Path(os.environ["MARKETING_EXPECTATIONS_DIR"]).resolve()
        if os.environ.get("MARKETING_SEGMENTS_FILE"):
            # The old name: a setting that silently stopped working would export the defaults.
            raise ValueError("MARKETING_SEGMENTS_FILE was renamed MARKETING_AUDIENCES_FILE "
                             "(the file of named audiences to export); set that instead")
        if os.environ.get("MARKETING_AUDIENCES_FILE"):
            kwargs["audiences_file"] = Path(os.environ["MARKETING_AUDIENCES_FILE"]).resolve()
        if os.environ.get("MARKETING_ADS_FILE"):
            kwargs["ads_file"] = Path(os.environ["MARKETING_ADS_FILE"]).resolve()
        if os.environ.get("MARKETING_KPIS_FILE"):
            kwargs["kpis_file"] = Path(os.environ["MARKETING_KPIS_FILE"]).resolve()
        if os.environ.get("MARKETING_DUCKDB_MEMORY_LIMIT"):
            kwargs["duckdb_memory_limit"] = os.environ["MARKETING_DUCKDB_MEMORY_LIMIT"]
        kwargs["duckdb_threads"] = _env_int("MARKETING_DUCKDB_THREADS", 2)
        kwargs["error_budget"] = _env_float("MARKETING_ERROR_BUDGET", 0.05)
        kwargs["retrain_every_days"] = _env_int("MARKETING_RETRAIN_EVERY_DAYS", 7)
        kwargs["promotion_tolerance"] = _env_float("MARKETING_PROMOTION_TOLERANCE", 0.005)
        kwargs["ml_threads"] = _env_int("MARKETING_ML_THREADS", 1)
        kwargs["error_budget_min_rows"] = _env_int("MARKETING_ERROR_BUDGET_MIN_ROWS", 1)
        for key, default in (("max_line_bytes", 16 << 20), ("max_file_bytes", 64 << 30)):
            name = f"MARKETING_{key.upper()}"
            kwargs[key] = _env_int(name, default)
            if kwargs[key] < 1:  # type: ignore[operator]
                raise ValueError(f"setting {name} must be at least 1 (bytes)")
        kwargs["personas"] = PersonaSettings(
            k_min=_env_int("MARKETING_PERSONAS_K_MIN", 3),
            k_max=_env_int("MARKETING_PERSONAS_K_MAX", 10),
            refit_every_days=_env_int("MARKETING_PERSONAS_REFIT_EVERY_DAYS", 28),
            bootstraps=_env_int("MARKETING_PERSONAS_BOOTSTRAPS", 8),
            workers=_env_int("MARKETING_PERSONAS_WORKERS", 0),
        )
        country = (os.environ.get("MARKETING_DEFAULT_COUNTRY") or "US").strip().upper()
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise ValueError(
                f"setting MARKETING_DEFAULT_COUNTRY={country!r} must be an ISO "
                "3166 two-letter country code, such as US or DE"
            )
        kwargs["default_country"] = country
        if os.environ.get("MARKETING_REPORTING_CURRENCY", "").strip():
            kwargs["reporting_currency"] = _currency("MARKETING_REPORTING_CURRENCY")
        kwargs["hubspot_timezone"] = _timezone("MARKETING_HUBSPOT_TIMEZONE")
        kwargs["social_timezone"] = _timezone("MARKETING_SOCIAL_TIMEZONE")
        kwargs["digest_weekday"] = _weekday("MARKETING_DIGEST_WEEKDAY", "monday")
        kwargs["lead_click_levels"] = _click_levels("MARKETING_LEAD_CLICK_LEVELS")
        kwargs["reuse"] = _env_bool("MARKETING_REUSE", True)
        kwargs["meta_part_rows"] = _env_int("MARKETING_META_PART_ROWS", 10_000)
        if not 1 <= kwargs["meta_part_rows"] <= 10_000:  # type: ignore[operator]
            raise ValueError(
                "setting MARKETING_META_PART_ROWS must be between 1 and 10000 "
                "(Meta takes at most 10,000 rows per call)"
            )
        kwargs["min_audience"] = {
            "meta": _env_int("MARKETING_MIN_AUDIENCE_META", 100),
            "google": _env_int("MARKETING_MIN_AUDIENCE_GOOGLE", 100),
        }
        prefix = "MARKETING_ERROR_BUDGET_"
        kwargs["error_budgets"] = {
            name.removeprefix(prefix).lower(): _env_float(name, 0.05)
            for name in os.environ
            if name.startswith(prefix) and name != prefix + "MIN_ROWS"
        }
        for name, budget in [
            ("MARKETING_ERROR_BUDGET", kwargs["error_budget"]),
            *((prefix + k.upper(), v) for k, v in kwargs["error_budgets"].items()),
        ]:  # type: ignore[union-attr]
            if not 0 <= float(budget) <= 1:  # type: ignore[arg-type]
                raise ValueError(f"setting {name} must be between 0 and 1")
        return cls(**kwargs)  # type: ignore[arg-type]

    def error_budget_for(self, source: str) -> float:
        """The share of bad rows a file of `source` may have before it is rejected."""
        return self.error_budgets.get(source, self.error_budget)

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def work_db(self) -> Path:
        return self.warehouse_dir / "work.duckdb"

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / "marketing.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def suppression_dir(self) -> Path:
        return self.home / "suppression"

    @property
    def erasure_file(self) -> Path:
        """Where a person's erasure requests are dropped (emails and/or phones, plain)."""
        return self.suppression_dir / "erasure.csv"

    @property
    def suppression_store(self) -> Path:
        """Erased identifiers, kept only as SHA-256 of the normalised value."""
        return self.suppression_dir / "erased_sha256.csv"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def temp_dir(self) -> Path:
        return self.home / "tmp"
