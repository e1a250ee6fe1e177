"""Charts that must draw what real readouts hold: a rate outside its Bayesian interval, a
campaign with no spend in the window."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl

from pipelines.report.plots.ads import campaign_returns
from pipelines.report.plots.experiments import ab_rates, holdout_effects

SVG = "{http://www.w3.org/2000/svg}"


def _texts(chart: str) -> list[str]:
    return ["".join(node.itertext()) for node in ET.fromstring(chart).iter(f"{SVG}text")]


def test_a_variant_with_no_conversions_draws_its_rate_below_its_interval():
    # 0 of 40: the observed rate is 0, the Beta(1, 41) interval lies above it; 40 of 40: the
    # rate is 100%, the Beta(41, 1) interval below it.
    variants = pl.DataFrame({
        "label": ["subject test · click · A", "subject test · click · B",
                  "subject test · click · C"],
        "rate": [0.0, 0.10, 1.0], "rate_low": [0.0012, 0.06, 0.93],
        "rate_high": [0.07, 0.15, 0.9988], "is_winner": [False, False, True]})
    texts = _texts(ab_rates(variants))
    assert "  0.0%" in texts and "  10.0%" in texts and "  100.0% best" in texts


def test_an_effect_outside_its_interval_still_draws():
    effects = pl.DataFrame({"label": ["winback · orders"], "effect": [0.02],
                            "low": [0.05], "high": [0.30], "verdict": ["treatment_better"]})
    assert any("+2% (+5% to +30%)" in t for t in _texts(holdout_effects(effects)))


def test_a_campaign_without_spend_has_no_return_on_it():
    campaigns = pl.DataFrame({
        "campaign_name": ["Spring sale", "Paused retargeting"], "currency": ["USD", "USD"],
        "spend": [120.0, 0.0], "platform_value": [300.0, 45.0],
        "reconciled_value": [240.0, 30.0]})
    texts = _texts(campaign_returns(campaigns, period="the last 28 days"))
    assert " 2.00" in texts  # 240 / 120
    assert " no spend" in texts
    assert " 0.00" not in texts and not any("inf" in t for t in texts)
