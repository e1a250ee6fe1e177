"""The install is declared and locked.

pyproject.toml names every distribution that the product (pipelines/, simulator/, dags/) imports
or runs as a command; requirements.in pins each exactly; requirements.lock holds the whole
resolved set with hashes, and requirements-dev.lock the same set plus the test and lint tools.
Imports are traced to the distribution that installs the module (so `airflow.sdk` is
apache-airflow-task-sdk, `sklearn` is scikit-learn) from the metadata of this environment.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.metadata as md
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.config import REPO_ROOT

PRODUCT = ("pipelines", "simulator", "dags")
# Development code: may use the dev tools as well as the runtime set.
DEVELOPMENT = ("tests", "bench")
RUNTIME_IN, DEV_IN = "requirements.in", "requirements-dev.in"
RUNTIME_LOCK, DEV_LOCK = "requirements.lock", "requirements-dev.lock"


@dataclass
class LockEntry:
    name: str
    version: str
    marker: str
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)

    def applies(self) -> bool:
        """Whether pip installs this line on the running interpreter and platform."""
        return not self.marker or Requirement(f"x; {self.marker}").marker.evaluate()


def parse_lock(text: str) -> dict[tuple[str, str], LockEntry]:
    """The entries of a `uv pip compile --generate-hashes` file, keyed by (name, marker).

    A name may appear twice with exclusive markers (a universal lock forks per Python version).
    """
    entries: dict[tuple[str, str], LockEntry] = {}
    entry: LockEntry | None = None
    in_via = False
    for raw in text.splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line or (line.startswith("#") and not raw.startswith(" ")):
            continue
        if not raw.startswith((" ", "\t")):
            req = Requirement(line)
            pins = [s for s in req.specifier if s.operator == "=="]
            if len(pins) != 1 or len(req.specifier) != 1:
                raise ValueError(f"lock line is not one exact pin: {line!r}")
            marker = str(req.marker) if req.marker else ""
            entry = LockEntry(canonicalize_name(req.name), pins[0].version, marker)
            entries[(entry.name, marker)] = entry
            in_via = False
        elif entry is None:
            raise ValueError(f"indented line before any requirement: {raw!r}")
        elif line.startswith("--hash="):
            entry.hashes.append(line.removeprefix("--hash="))
        elif line.startswith("# via"):
            rest = line.removeprefix("# via").strip()
            entry.via |= {rest} if rest else set()
            in_via = not rest
        elif in_via and line.startswith("#"):
            entry.via.add(line.lstrip("# ").strip())
    return entries


def parse_pins(path: Path) -> dict[str, str]:
    """Exact pins of a requirements input file (its -r/-c lines are left out)."""
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", (
            f"{path.name}: {line!r} is not an exact pin (name==version)")
        pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def _lock(name: str) -> dict[tuple[str, str], LockEntry]:
    return parse_lock((REPO_ROOT / name).read_text())


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def declared_runtime() -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in _project()["dependencies"]}


def declared_dev() -> set[str]:
    dev = _project()["optional-dependencies"]["dev"]
    return {canonicalize_name(Requirement(r).name) for r in dev}


def declared_scratch() -> set[str]:
    """Extras other than dev: tools a benchmark script runs in a scratch venv of its own."""
    extras = _project()["optional-dependencies"]
    return {canonicalize_name(Requirement(r).name)
            for name, reqs in extras.items() if name != "dev" for r in reqs}


@cache
def module_owners() -> dict[str, frozenset[str]]:
    """Dotted module name -> the distributions whose installed files define it."""
    suffixes = sorted(importlib.machinery.all_suffixes(), key=len, reverse=True)
    owners: dict[str, set[str]] = {}
    for dist in md.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or []:
            path = str(file)
            suffix = next((s for s in suffixes if path.endswith(s)), None)
            if suffix is None or path.startswith(".."):
                continue
            parts = path[: -len(suffix)].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            owners.setdefault(".".join(parts), set()).add(name)
    return {module: frozenset(names) for module, names in owners.items()}


def owner(module: str) -> frozenset[str]:
    """The distributions that install `module`: its own file, else its nearest package's."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        found = module_owners().get(".".join(parts[:end]))
        if found:
            return found
    return frozenset()


def _first_party() -> set[str]:
    """Top-level names the repository itself provides (packages, and the scripts' siblings)."""
    names = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").exists()}
    for top in (*PRODUCT, *DEVELOPMENT):
        names |= {p.stem for p in (REPO_ROOT / top).rglob("*.py")}
    return names | set(PRODUCT) | set(DEVELOPMENT)


def _files(tops: tuple[str, ...], root: Path) -> list[Path]:
    return sorted(p for top in tops for p in (root / top).rglob("*.py")
                  if "__pycache__" not in p.parts)  # fmt: skip


def _is_beside_python(node: ast.AST) -> bool:
    """`Path(sys.executable).parent`: how the product finds a command installed in its venv."""
    return (isinstance(node, ast.Attribute) and node.attr == "parent"
            and isinstance(node.value, ast.Call) and len(node.value.args) == 1
            and ast.unparse(node.value.args[0]) == "sys.executable")  # fmt: skip


