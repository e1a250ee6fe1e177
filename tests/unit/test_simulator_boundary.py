"""The simulator is a development tool, not the product: no production module imports it, and
only the `marketing simulate` command names it (importing it inside the command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.config import REPO_ROOT

PRODUCTION = ("pipelines", "dags")
# The one production file that may name the simulator: the CLI imports it inside `simulate`.
ALLOWED = {Path("pipelines/cli.py")}


def _modules() -> list[str]:
    root = REPO_ROOT / "pipelines"
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_production_module_imports_without_loading_the_simulator():
    modules = _modules()
    assert "pipelines.cli" in modules and "pipelines.ingest" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'simulator')\n"
        "print(len([m for m in sys.modules if m.startswith('pipelines')]), loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    count, loaded = done.stdout.strip().split(" ", 1)
    assert int(count) >= len(modules)
    assert loaded == "[]", f"production modules loaded the simulator: {loaded}"


def test_no_production_file_names_the_simulator_or_its_truth():
    offenders = []
    for top in PRODUCTION:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            rel = path.relative_to(REPO_ROOT)
            if not path.is_file() or "__pycache__" in rel.parts or rel in ALLOWED:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{rel}: {word}" for word in ("simulator", "truth_dir") if word in text]
    assert offenders == []
    cli = (REPO_ROOT / "pipelines" / "cli.py").read_text(encoding="utf-8")
    assert "truth_dir" not in cli
    imports = [line for line in cli.splitlines() if "simulator" in line and "import" in line]
    assert imports == ["    from simulator import continue_days, landing_is_empty, simulate, "
                       "world_exists"]  # fmt: skip
