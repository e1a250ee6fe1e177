"""Deferred, quiet import of Great Expectations.

GX takes seconds to import, so nothing in this package imports it at module level: DAG parsing
and CLI start-up stay fast, and only an actual audit pays for it.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType


def import_gx() -> ModuleType:
    """Return the `great_expectations` module, imported with usage analytics switched off.

    The variable is set with `setdefault` so an operator who deliberately sets it keeps control;
    it must be in place before the first import for GX to honour it.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # GX logs routine chatter at INFO (several lines per validated table). Quiet it unless the
    # application has configured GX's logger itself.
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)
    import great_expectations

    return great_expectations