def imports_and_commands(path: Path) -> tuple[set[str], set[str]]:
    """Absolute imports of a file, and the commands it runs from beside its Python."""
    modules, commands = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
              and _is_beside_python(node.left)
              and isinstance(node.right, ast.Constant)):  # fmt: skip
            commands.add(node.right.value)
    return modules, commands


@cache
def _scripts() -> dict[str, frozenset[str]]:
    """Command name -> the distributions that install it into bin/ (console or data script)."""
    scripts: dict[str, set[str]] = {}
    for ep in md.entry_points(group="console_scripts"):
        scripts.setdefault(ep.name, set()).add(canonicalize_name(ep.dist.name))
    for dist in md.distributions():
        for file in dist.files or []:
            parts = Path(str(file)).parts
            if len(parts) > 1 and parts[-2] == "bin":
                scripts.setdefault(parts[-1], set()).add(canonicalize_name(dist.metadata["Name"]))
    return {name: frozenset(dists) for name, dists in scripts.items()}


def command_owners(command: str) -> frozenset[str]:
    return _scripts().get(command, frozenset())


def undeclared(tops: tuple[str, ...], declared: set[str], root: Path = REPO_ROOT) -> list[str]:
    """'file: module or command -> distributions' for each third-party use not in `declared`."""
    first_party, problems = _first_party(), []
    declared = declared | {canonicalize_name(_project()["name"])}  # its own `marketing` command
    for path in _files(tops, root):
        modules, commands = imports_and_commands(path)
        rel = path.relative_to(root)
        for module in sorted(modules):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in first_party:
                continue
            # A module not installed here (a scratch venv's) goes by its own name.
            owners = owner(module) or frozenset({canonicalize_name(top)})
            if not owners & declared:
                problems.append(f"{rel}: import {module} -> {sorted(owners) or 'not installed'}")
        for command in sorted(commands):
            owners = command_owners(command)
            if not owners & declared:
                problems.append(f"{rel}: runs {command} -> {sorted(owners) or 'not installed'}")
    return problems


def test_imports_are_traced_to_the_distribution_that_installs_them():
    assert owner("sklearn.mixture") == {"scikit-learn"}
    assert owner("airflow.sdk.exceptions") == {"apache-airflow-task-sdk"}
    assert owner("dbt.adapters.duckdb.plugins") == {"dbt-duckdb"}
    assert owner("yaml") == {"pyyaml"}
    assert owner("no_such_module_here") == frozenset()
    assert command_owners("airflow") == {"apache-airflow-core"}
    assert command_owners("duckdb") == {"duckdb-cli"}


def test_the_product_declares_every_distribution_it_imports_or_runs():
    commands = set().union(*(imports_and_commands(p)[1] for p in _files(PRODUCT, REPO_ROOT)))
    # The scan sees the commands the product runs; a scan that finds nothing checks nothing.
    assert {"airflow", "dbt", "duckdb"} <= commands
    assert undeclared(PRODUCT, declared_runtime()) == []


def test_the_dbt_adapter_of_every_profile_is_declared():
    profiles = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())
    adapters = {f"dbt-{o['type']}" for p in profiles.values() for o in p["outputs"].values()}
    assert adapters == {"dbt-duckdb"}
    assert adapters <= declared_runtime()


def test_tests_and_bench_use_only_declared_distributions():
    assert undeclared(DEVELOPMENT, declared_runtime() | declared_dev() | declared_scratch()) == []


def test_an_undeclared_import_or_command_is_found(tmp_path: Path):
    pkg = tmp_path / "pipelines"
    pkg.mkdir()
    (pkg / "uses.py").write_text(
        "import sys\nfrom pathlib import Path\nimport jsonschema\nfrom sklearn import mixture\n"
        "RUFF = Path(sys.executable).parent / 'ruff'\n"
    )
    found = undeclared(("pipelines",), {"scikit-learn"}, root=tmp_path)
    assert found == ["pipelines/uses.py: import jsonschema -> ['jsonschema']",
                     "pipelines/uses.py: runs ruff -> ['ruff']"]  # fmt: skip


def test_pyproject_and_the_input_files_name_the_same_distributions():
    runtime, dev = parse_pins(REPO_ROOT / RUNTIME_IN), parse_pins(REPO_ROOT / DEV_IN)
    assert set(runtime) == declared_runtime()
    assert set(dev) == declared_dev()
    assert not set(runtime) & set(dev), "a distribution is both runtime and dev"
    assert {"apache-airflow", "scipy", "scikit-learn", "threadpoolctl"} <= set(runtime)
    assert {"pytest", "ruff"} <= set(dev)


@pytest.mark.parametrize("name", [RUNTIME_LOCK, DEV_LOCK])
def test_every_lock_line_is_an_exact_pin_with_hashes(name: str):
    entries = _lock(name)
    assert len(entries) > 100
    no_hash = sorted(f"{e.name}=={e.version}" for e in entries.values() if not e.hashes)
    assert no_hash == []
    assert all(h.startswith("sha256:") and len(h) == 71
               for e in entries.values() for h in e.hashes)  # fmt: skip


