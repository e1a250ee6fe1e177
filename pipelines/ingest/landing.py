"""The landing folder's layout, read in one place: `landing/<source>/<YYYY-MM-DD>/<files>`.

A folder's name is its export date. Files directly under `landing/<source>/` have no date (a
run for any day reads them). A file below a folder whose name is no real date (`not-a-date`,
`2026-02-30`) is never loaded by any run: its folder is skipped with the reason, which ingest
reports and `marketing run` lists among the files waiting, rather than the file being loaded
for every day or a command failing on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOT_A_DATE = "the folder name is not an export date (YYYY-MM-DD)"
NOT_A_REAL_DATE = "the folder name is not a real date (YYYY-MM-DD)"


def folder_date(name: str) -> date | str:
    """The export date a folder's name gives, or why it gives none."""
    if not DATE_DIR.match(name):
        return NOT_A_DATE
    try:
        return date.fromisoformat(name)
    except ValueError:
        return NOT_A_REAL_DATE


def export_date_of(path: str | Path) -> date | None:
    """The export date of a landing file from its path (its nearest dated folder), or None."""
    for part in reversed(Path(path).parts[:-1]):
        when = folder_date(part)
        if isinstance(when, date):
            return when
    return None


@dataclass
class Landing:
    """A source's landing files with their export dates (None: undated, directly under the
    source's folder), and the folders skipped, each with why."""

    files: list[tuple[Path, date | None]] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)


def scan(landing_dir: Path, source: str) -> Landing:
    """Every file of `source` in the landing folder, in path order, with its export date.

    The folder directly under the source's is the export date; folders below a dated folder
    (parts of one export) take its date.
    """
    root = landing_dir / source
    found = Landing()
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        parts = path.relative_to(root).parts
        if len(parts) == 1:
            found.files.append((path, None))
            continue
        when = folder_date(parts[0])
        if isinstance(when, date):
            found.files.append((path, when))
        else:
            found.skipped.setdefault(root / parts[0], when)
    return found


def skipped_folders(landing_dir: Path) -> dict[Path, str]:
    """Every skipped folder of every source, with why."""
    skipped: dict[Path, str] = {}
    if landing_dir.is_dir():
        for source in sorted(p.name for p in landing_dir.iterdir() if p.is_dir()):
            skipped.update(scan(landing_dir, source).skipped)
    return skipped


def dated_folders(landing_dir: Path) -> dict[Path, date]:
    """Every export folder (`<source>/<YYYY-MM-DD>/`) with its date."""
    folders: dict[Path, date] = {}
    for folder in sorted(landing_dir.glob("*/*")):
        if folder.is_dir():
            when = folder_date(folder.name)
            if isinstance(when, date):
                folders[folder] = when
    return folders
