"""The daily budget per ad set that maximises expected return within the user's bounds.

Return is value per conversion x the fitted curve at a steady daily spend. Bounds come from
`ads.yml`: the total per day (default today's), min and max per ad set, and how far one ad
set's budget may move in a week. Ad sets that cannot be planned (no curve) keep their budget
and are out of the total the others share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from pipelines.ads.response import Curve
from pipelines.ads.settings import Budget

GREEDY_STEPS = 2000  # increments of the budget to share: 0.05% of it each


class BudgetBoundsError(ValueError):
    """The bounds in ads.yml cannot all be met; the message names them and the figures."""


@dataclass(frozen=True)
class Bounds:
    """Per ad set lower and upper daily budget and the total they share."""

    lower: np.ndarray
    upper: np.ndarray
    total: float


def plan_bounds(current: np.ndarray, budget: Budget, kept: float = 0.0,
                where: str = "ads.yml") -> Bounds:
    """The bounds for ad sets now spending `current` per day (all of them planned), with
    `kept` the daily budget of the ad sets that keep theirs (out of the total). Raises
    BudgetBoundsError naming the settings that conflict."""
    current = np.asarray(current, dtype=float)
    lower = np.full(len(current), budget.min_per_adset)
    upper = np.full(len(current), np.inf if budget.max_per_adset is None
                    else budget.max_per_adset)
    if budget.max_change_per_week is not None:
        lower = np.maximum(lower, current * (1.0 - budget.max_change_per_week))
        upper = np.minimum(upper, current * (1.0 + budget.max_change_per_week))
    total = (float(current.sum()) if budget.total_per_day is None
             else budget.total_per_day - kept)
    today = f"null (today: {current.sum() + kept:.2f})"
    named = (f"budget.total_per_day {budget.total_per_day or today}, "
             f"min_per_adset {budget.min_per_adset}, max_per_adset {budget.max_per_adset}, "
             f"max_change_per_week {budget.max_change_per_week}")
    if np.any(lower > upper + 1e-9):
        i = int(np.argmax(lower - upper))
        raise BudgetBoundsError(
            f"{where}: {named} cannot all hold: an ad set spending {current[i]:.2f}/day would "
            f"need at least {lower[i]:.2f} and at most {upper[i]:.2f}; widen "
            "max_change_per_week or the per-ad-set bounds")
    if lower.sum() > total + 1e-6 or upper.sum() < total - 1e-6:
        raise BudgetBoundsError(
            f"{where}: {named} cannot all hold: the {len(current)} planned ad sets need "
            f"between {lower.sum():.2f} and {upper.sum():.2f} per day in all, but "
            f"{total:.2f} is to be shared (after {kept:.2f}/day kept by ad sets that cannot "
            "be planned); change total_per_day or widen the per-ad-set bounds")
    return Bounds(lower=lower, upper=np.minimum(upper, total), total=total)


def expected_return(curves: list[Curve], value: np.ndarray, spend: np.ndarray) -> float:
    """Expected value per day of the ad sets at daily `spend`."""
    return float(sum(v * c.response(s) for c, v, s in zip(curves, value, spend, strict=True)))


def allocate(curves: list[Curve], value: np.ndarray, bounds: Bounds,
             start: np.ndarray | None = None) -> np.ndarray:
    """The daily budgets within `bounds` that maximise the expected return.

    Greedy marginal allocation (each increment to the ad set it earns most in) handles
    concave curves exactly; S-shaped ones (alpha > 1) can strand it below an ad set's steep
    part, so SLSQP polishes from the greedy result, from `start` (today's budgets, clipped
    into the bounds and scaled to the total) and from an even split, and the best wins."""
    value = np.asarray(value, dtype=float)
    candidates = [_greedy(curves, value, bounds)]
    for seed in (start, (bounds.lower + bounds.upper.clip(max=bounds.total)) / 2):
        if seed is not None:
            candidates.append(_feasible(np.asarray(seed, dtype=float), bounds))
    polished = [_polish(curves, value, bounds, c) for c in candidates]
    return max(candidates + polished, key=lambda s: expected_return(curves, value, s))


def _feasible(spend: np.ndarray, bounds: Bounds) -> np.ndarray:
    """`spend` moved into the bounds with the total met (scaled, then the rest spread)."""
    spend = np.clip(spend, bounds.lower, bounds.upper)
    for _ in range(50):
        gap = bounds.total - spend.sum()
        if abs(gap) < 1e-9:
            break
        room = (bounds.upper - spend) if gap > 0 else (spend - bounds.lower)
        if room.sum() <= 0:
            break
        spend = np.clip(spend + np.sign(gap) * room * min(abs(gap) / room.sum(), 1.0),
                        bounds.lower, bounds.upper)
    return spend


def _greedy(curves: list[Curve], value: np.ndarray, bounds: Bounds) -> np.ndarray:
    spend = bounds.lower.copy()
    left = bounds.total - spend.sum()
    step = left / GREEDY_STEPS if left > 0 else 0.0
    if step <= 0:
        return spend

    def gain(s: np.ndarray) -> np.ndarray:
        nxt = np.minimum(s + step, bounds.upper)
        return np.array([v * (c.response(b) - c.response(a)) for c, v, a, b
                         in zip(curves, value, s, nxt, strict=True)])

    for _ in range(GREEDY_STEPS):
        room = bounds.upper - spend
        if left <= 1e-9 or not np.any(room > 1e-9):
            break
        g = np.where(room > 1e-9, gain(spend), -np.inf)
        i = int(np.argmax(g))
        add = min(step, room[i], left)
        spend[i] += add
        left -= add
    return spend


def _polish(curves: list[Curve], value: np.ndarray, bounds: Bounds,
            spend: np.ndarray) -> np.ndarray:
    """SLSQP from `spend`; `spend` itself when the solver fails or leaves the bounds."""
    result = optimize.minimize(
        lambda s: -expected_return(curves, value, s),
        spend,
        jac=lambda s: -np.array([v * c.marginal(x) for c, v, x
                                 in zip(curves, value, s, strict=True)]),
        method="SLSQP",
        bounds=list(zip(bounds.lower, bounds.upper, strict=True)),
        constraints=[{"type": "eq", "fun": lambda s: s.sum() - bounds.total}],
    )
    candidate = np.clip(result.x, bounds.lower, bounds.upper)
    if result.success and abs(candidate.sum() - bounds.total) < 1e-6 * max(bounds.total, 1):
        return candidate
    return spend
