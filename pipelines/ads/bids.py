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

import numpy as np

from pipelines.ads.response import Curve


@dataclass(frozen=True)
class Bid:
    target_cpa: float | None
    target_roas: float | None
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
    if not np.isfinite(target_cpa) or target_cpa <= 0:
        # A flat curve with nothing to lose: no conversion is worth bidding for.
        return Bid(target_cpa=None, target_roas=None, marginal_cpa=marginal_cpa)
    return Bid(target_cpa=round(target_cpa, 2),
               target_roas=round(value_per_conversion / target_cpa, 3),
               marginal_cpa=marginal_cpa)
