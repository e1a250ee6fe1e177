"""The budget plan: per ad set a fitted curve, a recommended daily budget, the expected change
with its 80% interval, and the bids that follow from them. Pure frames in, a frame out; the
step in `pipelines/ads/tasks.py` reads and writes.

Inputs:
- `daily`: adset_id, date_day, spend, purchases, leads, value (reconciled, per click day;
  `marts.fct_ad_conversions` summed by ad set and day).
- `adsets`: adset_id, adset_name, campaign_id, campaign_name, objective, currency.
- `values`: adset_id, value_per_conversion, customer_value, value_basis (what a conversion is
  worth and how that was found; see `conversion_values`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.ads import bids
from pipelines.ads.budget import Bounds, allocate, plan_bounds
from pipelines.ads.response import Fit, fit_curve
from pipelines.ads.settings import AdsSettings
from pipelines.ml.explain import count

# Objectives whose return is conversions the shop or CRM records; the others (awareness,
# traffic, engagement) keep their budgets: their worth is not in these figures.
LEAD_OBJECTIVES = ("OUTCOME_LEADS", "LEAD_GENERATION")
SALES_OBJECTIVES = ("OUTCOME_SALES", "CONVERSIONS", "PRODUCT_CATALOG_SALES")
KPI = "conversions"
INTERVAL = (10, 90)  # percentiles of the 80% interval

PLAN_SCHEMA: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(), "adset_id": pl.String(), "adset_name": pl.String(),
    "campaign_id": pl.String(), "campaign_name": pl.String(), "objective": pl.String(),
    "currency": pl.String(), "outcome": pl.String(), "status": pl.String(),
    "reason": pl.String(), "days_fitted": pl.Int64(), "active_days": pl.Int64(),
    "conversions_fitted": pl.Float64(), "alpha": pl.Float64(), "kappa": pl.Float64(),
    "beta": pl.Float64(), "decay": pl.Float64(), "dispersion": pl.Float64(),
    "value_per_conversion": pl.Float64(), "customer_value": pl.Float64(),
    "value_basis": pl.String(), "current_daily_budget": pl.Float64(),
    "recommended_daily_budget": pl.Float64(), "lower_bound": pl.Float64(),
    "upper_bound": pl.Float64(), "marginal_roas_current": pl.Float64(),
    "marginal_roas_recommended": pl.Float64(), "expected_conversions_per_week": pl.Float64(),
    "expected_value_change": pl.Float64(), "expected_value_low": pl.Float64(),
    "expected_value_high": pl.Float64(), "target_cpa": pl.Float64(),
    "target_roas": pl.Float64(), "recommendation": pl.String(), "kpi": pl.String(),
    "expected_change": pl.Float64(), "expected_low": pl.Float64(),
    "expected_high": pl.Float64(),
    # The whole plan's change in value per week and its 80% interval (the same on every row):
    # the draws move together, so the interval of the sum is not the sum of the intervals.
    "plan_value_change": pl.Float64(), "plan_value_low": pl.Float64(),
    "plan_value_high": pl.Float64(),
}  # fmt: skip


@dataclass(frozen=True)
class PlanResult:
    """The plan (one row per ad set, PLAN_SCHEMA) and the whole plan's expected change in
    value per week with its 80% interval."""

    plan: pl.DataFrame
    value_change: float
    value_low: float
    value_high: float


def outcome_of(objective: str | None) -> str | None:
    """What an ad set's objective is judged on: 'leads', 'purchases', or None (not
    conversions)."""
    if objective in LEAD_OBJECTIVES:
        return "leads"
    if objective in SALES_OBJECTIVES:
        return "purchases"
    return None


def dense_days(daily: pl.DataFrame, adset_id: str, start: date, end: date) -> pl.DataFrame:
    """One ad set's days from its first spend in [start, end] to `end`, with the days Meta
    reported nothing for as zero spend and zero conversions (they carry the adstock)."""
    rows = daily.filter((pl.col("adset_id") == adset_id)
                        & pl.col("date_day").is_between(start, end))
    first = rows.filter(pl.col("spend") > 0).get_column("date_day").min()
    if first is None:
        return rows.head(0)
    calendar = pl.DataFrame({"date_day": pl.date_range(first, end, "1d", eager=True)})
    return calendar.join(rows, on="date_day", how="left").fill_null(0).with_columns(
        adset_id=pl.lit(adset_id))


def build_plan(daily: pl.DataFrame, adsets: pl.DataFrame, values: pl.DataFrame,
               settings: AdsSettings, as_of: date, where: str = "ads.yml") -> PlanResult:
    """Fit every ad set, share the budget within the settings' bounds, price the bids.

    An ad set keeps its budget, with the reason, when it has not spent in the last week, its
    objective is not conversions, or it has too few active days or conversions to fit.
    Raises BudgetBoundsError when the bounds cannot all be met."""
    fit = settings.fit
    start = as_of - timedelta(days=fit.history_days - 1)
    recent = as_of - timedelta(days=fit.current_days - 1)
    rows: list[dict] = []
    fits: dict[str, Fit] = {}
    for meta in adsets.sort("adset_id").iter_rows(named=True):
        adset_id = meta["adset_id"]
        outcome = outcome_of(meta["objective"])
        days = dense_days(daily, adset_id, start, as_of)
        current = float(days.filter(pl.col("date_day") >= recent)["spend"].sum()
                        / fit.current_days) if days.height else 0.0
        column = "leads" if outcome == "leads" else "purchases"
        conversions = float(days[column].sum()) if days.height else 0.0
        active = int((days["spend"] > 0).sum()) if days.height else 0
        row = {**meta, "as_of_date": as_of, "outcome": outcome, "days_fitted": days.height,
               "active_days": active, "conversions_fitted": conversions,
               "current_daily_budget": round(current, 2)}
        reason = None
        if outcome is None:
            reason = (f"its objective {meta['objective']} is not judged on purchases or "
                      "leads, so its return is not in these figures")
        elif current <= 0:
            reason = f"it has not spent in the last {fit.current_days} days"
        elif active < fit.min_active_days:
            reason = (f"{count(active, 'day', none='no')} with spend in the last "
                      f"{fit.history_days}, fewer than "
                      f"the {fit.min_active_days} a curve needs")
        elif conversions < fit.min_conversions:
            reason = (f"{conversions:.0f} {column} in the last {fit.history_days} days, "
                      f"fewer than the {fit.min_conversions} a curve needs")
        if reason is None:
            # The draws' seed comes from the ad set, so a rerun gives the same intervals.
            fits[adset_id] = fit_curve(days["spend"].to_numpy(), days[column].to_numpy(),
                                       seed=zlib.crc32(adset_id.encode()))
        row["reason"] = reason
        rows.append(row)

    planned = [r for r in rows if r["adset_id"] in fits]
    kept = sum(r["current_daily_budget"] for r in rows if r["adset_id"] not in fits)
    value_of = {r["adset_id"]: r for r in values.iter_rows(named=True)}
    curves = [fits[r["adset_id"]].curve for r in planned]
    worth = np.array([value_of.get(r["adset_id"], {}).get("value_per_conversion") or 0.0
                      for r in planned])
    current = np.array([r["current_daily_budget"] for r in planned])
    if planned:
        bounds = plan_bounds(current, settings.budget, kept=kept, where=where)
        recommended = np.round(allocate(curves, worth, bounds, start=current), 2)
    else:
        bounds = Bounds(np.zeros(0), np.zeros(0), 0.0)
        recommended = np.zeros(0)
    draws = _draw_changes(planned, fits, worth, current, recommended)
    for i, row in enumerate(planned):
        v = value_of.get(row["adset_id"], {})
        curve = curves[i]
        conv_change = 7 * draws["conversions"][i]
        val_change = 7 * draws["value"][i]
        customer_value = v.get("customer_value") or worth[i]
        bid = bids.suggest(curve, float(recommended[i]), float(worth[i]), customer_value)
        row.update(
            status="planned", alpha=curve.alpha, kappa=curve.kappa, beta=curve.beta,
            decay=curve.decay, dispersion=fits[row["adset_id"]].dispersion,
            value_per_conversion=float(worth[i]), customer_value=float(customer_value),
            value_basis=v.get("value_basis"),
            recommended_daily_budget=float(recommended[i]),
            lower_bound=float(bounds.lower[i]), upper_bound=float(bounds.upper[i]),
            marginal_roas_current=float(worth[i] * curve.marginal(current[i])),
            marginal_roas_recommended=float(worth[i] * curve.marginal(recommended[i])),
            expected_conversions_per_week=float(7 * curve.response(recommended[i])),
            expected_change=float(7 * (curve.response(recommended[i])
                                       - curve.response(current[i]))),
            expected_low=float(np.percentile(conv_change, INTERVAL[0])),
            expected_high=float(np.percentile(conv_change, INTERVAL[1])),
            expected_value_change=float(7 * worth[i] * (curve.response(recommended[i])
                                                        - curve.response(current[i]))),
            expected_value_low=float(np.percentile(val_change, INTERVAL[0])),
            expected_value_high=float(np.percentile(val_change, INTERVAL[1])),
            target_cpa=bid.target_cpa, target_roas=bid.target_roas,
            recommendation=_sentence(row, float(recommended[i]), bid),
        )
    for row in rows:
        if row["adset_id"] not in fits:
            row.update(status="kept", recommended_daily_budget=row["current_daily_budget"],
                       expected_change=0.0, expected_low=0.0, expected_high=0.0,
                       expected_value_change=0.0, expected_value_low=0.0,
                       expected_value_high=0.0,
                       recommendation=(f"Keep {row['adset_name']} at "
                                       f"{_money(row['current_daily_budget'], row)}/day: "
                                       f"{row['reason']}."))
        row["kpi"] = KPI
    plan = pl.DataFrame([{k: r.get(k) for k in PLAN_SCHEMA} for r in rows],
                        schema=PLAN_SCHEMA, orient="row")
    # Six decimals: what the plan means, not the floating-point noise of the solvers.
    plan = plan.with_columns(pl.col(pl.Float64).round(6))
    total = 7 * draws["total"]
    point = float(plan["expected_value_change"].sum())
    low, high = ((float(np.percentile(total, INTERVAL[0])),
                  float(np.percentile(total, INTERVAL[1]))) if len(total) else (0.0, 0.0))
    plan = plan.with_columns(plan_value_change=pl.lit(round(point, 6)),
                             plan_value_low=pl.lit(round(low, 6)),
                             plan_value_high=pl.lit(round(high, 6)))
    return PlanResult(plan=plan, value_change=point, value_low=low, value_high=high)


def _draw_changes(planned: list[dict], fits: dict[str, Fit], worth: np.ndarray,
                  current: np.ndarray, recommended: np.ndarray) -> dict[str, np.ndarray]:
    """Per ad set and posterior draw, the change in conversions and value per day from the
    current to the recommended budget; `total`: the plan's change in value per draw."""
    if not planned:
        return {"conversions": np.zeros((0, 0)), "value": np.zeros((0, 0)),
                "total": np.zeros(0)}
    conv = np.array([[c.response(recommended[i]) - c.response(current[i])
                      for c in fits[r["adset_id"]].curves()]
                     for i, r in enumerate(planned)])
    value = conv * worth[:, None]
    return {"conversions": conv, "value": value, "total": value.sum(axis=0)}


def _sentence(row: dict, recommended: float, bid: bids.Bid) -> str:
    """One plain sentence a marketer acts on."""
    current = row["current_daily_budget"]
    name = row["adset_name"]
    change = recommended - current
    if abs(change) < 0.005 * max(current, 1.0):
        move = f"Keep {name} at {_money(current, row)}/day"
    else:
        verb = "Raise" if change > 0 else "Cut"
        move = (f"{verb} {name} from {_money(current, row)} to {_money(recommended, row)}/day "
                f"({change:+,.2f})")
    if bid.target_cpa is None:
        return f"{move}."
    return f"{move}; bid a cost per result of at most {_money(bid.target_cpa, row)}."


def _money(amount: float, row: dict) -> str:
    return f"{amount:,.2f} {row.get('currency') or ''}".rstrip()