def lock_problems(lock: dict[tuple[str, str], LockEntry], pins: dict[str, str],
                  source: str, dev_tools: set[str]) -> list[str]:  # fmt: skip
    """Where a lock disagrees with its input file: a pin missing or moved, a direct entry that
    the input does not name, or a dev tool among the direct ones."""
    problems = []
    locked = {(e.name, e.version) for e in lock.values()}
    problems += [f"{n}=={v} is not in the lock (run make lock)" for n, v in pins.items()
                 if (n, v) not in locked]  # fmt: skip
    direct = {e.name for e in lock.values() if f"-r {source}" in e.via}
    problems += [f"{n} is direct in the lock but not in {source}" for n in direct - set(pins)]
    problems += [f"dev tool {n} is a direct runtime dependency" for n in direct & dev_tools]
    return sorted(problems)


def test_the_runtime_lock_holds_every_runtime_pin_and_no_dev_tool():
    pins = parse_pins(REPO_ROOT / RUNTIME_IN)
    assert lock_problems(_lock(RUNTIME_LOCK), pins, RUNTIME_IN, declared_dev()) == []


def test_a_lock_that_disagrees_with_its_input_is_found():
    lock = parse_lock(
        "scipy==1.17.1 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via -r requirements.in\n"
        "pytest==9.2.0 \\\n    --hash=sha256:" + "b" * 64 + "\n"
        "    # via\n    #   -r requirements.in\n    #   pytest-xdist\n"
        "numpy==2.4.5 \\\n    --hash=sha256:" + "c" * 64 + "\n    # via scipy\n"
    )
    assert lock[("pytest", "")].via == {"-r requirements.in", "pytest-xdist"}
    pins = {"scipy": "1.17.1", "pytest": "9.2.0", "numpy": "2.4.6", "threadpoolctl": "3.8.0"}
    assert lock_problems(lock, pins, RUNTIME_IN, {"pytest"}) == [
        "dev tool pytest is a direct runtime dependency",
        "numpy==2.4.6 is not in the lock (run make lock)",
        "threadpoolctl==3.8.0 is not in the lock (run make lock)",
    ]


def test_a_lock_line_that_is_not_an_exact_pin_is_refused():
    with pytest.raises(ValueError, match="not one exact pin"):
        parse_lock("scipy>=1.17 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    assert parse_lock("scipy==1.17.1\n    # via -r requirements.in\n")[("scipy", "")].hashes == []


def test_the_dev_lock_is_the_runtime_lock_plus_the_dev_tools():
    runtime, dev = _lock(RUNTIME_LOCK), _lock(DEV_LOCK)
    moved = sorted(f"{e.name}: {e.version} -> {dev[key].version if key in dev else 'absent'}"
                   for key, e in runtime.items()
                   if key not in dev or dev[key].version != e.version)  # fmt: skip
    assert moved == []
    pins = parse_pins(REPO_ROOT / DEV_IN)
    assert lock_problems(dev, pins | parse_pins(REPO_ROOT / RUNTIME_IN), DEV_IN, set()) == []


def unmet_requirements(lock: dict[tuple[str, str], LockEntry]) -> list[str]:
    """Each requirement of a locked package (from its installed metadata) that the lock breaks,
    on this interpreter: the check that Airflow's bounds hold (apache-airflow pins its core and
    task SDK exactly and bounds the rest) and that the lock is whole."""
    here = {e.name: e.version for e in lock.values() if e.applies()}
    problems = []
    for name, version in sorted(here.items()):
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            installed = None
        if installed != version:
            problems.append(f"{name}=={version} is locked but {installed} is installed "
                            "(run make .venv/.installed)")  # fmt: skip
            continue
        for text in md.requires(name) or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            got = here.get(canonicalize_name(req.name))
            if got is None or not req.specifier.contains(got, prereleases=True):
                problems.append(f"{name}=={version} requires {req}, the lock has {got}")
    return problems


@pytest.mark.parametrize("name", [RUNTIME_LOCK, DEV_LOCK])
def test_the_lock_meets_every_requirement_of_its_packages(name: str):
    lock = _lock(name)
    assert ("apache-airflow", "") in lock
    assert unmet_requirements(lock) == []


def test_a_lock_that_breaks_a_requirement_is_found():
    lock = _lock(RUNTIME_LOCK)
    # apache-airflow 3.3.2 pins apache-airflow-core==3.3.2; the entry is changed to break it
    # (the check reads metadata, so the installed core is what it compares against).
    core = lock[("apache-airflow-core", "")]
    lock[("apache-airflow-core", "")] = LockEntry(core.name, "3.3.1", "", core.hashes)
    problems = unmet_requirements(lock)
    broken = "apache-airflow==3.3.2 requires apache-airflow-core==3.3.2, the lock has 3.3.1"
    assert broken in problems
