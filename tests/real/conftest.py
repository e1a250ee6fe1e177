"""Where the public real data sets are, for the tests in tests/real.

They live outside the repository (their licences keep them out of the package): in
`MARKETING_REAL_DATA` if set, else in `shared/data/real` beside the repository, where a clone
for CI puts them. Tests read the files in place; a landing folder gets a link to a file, and
what a test derives from one goes to its tmp_path.

Without the folder a test is skipped on a user's machine, and fails under CI (`CI` set), so
CI never passes without having read the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.config import Settings

REPOSITORY = Path(__file__).resolve().parents[2]


def real_data_root() -> Path:
    configured = os.environ.get("MARKETING_REAL_DATA")
    return Path(configured) if configured else REPOSITORY.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of the real data sets (README.md and one folder per set)."""
    root = real_data_root()
    if not (root / "README.md").is_file():
        reason = (f"the real data sets are not at {root}: set MARKETING_REAL_DATA to their "
                  f"folder, or put shared/data/real beside the repository")
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-data tests; {reason}")
        pytest.skip(reason)
    return root


@pytest.fixture(scope="session")
def real_file(real_data: Path) -> Callable[..., Path]:
    """`real_file("hillstrom", "x.csv")`: a file of a data set. A set whose file is missing
    from a folder that is there is a broken copy: the test fails and names it."""

    def find(*parts: str) -> Path:
        path = real_data.joinpath(*parts)
        if not path.is_file():
            pytest.fail(f"{path} is missing from the real data folder {real_data}")
        return path

    return find


@pytest.fixture
def shop(tmp_path: Path) -> Settings:
    """A data home of its own (MARKETING_HOME) with an empty landing folder."""
    return Settings(home=tmp_path / "data", duckdb_memory_limit="1GB", duckdb_threads=1)
