"""The dbt project's house rules, read from its files: every model is documented and tested,
and every mart that analysts read has an enforced contract."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from pipelines.config import REPO_ROOT

MODELS = REPO_ROOT / "dbt_project" / "models"


def model_files() -> dict[str, Path]:
    return {p.stem: p for p in MODELS.rglob("*") if p.suffix in (".sql", ".py")}


@cache  # read once per worker: parsing every file took 1.2 s, and each model's test asks
def yaml_entries() -> dict[str, dict]:
    entries = {}
    for path in MODELS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            entries[model["name"]] = model
    return entries


def has_tests(entry: dict) -> bool:
    if entry.get("data_tests"):
        return True
    return any(column.get("data_tests") for column in entry.get("columns", []))


@pytest.mark.parametrize("name", sorted(model_files()))
def test_every_model_has_a_description_and_tests(name):
    entry = yaml_entries().get(name)
    assert entry is not None, f"{name} has no YAML entry"
    assert (entry.get("description") or "").strip(), f"{name} has no description"
    assert has_tests(entry), f"{name} has no tests"


# customer_features is the models' training table, not read by analysts: its columns follow
# the features the models use.
PUBLISHED_MARTS = sorted(
    n for n, p in model_files().items()
    if p.parent.parent.name == "marts" and n != "customer_features"
)


@pytest.mark.parametrize("name", PUBLISHED_MARTS)
def test_marts_enforce_their_contract(name):
    entry = yaml_entries()[name]
    assert entry.get("config", {}).get("contract", {}).get("enforced") is True
    assert all(c.get("data_type") for c in entry["columns"]), f"{name}: a column lacks a type"


def test_staging_models_read_only_sources():
    for path in (MODELS / "staging").rglob("*.sql"):
        assert "ref(" not in path.read_text(), f"{path.name} reads another model"


REPORTS = sorted(n for n, p in model_files().items() if p.parent.name == "reports")


@pytest.mark.parametrize("name", REPORTS)
def test_report_models_enforce_their_contract_and_wait_for_the_python_steps(name):
    entry = yaml_entries()[name]
    assert entry.get("config", {}).get("contract", {}).get("enforced") is True
    assert all(c.get("data_type") for c in entry["columns"]), f"{name}: a column lacks a type"
    project = yaml.safe_load((MODELS.parent / "dbt_project.yml").read_text())
    assert "report" in project["models"]["marketing"]["reports"]["+tags"]


def test_only_report_tagged_models_read_the_python_steps_tables():
    project = yaml.safe_load((MODELS.parent / "dbt_project.yml").read_text())
    assert "report" in project["models"]["marketing"]["staging"]["ml"]["+tags"]
    for path in MODELS.rglob("*.sql"):
        if "source('ml'" in path.read_text():
            assert path.parent.name == "ml", f"{path.name} reads ml.* outside staging/ml"
