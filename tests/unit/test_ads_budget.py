"""Response curves, the budget optimiser, the plan and the bids (pipelines/ads)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.ads import bids
from pipelines.ads.budget import BudgetBoundsError, allocate, expected_return, plan_bounds
from pipelines.ads.plan import build_plan
from pipelines.ads.response import Curve, adstock, fit_curve
from pipelines.ads.settings import AdsSettings, Budget


def simulate(curve: Curve, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Flights of four weeks at levels around kappa, some days off, Poisson outcomes."""
    rng = np.random.default_rng(seed)
    level = np.repeat(np.exp(rng.normal(np.log(curve.kappa), 0.5, n // 28 + 1)), 28)[:n]
    spend = level * rng.uniform(0.85, 1.0, n) * (rng.random(n) > 0.1)
    mean = curve.beta * (lambda x: x**curve.alpha / (x**curve.alpha + curve.kappa**curve.alpha))(
        adstock(spend, curve.decay))
    return spend, rng.poisson(mean).astype(float)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_a_known_curve_from_noisy_days(seed: int) -> None:
    true = Curve(beta=8.0, kappa=60.0, alpha=1.4, decay=0.3)
    spend, outcome = simulate(true, 365, seed)
    fitted = fit_curve(spend, outcome)
    grid = np.array([30.0, 60.0, 90.0])
    assert np.allclose(fitted.curve.response(grid), true.response(grid), rtol=0.12)
    # Slopes are less identified than levels: checked where the flights put most days.
    assert np.allclose(fitted.curve.marginal(grid[:2]), true.marginal(grid[:2]), rtol=0.3)
    assert abs(fitted.curve.decay - true.decay) < 0.15
    # The interval covers the truth at the median spend.
    draws = np.array([c.response(60.0) for c in fitted.curves()])
    low, high = np.percentile(draws, [5, 95])
    assert low <= true.response(60.0) <= high
    assert high - low < 0.3 * true.response(60.0)


def test_adstock_keeps_a_steady_spend_and_carries_over() -> None:
    out = adstock(np.array([10.0] * 50 + [0.0] * 3), 0.5)
    assert out[49] == pytest.approx(10.0)
    assert out[50:].tolist() == pytest.approx([5.0, 2.5, 1.25])


def test_allocation_moves_budget_to_the_better_curve_within_bounds() -> None:
    curves = [Curve(10.0, 50.0, 1.0), Curve(20.0, 200.0, 1.0)]
    value = np.array([20.0, 20.0])
    bounds = plan_bounds(np.array([100.0, 100.0]), Budget(max_change_per_week=0.3))
    spend = allocate(curves, value, bounds)
    assert spend.sum() == pytest.approx(200.0)
    # At 100 a day the second brings 0.044 more per dollar, the first 0.022: all moves.
    assert spend.tolist() == pytest.approx([70.0, 130.0], abs=0.01)
    assert expected_return(curves, value, spend) > expected_return(curves, value,
                                                                   np.array([100.0, 100.0]))


def test_allocation_reaches_the_interior_optimum() -> None:
    curves = [Curve(10.0, 50.0, 1.0), Curve(10.0, 50.0, 1.0)]
    bounds = plan_bounds(np.array([40.0, 160.0]), Budget(max_change_per_week=None))
    spend = allocate(curves, np.array([1.0, 1.0]), bounds)
    assert spend.tolist() == pytest.approx([100.0, 100.0], abs=0.5)


def test_bounds_respect_min_max_and_total() -> None:
    budget = Budget(total_per_day=300.0, min_per_adset=20.0, max_per_adset=150.0,
                    max_change_per_week=None)
    bounds = plan_bounds(np.array([100.0, 100.0, 10.0]), budget)
    spend = allocate([Curve(10.0, 500.0, 1.0), Curve(1.0, 500.0, 1.0), Curve(1.0, 500.0, 1.0)],
                     np.ones(3), bounds)
    assert spend.sum() == pytest.approx(300.0)
    assert spend.min() >= 20.0 - 1e-6 and spend.max() <= 150.0 + 1e-6
    assert spend[0] == pytest.approx(150.0)


def test_infeasible_bounds_name_the_settings() -> None:
    with pytest.raises(BudgetBoundsError, match=r"total_per_day 500\.0.*max_change_per_week 0\.3"):
        plan_bounds(np.array([100.0, 100.0]), Budget(total_per_day=500.0))
    with pytest.raises(BudgetBoundsError, match="min_per_adset 80"):
        plan_bounds(np.array([100.0, 50.0]), Budget(min_per_adset=80.0,
                                                    max_change_per_week=0.3))


def test_bids_cap_the_cost_per_result_at_the_customer_value() -> None:
    curve = Curve(10.0, 50.0, 1.0)
    # Marginal conversions per dollar at 50: 10 * 0.5 * 0.5 / 50 = 0.05, so 20 a conversion.
    cheap = bids.suggest(curve, 50.0, value_per_conversion=30.0, customer_value=90.0)
    assert cheap.target_cpa == pytest.approx(20.0)
    assert cheap.target_roas == pytest.approx(1.5)
    capped = bids.suggest(curve, 50.0, value_per_conversion=10.0, customer_value=15.0)
    assert capped.target_cpa == pytest.approx(15.0)
    assert capped.target_roas == pytest.approx(10.0 / 15.0, abs=1e-3)


def _daily(adset_id: str, curve: Curve, days: int, seed: int, end: date) -> pl.DataFrame:
    spend, outcome = simulate(curve, days, seed)
    spend[-7:] = curve.kappa  # running this week
    dates = [end - timedelta(days=days - 1 - i) for i in range(days)]
    return pl.DataFrame({"adset_id": adset_id, "date_day": dates, "spend": spend,
                         "purchases": outcome, "leads": 0.0, "value": outcome * 40.0})


def test_plan_keeps_an_ad_set_without_enough_data_and_plans_the_rest() -> None:
    end = date(2026, 10, 31)
    daily = pl.concat([
        _daily("1", Curve(8.0, 60.0, 1.2), 300, 1, end),
        _daily("2", Curve(4.0, 120.0, 1.2), 300, 2, end),
        _daily("3", Curve(4.0, 50.0, 1.2), 10, 3, end),
    ])
    adsets = pl.DataFrame({"adset_id": ["1", "2", "3"], "adset_name": ["A", "B", "C"],
                           "campaign_id": "c", "campaign_name": "Sales",
                           "objective": "OUTCOME_SALES", "currency": "USD"})
    values = pl.DataFrame({"adset_id": ["1", "2", "3"], "value_per_conversion": 40.0,
                           "customer_value": 100.0, "value_basis": "test"})
    result = build_plan(daily, adsets, values, AdsSettings(), end)
    plan = result.plan.sort("adset_id")
    assert plan["status"].to_list() == ["planned", "planned", "kept"]
    kept = plan.row(2, named=True)
    assert kept["recommended_daily_budget"] == kept["current_daily_budget"]
    assert "fewer than the 28" in kept["reason"]
    planned = plan.filter(pl.col("status") == "planned")
    assert planned["recommended_daily_budget"].sum() == pytest.approx(
        planned["current_daily_budget"].sum(), abs=0.02)
    assert (planned["expected_low"] <= planned["expected_change"]).all()
    assert (planned["expected_change"] <= planned["expected_high"]).all()
    assert result.value_low <= result.value_change <= result.value_high
    assert result.value_change > 0
    assert set(plan["kpi"]) == {"conversions"}
    assert plan["recommendation"].str.contains(r"^(Raise|Cut|Keep) ").all()


def test_a_flat_curve_gets_no_bid() -> None:
    bid = bids.suggest(Curve(0.0, 50.0, 1.0), 50.0, value_per_conversion=0.0, customer_value=0.0)
    assert bid.target_cpa is None and bid.target_roas is None


def test_days_start_at_the_first_spend_and_gaps_are_zero_days() -> None:
    from pipelines.ads.plan import dense_days

    end = date(2026, 1, 10)
    daily = pl.DataFrame({
        "adset_id": ["1", "1", "1", "2"],
        "date_day": [date(2026, 1, 2), date(2026, 1, 4), date(2026, 1, 8), date(2026, 1, 5)],
        "spend": [0.0, 10.0, 12.0, 5.0], "purchases": [1.0, 2.0, 3.0, 9.0],
        "leads": 0.0, "value": 0.0})
    days = dense_days(daily, "1", date(2026, 1, 1), end)
    assert days["date_day"].to_list() == [date(2026, 1, d) for d in range(4, 11)]
    assert days["spend"].to_list() == [10.0, 0.0, 0.0, 0.0, 12.0, 0.0, 0.0]
    assert days["purchases"].sum() == 5.0
    assert dense_days(daily, "3", date(2026, 1, 1), end).is_empty()
