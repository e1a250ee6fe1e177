"""Bids that follow from the plan: a target cost per result and a target ROAS per ad set.

At the recommended budget the optimiser has spent each ad set up to where one more unit of
spend brings `marginal ROAS` (value per conversion x conversions per unit spend). The cost of
that last conversion, 1 / (d conversions / d spend), is the most the plan pays for one: it is
the target cost per result (Meta's cost cap), never above what the customers the ad set
brings are predicted to be worth over their first order and the next year (the LTV model's
score), since a bid above that loses money on every conversion it wins. The target ROAS
(Meta's minimum ROAS) is the first order's value over that cost: a conversion below it costs
more than the plan's last one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ads.response import Curve


@dataclass(frozen=True)
class Bid:
    target_cpa: float
    target_roas: float
    marginal_cpa: float


def suggest(curve: Curve, spend: float, value_per_conversion: float,
            customer_value: float) -> Bid:
    """The bids for an ad set spending `spend` per day on `curve`, whose conversions are worth
    `value_per_conversion` at first order and `customer_value` in all (first order plus the
    predicted next year)."""
    marginal = float(curve.marginal(spend))
    marginal_cpa = 1.0 / marginal if marginal > 0 else float("inf")
    ceiling = max(customer_value, value_per_conversion)
    target_cpa = min(marginal_cpa, ceiling) if ceiling > 0 else marginal_cpa
    target_roas = value_per_conversion / target_cpa if target_cpa > 0 else 0.0
    return Bid(target_cpa=round(target_cpa, 2), target_roas=round(target_roas, 3),
               marginal_cpa=marginal_cpa)
