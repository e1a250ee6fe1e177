"""Validate one in-memory table against one suite with Great Expectations.

Tables are validated as DataFrames (Polars -> pandas -> GX pandas datasource) rather than
through GX's SQL datasource, because GX's SQL path on DuckDB (duckdb-engine) fails every metric.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl
import polars.selectors as cs

from pipelines.quality._gx import import_gx
from pipelines.quality.suites import SuiteError, SuiteSpec, build_expectation, check_expectation

logger = logging.getLogger(__name__)

# Kept short on purpose: `observed` is read in logs, error messages and an audit table.
_OBSERVED_MAX_CHARS = 500
_SAMPLE_VALUES = 5
# A list kwarg longer than this (a reference's value set can hold every customer key) is
# summarised in `kwargs_json` so that one audit row cannot grow to megabytes.
_KWARG_LIST_MAX_ITEMS = 50
# Our own bookkeeping key in each expectation's meta: GX returns results in its own order
# (grouped by metric), so this maps every result back to the expectation that produced it.
_INDEX_KEY = "audit_index"
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE_VALUES}


@dataclass(frozen=True)
class ExpectationOutcome:
    """The verdict of one expectation on one table, flat enough to be a row of an audit table."""

    suite: str
    table: str
    expectation_type: str
    column: str | None
    severity: str
    success: bool
    observed: str
    kwargs_json: str

    @property
    def blocking(self) -> bool:
        """True for a failed error-severity expectation, which must stop publishing."""
        return not self.success and self.severity == "error"

    def describe(self) -> str:
        """One line: `<table>: <expectation_type>(<column>) -> <observed>`."""
        return f"{self.table}: {self.expectation_type}({self.column or ''}) -> {self.observed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for logging and JSON."""
        return asdict(self)


def validate_frame(
    frame: pl.DataFrame,
    suite: SuiteSpec,
    extra_expectations: Sequence[Mapping[str, Any]] = (),
    *,
    raw_results: list[dict[str, Any]] | None = None,
) -> list[ExpectationOutcome]:
    """Run `suite` (plus `extra_expectations`, same dict shape) on `frame`.

    Returns one outcome per expectation, in suite order followed by the extras. An expectation
    that GX cannot evaluate (a missing column, say) comes back as a failure carrying GX's error
    message rather than raising, so one bad column never hides the other results.

    When `raw_results` is a list, GX's own result for the whole suite is appended to it as a
    JSON-serialisable dict (the shape of `ExpectationSuiteValidationResult.to_json_dict()`, with
    the suite name and table added to its `meta`) for `pipelines.quality.docs.render_data_docs`.
    The returned outcomes are the same either way.

    Raises:
        SuiteError: an extra expectation is malformed.
    """
    gx = import_gx()

    expectations = list(suite.expectations)
    for index, extra in enumerate(extra_expectations):
        where = f"{suite.path}: run-time expectation[{index}]"
        expectations.append(check_expectation(extra, where=where, build=False))

    gx_expectations = []
    for index, expectation in enumerate(expectations):
        tagged = {**expectation, "meta": {**expectation["meta"], _INDEX_KEY: index}}
        where = f"{suite.path}: expectation {index} as run"
        gx_expectations.append(build_expectation(tagged, where=where))

    context = _ephemeral_context(gx)
    asset = context.data_sources.add_pandas(name="audit").add_dataframe_asset(name=suite.name)
    batch = asset.add_batch_definition_whole_dataframe("whole_table").get_batch(
        batch_parameters={"dataframe": _to_pandas(frame)}
    )
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=gx_expectations)
    if len(gx_suite.expectations) != len(gx_expectations):
        # ExpectationSuite drops what it cannot add; each was built above, so this is a GX change.
        raise SuiteError(f"{suite.path}: GX dropped expectations from suite {suite.name!r}")
    suite_result = batch.validate(gx_suite, result_format=_RESULT_FORMAT)

    by_index: dict[int, Any] = {}
    for result in suite_result.results:
        index = (result.expectation_config.meta or {}).get(_INDEX_KEY)
        if isinstance(index, int):
            by_index[index] = result

    outcomes = []
    for index, expectation in enumerate(expectations):
        result = by_index.get(index)
        if result is None:
            # Fail closed: an expectation without a verdict must not count as passed.
            success, observed = False, "error: GX returned no result for this expectation"
        else:
            success = result.success is True
            observed = _observed(result.result or {}, result.exception_info or {}, success)
        outcomes.append(
            ExpectationOutcome(
                suite=suite.name,
                table=suite.table,
                expectation_type=expectation["type"],
                column=_column_of(expectation["kwargs"]),
                severity=expectation["meta"]["severity"],
                success=success,
                observed=observed,
                kwargs_json=_kwargs_json(expectation["kwargs"]),
            )
        )
    logger.debug(
        "suite %s on %s: %d expectations, %d failed",
        suite.name,
        suite.table,
        len(outcomes),
        sum(not outcome.success for outcome in outcomes),
    )
    if raw_results is not None:
        # Data docs are a by-product: failing to serialise GX's result must never turn into a
        # validation crash (which would block publishing), so it is logged and skipped.
        try:
            raw_results.append(_raw_result(suite_result, suite))
        except Exception:
            logger.exception("could not serialise GX's result for suite %s", suite.name)
    return outcomes


