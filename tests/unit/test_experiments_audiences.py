"""audiences.yml's holdout keys: read into the audience, or refused naming file, audience and
field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.activation.audiences import AudienceFileError, load_audiences
from pipelines.config import Settings

BASE = (
    "audiences:\n"
    "  - name: winback\n"
    "    rules: [{column: churn_decile, op: '>=', value: 8}]\n"
)


def write(tmp_path: Path, extra: str, head: str = "", base: str = BASE) -> Path:
    path = tmp_path / "audiences.yml"
    path.write_text(head + base + extra)
    return path


def test_holdout_keys_are_read_with_their_defaults(tmp_path):
    path = write(tmp_path, "    holdout: 0.125\n    experiment: spring_winback\n"
                 "    outcome_days: 42\n", head="experiment_salt: shop-1\n")
    (audience,) = load_audiences(path)
    assert audience.experiment is not None
    assert (audience.experiment.name, audience.experiment.holdout,
            audience.experiment.outcome_days, audience.experiment.salt) == (
        "spring_winback", 0.125, 42, "shop-1")
    assert audience.experiment_name("winback") == "spring_winback"
    (plain,) = load_audiences(write(tmp_path, "    holdout: 0.1\n"))
    assert plain.experiment is not None
    assert (plain.experiment.name, plain.experiment.outcome_days, plain.experiment.salt) == (
        "winback", 28, "marketing-pipelines")
    (none,) = load_audiences(write(tmp_path, ""))
    assert none.experiment is None and none.experiment_name("winback") is None


def test_a_split_audience_runs_one_experiment_per_value(tmp_path):
    path = write(tmp_path, "", base=(
        "audiences:\n  - name: rfm\n    split_by: rfm_segment\n    holdout: 0.2\n"
        "    experiment: rfm_test\n"))
    (audience,) = load_audiences(path)
    assert audience.experiment_name("rfm__at_risk") == "rfm_test__at_risk"


def test_a_holdout_on_a_crm_only_audience_is_allowed(tmp_path):
    path = write(tmp_path, "", base=(
        "audiences:\n  - name: hot_leads\n    rules: [{column: lead_decile, op: '>=', value: 8}]\n"
        "    platforms: [crm]\n    crm: {score: lead_score}\n    holdout: 0.5\n"))
    (audience,) = load_audiences(path)
    assert audience.experiment is not None and audience.experiment.holdout == 0.5


@pytest.mark.parametrize(("extra", "head", "message"), [
    ("    holdout: 0.7\n", "",
     "audience 'winback': holdout must be the share of people held out, above 0 and at most "
     "0.5 (0.1 holds out a tenth), got 0.7"),
    ("    holdout: 0\n", "", "holdout must be the share of people held out"),
    ("    holdout: '10%'\n", "", "got '10%'"),
    ("    holdout: true\n", "", "got True"),
    ("    holdout: 0.1\n    experiment: Spring-Winback\n", "",
     "audience 'winback': experiment must be a lowercase snake_case name, got 'Spring-Winback'"),
    ("    holdout: 0.1\n    outcome_days: 3\n", "",
     "audience 'winback': outcome_days must be a whole number of days from 7 to 180, got 3"),
    ("    holdout: 0.1\n    outcome_days: 28.5\n", "", "got 28.5"),
    ("    experiment: winback\n", "",
     "audience 'winback': experiment is set but holdout is not"),
    ("    outcome_days: 30\n", "", "outcome_days is set but holdout is not"),
    ("    holdout: 0.1\n", "experiment_salt: ''\n", "experiment_salt must be non-empty text"),
    ("", "experiment_slat: x\n", "unknown top-level keys ['experiment_slat']"),
])
def test_bad_holdout_settings_name_file_audience_and_field(tmp_path, extra, head, message):
    path = write(tmp_path, extra, head=head)
    with pytest.raises(AudienceFileError) as error:
        load_audiences(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def test_two_audiences_cannot_share_an_experiment(tmp_path):
    path = write(tmp_path, "    holdout: 0.1\n  - name: other\n"
                 "    rules: [{column: churn_decile, op: '>=', value: 9}]\n"
                 "    holdout: 0.1\n    experiment: winback\n")
    with pytest.raises(AudienceFileError, match="audience 'other': experiment 'winback' is also "
                                                "audience 'winback'"):
        load_audiences(path)


def test_the_shipped_win_back_audiences_hold_out_a_tenth():
    audiences = {a.name: a for a in load_audiences(Settings(home=Path("unused")).audiences_file)}
    for name in ("churn_risk", "high_value_at_risk"):
        experiment = audiences[name].experiment
        assert experiment is not None and experiment.holdout == 0.1, name
        assert "held out" in audiences[name].description
