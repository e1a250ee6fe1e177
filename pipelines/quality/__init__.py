"""Data quality gate: Great Expectations suites that must pass before anything is published.

Importing this package is cheap; Great Expectations itself is imported only when a suite is
loaded or a table validated.
"""

from pipelines.quality.gate import AuditSummary, QualityGateError, audit_tables
from pipelines.quality.suites import SuiteError, SuiteSpec, load_suites, suite_tables
from pipelines.quality.validate import ExpectationOutcome, validate_frame

__all__ = [
    "AuditSummary",
    "ExpectationOutcome",
    "QualityGateError",
    "SuiteError",
    "SuiteSpec",
    "audit_tables",
    "load_suites",
    "suite_tables",
    "validate_frame",
]
