"""The statistics of every experiment readout, in one place (reports.rpt_experiments and
reports.rpt_ab_tests call them through pipelines.experiments.readouts).

Choices, and why:
- The difference in means uses Welch's interval (unequal variances, Welch-Satterthwaite
  degrees of freedom). A holdout is a tenth of the audience, so the arms differ in size and
  usually in spread (treatment changes the variance of orders, not only the mean); the pooled
  Student t is wrong exactly then. Welch's t quantile also keeps the interval honest on small
  arms, where a normal quantile would be too narrow.
- The relative lift's interval is the delta method's (normal) on treated/holdout - 1.
- The probability that treatment beats holdout is the normal posterior of the difference
  under a flat prior: Phi(difference / standard error). Outcomes here are counts, money and
  churn flags read through CUPED-adjusted means, so one continuous model serves them all; rates
  of A/B tests (opens, clicks, conversions per recipient or impression) use Beta-Binomial
  posteriors instead (`rate_posteriors`).
- CUPED (Deng et al. 2013): theta = cov(y, x) / var(x) over both arms pooled, with x the same
  measure over the 90 days before entry; y - theta (x - mean x) has the same expected
  difference (x does not depend on the arm under randomisation) and less variance.
- Sample-ratio mismatch: a chi-square goodness-of-fit test of the arm counts against the
  configured share; p < `SRM_ALPHA` flags it, and a flag blocks the verdict.
- The minimum detectable effect is (z_{1-alpha/2} + z_{power}) times the lift's standard
  error, alpha 0.10 two-sided (as the 90% interval) and power 0.80.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import stats

LEVEL = 0.90  # interval level of every readout
ALPHA = 1 - LEVEL
POWER = 0.80
SRM_ALPHA = 0.001
MIN_UNITS_PER_ARM = 30  # below this neither arm's mean nor its spread is worth a verdict
VERDICTS = ("treatment_better", "holdout_better", "no_difference", "too_few", "srm_blocked")


@dataclass(frozen=True)
class Lift:
    """Treatment against holdout on one outcome. `lift_abs` and its interval are on the CUPED
    adjusted values when a covariate was given (the raw means are `treated_mean` and
    `holdout_mean`); `se` is the standard error of `lift_abs`."""

    treated_n: int
    holdout_n: int
    treated_mean: float | None
    holdout_mean: float | None
    lift_abs: float | None
    lift_low: float | None
    lift_high: float | None
    lift_rel: float | None
    lift_rel_low: float | None
    lift_rel_high: float | None
    se: float | None
    prob_treatment_better: float | None
    cuped_variance_reduction: float | None
    mde_abs: float | None


def welch(treated: np.ndarray, holdout: np.ndarray, level: float = LEVEL
          ) -> tuple[float, float, float, float]:
    """Difference of means (treated - holdout), its standard error and Welch's `level`
    interval. Needs at least two units in each arm."""
    nt, nh = len(treated), len(holdout)
    vt, vh = np.var(treated, ddof=1) / nt, np.var(holdout, ddof=1) / nh
    diff = float(np.mean(treated) - np.mean(holdout))
    se = math.sqrt(vt + vh)
    if se == 0:
        return diff, 0.0, diff, diff
    df = (vt + vh) ** 2 / (vt**2 / (nt - 1) + vh**2 / (nh - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return diff, se, diff - half, diff + half


def cuped(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """y adjusted by its pre-period covariate x with theta from the pooled covariance, and
    theta. A covariate without spread adjusts nothing (theta 0)."""
    var_x = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
    if var_x == 0:
        return y.astype(float), 0.0
    theta = float(np.cov(y, x, ddof=1)[0, 1]) / var_x
    return y - theta * (x - x.mean()), theta


def relative_lift(mean_t: float, mean_h: float, var_mean_t: float, var_mean_h: float,
                  level: float = LEVEL) -> tuple[float | None, float | None, float | None]:
    """treated/holdout - 1 and its delta-method interval; None when the holdout's mean is 0
    (no relative change is defined)."""
    if mean_h == 0:
        return None, None, None
    rel = mean_t / mean_h - 1
    se = math.sqrt(var_mean_t / mean_h**2 + mean_t**2 * var_mean_h / mean_h**4)
    half = float(stats.norm.ppf(0.5 + level / 2)) * se
    return rel, rel - half, rel + half


def mde(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true lift a two-sided test at `alpha` detects with `power`, for a lift
    estimate of standard error `se`."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def lift(treated: np.ndarray, holdout: np.ndarray, treated_pre: np.ndarray | None = None,
         holdout_pre: np.ndarray | None = None, lower_is_better: bool = False) -> Lift:
    """The readout of one outcome: raw means, the (CUPED adjusted, when pre-period values are
    given) difference with its Welch interval, relative lift, probability that treatment is
    better (for an outcome where lower is better, such as churn, better means lower) and the
    minimum detectable effect. Arms with fewer than two units give None statistics."""
    treated, holdout = np.asarray(treated, float), np.asarray(holdout, float)
    nt, nh = len(treated), len(holdout)
    mean_t = float(treated.mean()) if nt else None
    mean_h = float(holdout.mean()) if nh else None
    if nt < 2 or nh < 2:
        return Lift(nt, nh, mean_t, mean_h, *(None,) * 10)
    _, raw_se, _, _ = welch(treated, holdout)
    reduction = None
    yt, yh = treated, holdout
    if treated_pre is not None and holdout_pre is not None:
        adjusted, _ = cuped(np.concatenate([treated, holdout]),
                            np.concatenate([np.asarray(treated_pre, float),
                                            np.asarray(holdout_pre, float)]))
        yt, yh = adjusted[:nt], adjusted[nt:]
    diff, se, low, high = welch(yt, yh)
    if treated_pre is not None and raw_se > 0:
        reduction = 1 - (se / raw_se) ** 2
    rel, rel_low, rel_high = relative_lift(
        float(yt.mean()), float(yh.mean()), np.var(yt, ddof=1) / nt, np.var(yh, ddof=1) / nh)
    sign = -1.0 if lower_is_better else 1.0
    if se > 0:
        prob = float(stats.norm.cdf(sign * diff / se))
    else:
        prob = 0.5 if diff == 0 else float(sign * diff > 0)
    return Lift(nt, nh, mean_t, mean_h, diff, low, high, rel, rel_low, rel_high, se, prob,
                reduction, mde(se))


def srm_p_value(treated_n: int, holdout_n: int, holdout_share: float) -> float | None:
    """The chi-square test's p-value of the arm counts against the configured holdout share;
    None without units."""
    n = treated_n + holdout_n
    if n == 0:
        return None
    expected = [n * (1 - holdout_share), n * holdout_share]
    return float(stats.chisquare([treated_n, holdout_n], f_exp=expected).pvalue)


def units_needed(n_now: int, mde_now: float, min_effect: float) -> int:
    """Units (both arms, in today's proportions) at which the minimum detectable effect falls
    to `min_effect`: the standard error shrinks with the square root of the units."""
    return math.ceil(n_now * (mde_now / min_effect) ** 2)


def days_needed(entered_on: list[date], as_of: date, outcome_days: int, n_needed: int,
                entries_per_day: float) -> int | None:
    """Days from `as_of` until `n_needed` units have complete outcome windows. Units already
    in the experiment complete on entry + window; the rest enter at `entries_per_day` and
    then wait their window. None when more are needed and nobody is entering."""
    ends = sorted(e + timedelta(days=outcome_days) for e in entered_on)
    if n_needed <= len(ends):
        return max(0, (ends[n_needed - 1] - as_of).days)
    if entries_per_day <= 0:
        return None
    return math.ceil((n_needed - len(ends)) / entries_per_day) + outcome_days


def verdict(result: Lift, srm_flag: bool, min_effect: float | None,
            lower_is_better: bool = False) -> str:
    """srm_blocked when the arms' ratio is off; too_few when an arm is under
    `MIN_UNITS_PER_ARM`, or when the interval spans 0 and an effect of `min_effect` could
    still hide in it undetected (minimum detectable effect above it); else the interval's
    side, or no_difference."""
    if srm_flag:
        return "srm_blocked"
    if result.treated_n < MIN_UNITS_PER_ARM or result.holdout_n < MIN_UNITS_PER_ARM \
            or result.lift_low is None:
        return "too_few"
    better, worse = ("treatment_better", "holdout_better")
    if lower_is_better:
        better, worse = worse, better
    if result.lift_low > 0:
        return better
    if result.lift_high < 0:
        return worse
    if min_effect is not None and result.mde_abs > min_effect:
        return "too_few"
    return "no_difference"


@dataclass(frozen=True)
class Rate:
    """One variant's rate on one metric: successes of trials, the Beta(1 + s, 1 + f)
    posterior's mean and equal-tailed `LEVEL` interval, and its probability of being best."""

    trials: int
    successes: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    prob_best: float | None


def rate_posteriors(successes: list[int], trials: list[int], seed: int, draws: int = 20_000
                    ) -> list[Rate]:
    """Beta-Binomial readout of variants of one test (uniform prior): each variant's observed
    rate, posterior interval and the probability its true rate is the highest (Monte Carlo
    from the posteriors, seeded so a rerun gives the same figures)."""
    rng = np.random.default_rng(seed)
    a = np.array(successes, float) + 1
    b = np.array(trials, float) - np.array(successes, float) + 1
    samples = rng.beta(a[:, None], b[:, None], size=(len(a), draws))
    best = np.bincount(samples.argmax(axis=0), minlength=len(a)) / draws
    out = []
    for i, (s, n) in enumerate(zip(successes, trials, strict=True)):
        low, high = stats.beta.ppf([ALPHA / 2, 1 - ALPHA / 2], a[i], b[i])
        out.append(Rate(n, s, s / n if n else None, float(low), float(high), float(best[i])))
    return out


def winner_threshold(variants: int) -> float:
    """The probability of being best a variant needs to be declared the winner: 1 - 0.05/k
    for k variants (0.975 for two), so that among variants that do not differ a winner is
    declared in about 5% of tests (a Bonferroni split of 5% over the k chances)."""
    return 1 - 0.05 / variants


def winner(rates: list[Rate], min_trials: int) -> int | None:
    """The index of the winning variant, or None: a winner needs the threshold's probability
    of being best and every variant at least `min_trials` trials."""
    if len(rates) < 2 or any(r.trials < min_trials for r in rates):
        return None
    best = max(range(len(rates)), key=lambda i: rates[i].prob_best)
    return best if rates[best].prob_best >= winner_threshold(len(rates)) else None
