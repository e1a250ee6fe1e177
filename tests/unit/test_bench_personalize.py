"""The personalisation harness's summary: means over seeds and the ratios the goals name."""

from __future__ import annotations

import pytest

from bench.personalize import markdown, summarise


def _run(seed: int, model: float, popular: float) -> dict:
    variants = {v: {"hit_rate": h, "ndcg": h / 2, "winter_hit_rate": h, "winter_ndcg": h / 3}
                for v, h in (("model", model), ("context_free", model - 0.02),
                             ("popularity", popular))}
    group = {"contacts": 10, "within_1h": 0.7, "exact": 0.3}
    return {
        "seed": seed,
        "step_seconds": {"personalize": 4.0, "generate_content": 2.0},
        "recommendations": {"people": 100, "winter_people": 20, **variants},
        "send_times": {"thick": group, "thin": {**group, "within_1h": 0.4},
                       "no_opens": {**group, "within_1h": 0.2}},
        "subject_lines": {kind: {"sends": 50, "texts": 40, "model_spearman": 0.4,
                                 "length_spearman": 0.1, "model_auc": 0.7, "length_auc": 0.5}
                          for kind in ("email_subject", "meta_headline")},
    }


def test_ratios_are_per_seed_and_figures_are_means():
    s = summarise([_run(1, 0.30, 0.20), _run(2, 0.20, 0.20)])
    assert s["hit_rate_ratio_by_seed"] == pytest.approx([1.5, 1.0])
    assert s["hit_rate"]["model"] == pytest.approx(0.25)
    assert s["people"] == 200 and s["send_rich_contacts"] == 20
    assert s["send_within_1h_thin"] == 0.4
    table = markdown("xs", [_run(1, 0.3, 0.2)], summarise([_run(1, 0.3, 0.2)]))
    assert "| model hit rate / popularity's, per seed | 1.50 | >= 1.25 |" in table
    assert "| `personalize` step, seconds (mean) | 4.0 | < 60 at `m` |" in table


def test_a_popularity_of_zero_gives_no_ratio():
    assert summarise([_run(1, 0.3, 0.0)])["hit_rate_ratio_by_seed"] == []