def _raw_result(suite_result: Any, suite: SuiteSpec) -> dict[str, Any]:
    """GX's `ExpectationSuiteValidationResult` as a plain, JSON-serialisable dict.

    Added to `meta`, for readers of the dict and for GX's page renderer:
    `expectation_suite_name` and `table` (the suite and the table it validated),
    `validation_time` (UTC, GX's own format), and `batch_spec.data_asset_name` set to the table,
    which is where GX's renderer reads the "Data asset" shown in a page's header and title
    (a DataFrame batch has no name of its own there).
    """
    # `to_json_dict` leaves some numpy scalars in place (a quantile check's `success` is a
    # numpy bool, which `json.dumps` rejects), so the dict is made plain Python afterwards.
    raw: dict[str, Any] = _plain(suite_result.to_json_dict())
    meta = raw.get("meta")
    meta = raw["meta"] = dict(meta) if isinstance(meta, Mapping) else {}
    meta["expectation_suite_name"] = suite.name
    meta["table"] = suite.table
    meta.setdefault("validation_time", datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
    batch_spec = meta.get("batch_spec")
    meta["batch_spec"] = {
        **(batch_spec if isinstance(batch_spec, Mapping) else {}),
        "data_asset_name": suite.table,
    }
    return raw


def _ephemeral_context(gx: Any) -> Any:
    """A throwaway in-memory GX context with progress bars off (about 10 ms to create)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _to_pandas(frame: pl.DataFrame) -> Any:
    """Convert for GX's pandas engine.

    Decimals become float64 first: pandas would hold them as Python `Decimal` objects, on which
    GX's numeric metrics (quantiles, means) are slow or fail. Float precision is ample for
    range checks.
    """
    if frame.select(cs.decimal()).width:
        frame = frame.with_columns(cs.decimal().cast(pl.Float64))
    return frame.to_pandas()


def _column_of(kwargs: Mapping[str, Any]) -> str | None:
    if isinstance(kwargs.get("column"), str):
        return kwargs["column"]
    if "column_A" in kwargs and "column_B" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if isinstance(kwargs.get("column_list"), list):
        return ",".join(str(column) for column in kwargs["column_list"])
    return None


def _observed(result: Mapping[str, Any], exception_info: Mapping[str, Any], success: bool) -> str:
    """A short human summary of what GX saw."""
    message = _exception_message(exception_info)
    if message is not None:
        return _clip(f"error: {message}")
    parts: list[str] = []
    if "unexpected_count" in result:
        count = _plain(result.get("unexpected_count"))
        percent = _plain(result.get("unexpected_percent"))
        text = f"unexpected_count={count}"
        if isinstance(percent, float) and not math.isnan(percent):
            text += f" ({percent:.4g}%)"
        if "element_count" in result:
            text += f" of {_plain(result['element_count'])} rows"
        parts.append(text)
        sample = [_plain(value) for value in result.get("partial_unexpected_list") or []]
        # A not-null check's sample is all None: not worth printing.
        if not success and any(value is not None for value in sample):
            parts.append(f"e.g. {_dump(sample[:_SAMPLE_VALUES])}")
    if "observed_value" in result:
        parts.append(f"observed_value={_dump(_plain(result['observed_value']))}")
    mismatched = (result.get("details") or {}).get("mismatched")
    if isinstance(mismatched, Mapping):
        parts.extend(f"{key}={_dump(_plain(value))}" for key, value in mismatched.items())
    if not parts:
        parts.append(_dump(_plain(dict(result))) if result else "no details")
    return _clip(", ".join(parts))


def _exception_message(exception_info: Mapping[str, Any]) -> str | None:
    """GX's error message, if evaluating the expectation raised.

    GX reports either one flat info dict or, when a metric failed, a dict of info dicts keyed
    by metric id.
    """
    candidates = [exception_info, *(v for v in exception_info.values() if isinstance(v, Mapping))]
    for info in candidates:
        if info.get("raised_exception"):
            return " ".join(str(info.get("exception_message") or "unknown error").split())
    return None


def _kwargs_json(kwargs: Mapping[str, Any]) -> str:
    shown: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, list | tuple | set) and len(value) > _KWARG_LIST_MAX_ITEMS:
            shown[key] = f"<{len(value)} values>"
        else:
            shown[key] = _plain(value)
    return json.dumps(shown, sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    """Turn numpy scalars, decimals and timestamps into JSON-friendly Python values."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    to_list = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(to_list) and not isinstance(value, str | bytes):
        try:
            return _plain(to_list())
        except (TypeError, ValueError):
            return str(value)
    return value


def _dump(value: Any) -> str:
    """JSON text with floats cut to 6 significant digits (0.9899999999999999 reads as 0.99)."""
    return json.dumps(_rounded(value), default=str)


def _rounded(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def _clip(text: str) -> str:
    return text if len(text) <= _OBSERVED_MAX_CHARS else text[: _OBSERVED_MAX_CHARS - 3] + "..."
