"""The KPI file: the shipped one covers every worksheet KPI, bad fields are named, and the
table written for the report models holds each KPI once per channel it is measured on."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.ads.kpis import KPI_CHANNELS, KpisSettingsError, kpi_table, load_kpis, write_kpis
from pipelines.config import Settings

SHIPPED = Settings(home=Path(".")).kpis_file


def test_the_shipped_file_describes_every_worksheet_kpi() -> None:
    kpis = load_kpis(SHIPPED)
    assert list(kpis.kpis) == list(KPI_CHANNELS)
    assert kpis.kpis["ctr"].good == "higher" and kpis.kpis["cpa"].good == "lower"
    assert kpis.kpis["roas_reconciled"].targets == {"paid": 3.0}


def _edited(tmp_path: Path, edit: dict) -> Path:
    raw = yaml.safe_load(SHIPPED.read_text())
    for name, fields in edit.items():
        if fields is None:
            del raw["kpis"][name]
        else:
            raw["kpis"].setdefault(name, {}).update(fields)
    path = tmp_path / "kpis.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({"ctr": None}, "kpis.ctr: missing"),
        ({"roas": {"label": "x", "definition": "y", "unit": "ratio", "good": "higher"}},
         "kpis.roas: not a KPI"),
        ({"cpa": {"unit": "dollars"}}, "kpis.cpa.unit"),
        ({"cpa": {"good": "up"}}, "kpis.cpa.good"),
        ({"cpa": {"definition": ""}}, "kpis.cpa.definition"),
        ({"ctr": {"targets": {"email": 0.01}}}, "kpis.ctr.targets.email: ctr is measured on paid"),
        ({"ctr": {"targets": {"paid": 2}}}, "kpis.ctr.targets.paid: a share is between 0 and 1"),
        ({"cpa": {"targets": {"paid": -5}}}, "kpis.cpa.targets.paid: must not be negative"),
        ({"cpa": {"targets": {"paid": "ten"}}}, "kpis.cpa.targets.paid"),
        ({"cpa": {"colour": "red"}}, "kpis.cpa.colour"),
    ],
)
def test_a_bad_field_is_named(tmp_path: Path, edit: dict, named: str) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(KpisSettingsError, match=r"kpis\.yml: ") as error:
        load_kpis(path)
    assert named in str(error.value)


@pytest.mark.parametrize("text", ["", "- 1\n", "kpis: {ctr: [\n"])
def test_a_file_of_the_wrong_shape_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kpis.yml"
    path.write_text(text)
    with pytest.raises(KpisSettingsError, match=r"kpis\.yml: "):
        load_kpis(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KpisSettingsError, match=r"nope\.yml: cannot be read"):
        load_kpis(tmp_path / "nope.yml")


def test_the_table_has_one_row_per_kpi_and_channel_with_its_target(tmp_path: Path) -> None:
    path = _edited(tmp_path, {"cpa": {"targets": {"paid": 25}}})
    table = kpi_table(load_kpis(path))
    assert table.height == sum(len(c) for c in KPI_CHANNELS.values())
    cpa = table.filter(kpi="cpa").row(0, named=True)
    assert (cpa["channel"], cpa["target"], cpa["unit"]) == ("paid", 25.0, "currency")
    assert table.filter(kpi="cpc")["target"].to_list() == [None]
    # Folded YAML keeps no line breaks: the report shows the words as one paragraph.
    assert "\n" not in "".join(table["definition"])
    con = duckdb.connect()
    assert write_kpis(con, load_kpis(path)) == table.height
    assert write_kpis(con, load_kpis(SHIPPED)) == table.height  # replaces, never adds
    assert con.sql("select count(*) from settings.kpis").fetchall() == [(table.height,)]


def test_the_setting_points_at_the_user_s_copy(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = _edited(tmp_path, {"cpa": {"targets": {"paid": 12.5}}})
    monkeypatch.setenv("MARKETING_KPIS_FILE", str(path))
    monkeypatch.setenv("MARKETING_HOME", str(tmp_path))
    settings = Settings.from_env()
    assert settings.kpis_file == path
    assert load_kpis(settings.kpis_file).kpis["cpa"].targets == {"paid": 12.5}
