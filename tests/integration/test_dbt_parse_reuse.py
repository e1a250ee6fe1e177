"""A new data folder's first dbt invocation starts from the parse another data folder saved,
instead of parsing the whole project again (pipelines/transform.py: `_seed_parse`). Every test
and every new shop starts in a new data folder, and a full parse takes seconds."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from pipelines.config import Settings
from pipelines.transform import _parse_cache, dbt_paths, run_dbt, settings_vars

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 31)


def test_a_new_data_folder_reuses_the_saved_parse_and_gets_the_same_manifest(tmp_path, caplog):
    first = Settings(home=tmp_path / "first" / "data")
    second = Settings(home=tmp_path / "second" / "data")
    given = settings_vars(first)
    run_dbt(first, ["parse"], DAY, given)
    assert _parse_cache(first, given).exists()

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipelines.transform"):
        run_dbt(second, ["parse"], DAY, given)
    said = "\n".join(r.getMessage() for r in caplog.records)
    # dbt says why when it cannot use a saved parse (the profile's path of the work file,
    # which differed between data folders before dbt ran in the work file's folder).
    assert "dbt: " in said and "partial parsing" not in said.lower(), said

    def nodes(settings: Settings) -> dict:
        manifest = json.loads((dbt_paths(settings)[0] / "manifest.json").read_text())
        return {k: (v["checksum"]["checksum"], v["schema"], v["database"])
                for k, v in manifest["nodes"].items()}

    assert nodes(second) == nodes(first)

