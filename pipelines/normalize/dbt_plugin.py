"""A dbt-duckdb plugin that gives dbt's DuckDB connection the normalisation functions.

Named in `dbt_project/profiles.yml` (`plugins: [{module: pipelines.normalize.dbt_plugin}]`), so
staging models call `normalized_phone_e164(...)` and `normalized_email(...)` (through the
macros in `macros/normalize.sql`) and run the same Python code the exporters do.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from pipelines.normalize import udfs


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        udfs.register(conn)
