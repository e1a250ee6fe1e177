"""PyMC-Marketing's MMM against the SciPy per-ad-set fits, on one simulated world's ad days.

Two halves, two interpreters, since PyMC-Marketing is not a dependency of the product:
`python -m bench.pymc_marketing_compare export --seed 1 --out DIR` (the repo's venv) writes
the ad sets' daily spend, the daily purchases of the sales ad sets (truth-reconciled, as
bench.ads_budget), the true curves and the SciPy fits' curves; then
`/tmp/venv/bin/python bench/pymc_marketing_compare.py fit DIR` (a scratch venv with
pymc-marketing) fits the MMM (geometric adstock, logistic saturation: its default, as Hill
saturation stopped NUTS at once on this data with "0 < alpha <= 1"; one channel per ad set,
the target the sum of their purchases), times it, and compares both fits' curves with the
truth: the response at 0.5x, 1x and 1.5x each ad set's mean spend, and the Spearman rank of
the marginal return at its current spend.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def export(seed: int, out: Path) -> None:
    import polars as pl

    from bench.__main__ import DAY, world
    from bench.ads_budget import world_days
    from pipelines.ads.plan import build_plan
    from pipelines.ads.settings import AdsSettings

    root = world("s", seed) / "world"
    daily, adsets, values = world_days(root)
    plan = build_plan(daily, adsets, values, AdsSettings(), DAY).plan
    sales = plan.filter((pl.col("status") == "planned") & (pl.col("outcome") == "purchases"))
    ids = sales["adset_id"].to_list()
    days = daily.filter(pl.col("adset_id").is_in(ids)).with_columns(
        pl.col("date_day").cast(pl.String))
    start = str(DAY.replace(year=DAY.year - 1))
    days = days.filter(pl.col("date_day") > start)
    wide = days.pivot(on="adset_id", index="date_day", values="spend").fill_null(0.0)
    target = days.group_by("date_day").agg(pl.col("purchases").sum())
    wide.join(target, on="date_day").sort("date_day").write_csv(out / "days.csv")
    truth = pl.read_parquet(root / "truth" / "ad_response.parquet")
    sales.join(truth.select("adset_id", pl.col("alpha").alias("true_alpha"),
                            pl.col("kappa_usd_per_day").alias("true_kappa"),
                            pl.col("beta_per_day").alias("true_beta")), on="adset_id"
               ).select("adset_id", "adset_name", "current_daily_budget", "alpha", "kappa",
                        "beta", "decay", "true_alpha", "true_kappa", "true_beta"
               ).write_csv(out / "adsets.csv")
    print(f"wrote {out}/days.csv and adsets.csv")


def fit(directory: Path) -> None:
    import numpy as np
    import pandas as pd
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation
    from scipy import stats

    days = pd.read_csv(directory / "days.csv", dtype={"date_day": str})
    sets = pd.read_csv(directory / "adsets.csv", dtype={"adset_id": str})
    channels = sets["adset_id"].tolist()
    days["date_day"] = pd.to_datetime(days["date_day"])
    mmm = MMM(date_column="date_day", channel_columns=channels,
              adstock=GeometricAdstock(l_max=14), saturation=LogisticSaturation())
    start = time.perf_counter()
    mmm.fit(days[["date_day", *channels]], days["purchases"], chains=2, cores=2, draws=500,
            tune=500, random_seed=1, progressbar=False)
    seconds = time.perf_counter() - start
    print(f"fit seconds: {seconds:.1f}", flush=True)
    scale = np.asarray(mmm.channel_scale) if hasattr(mmm, "channel_scale") else 1.0

    def steady(level: np.ndarray) -> np.ndarray:
        """Posterior-mean conversions per day per channel at a steady daily spend `level`."""
        # The model's date coordinate is fixed to the fitted days: a steady year of spend.
        data = np.tile(level, (len(days), 1)) / scale
        out = mmm.channel_contribution_forward_pass(data)
        return np.asarray(out).mean(axis=(0, 1))[-1]

    def hill(b, k, a, s):
        return b * s**a / (s**a + k**a)

    current = sets["current_daily_budget"].to_numpy()
    rows = {"seconds": seconds, "adsets": len(channels), "days": len(days)}
    errors = {"pymc": [], "scipy": []}
    for mult in (0.5, 1.0, 1.5):
        level = current * mult
        true = hill(sets.true_beta, sets.true_kappa, sets.true_alpha, level).to_numpy()
        pymc = steady(level)
        scipy_fit = hill(sets.beta, sets.kappa, sets.alpha, level).to_numpy()
        errors["pymc"] += list(np.abs(pymc - true) / true)
        errors["scipy"] += list(np.abs(scipy_fit - true) / true)
    eps = 0.01 * current
    true_m = (hill(sets.true_beta, sets.true_kappa, sets.true_alpha, current + eps)
              - hill(sets.true_beta, sets.true_kappa, sets.true_alpha, current)) / eps
    pymc_m = (steady(current + eps) - steady(current)) / eps
    scipy_m = (hill(sets.beta, sets.kappa, sets.alpha, current + eps)
               - hill(sets.beta, sets.kappa, sets.alpha, current)) / eps
    rows.update(
        pymc_median_abs_rel_error=float(np.median(errors["pymc"])),
        scipy_median_abs_rel_error=float(np.median(errors["scipy"])),
        pymc_spearman_marginal=float(stats.spearmanr(pymc_m, true_m).statistic),
        scipy_spearman_marginal=float(stats.spearmanr(scipy_m, true_m).statistic),
    )
    (directory / "result.json").write_text(json.dumps(rows, indent=2))
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(int(sys.argv[sys.argv.index("--seed") + 1]),
               Path(sys.argv[sys.argv.index("--out") + 1]))
    else:
        fit(Path(sys.argv[2]))
