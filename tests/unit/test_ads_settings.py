"""The ads settings file: defaults, and errors that name the file and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.ads.settings import AdsSettingsError, load_ads_settings
from pipelines.config import Settings


def test_the_shipped_file_is_meta_s_default_window_and_keeps_today_s_total() -> None:
    ads = load_ads_settings(Settings(home=Path(".")).ads_file)
    assert (ads.attribution.click_days, ads.attribution.view_days) == (7, 1)
    assert ads.budget.total_per_day is None
    assert ads.budget.max_change_per_week == 0.3


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ads.yml"
    path.write_text("")
    assert load_ads_settings(path) == load_ads_settings(Settings(home=Path(".")).ads_file)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("attribution:\n  click_days: 0\n", "attribution.click_days"),
        ("attribution:\n  click_days: '7'\n", "attribution.click_days"),
        ("budget:\n  min_per_adset: 50\n  max_per_adset: 10\n", "max_per_adset (10.0) is below"),
        ("budget:\n  total: 100\n", "budget.total"),
        ("budget: [1, 2]\n", "budget"),
        ("attribution: {click_days: 7\n", "not valid YAML"),
    ],
)
def test_a_bad_field_is_named(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "ads.yml"
    path.write_text(text)
    with pytest.raises(AdsSettingsError, match=r"ads\.yml: ") as error:
        load_ads_settings(path)
    assert named in str(error.value)


def test_the_setting_points_at_the_user_s_copy(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yml"
    path.write_text("budget:\n  total_per_day: 250\n")
    monkeypatch.setenv("MARKETING_ADS_FILE", str(path))
    monkeypatch.setenv("MARKETING_HOME", str(tmp_path))
    settings = Settings.from_env()
    assert settings.ads_file == path
    assert load_ads_settings(settings.ads_file).budget.total_per_day == 250.0


def test_the_window_reaches_dbt_as_vars(tmp_path: Path) -> None:
    from pipelines.transform import settings_vars

    path = tmp_path / "ads.yml"
    path.write_text("attribution:\n  click_days: 3\n  view_days: 0\n")
    settings = Settings(home=tmp_path, ads_file=path)
    assert settings_vars(settings) == {"attribution_click_days": 3, "attribution_view_days": 0}


def test_a_bad_window_stops_the_transform_before_dbt(tmp_path: Path) -> None:
    from pipelines.transform import build

    path = tmp_path / "ads.yml"
    path.write_text("attribution:\n  click_days: 40\n")
    with pytest.raises(AdsSettingsError, match=r"attribution\.click_days"):
        build(Settings(home=tmp_path, ads_file=path), date(2026, 1, 1))
