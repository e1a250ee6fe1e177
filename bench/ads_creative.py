"""Creative fatigue and placement ranking against the simulator's truth.

Fatigue: every weekly check of int_ad_creatives__fatigue_checks is labelled by the truth
(ad_fatigue.parquet): the ad truly fatigued in that window when its true CTR multiplier fell by
at least TRUE_DECLINE from the window's first delivery day of its run to the last. Precision and
recall of the rule, beside the simplest rival a marketer uses: the last week's CTR at least
TRUE_DECLINE below the three weeks before. Placements: Spearman correlation of the ranked cost
per reconciled purchase (rpt_ad_placements) with the truth's cost-per-conversion multiplier
(ad_placements.parquet), beside the unshrunk reconciled CPA and Meta's own CPA.

Run after a pipeline run: `python -m bench.ads_creative WORK_DB TRUTH_DIR [...] [--real]`;
`--real` adds real_shrinkage (the CPA prior on the Kaggle Facebook ads).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import norm, spearmanr

TRUE_DECLINE = 0.15  # a fall of the true CTR this large over the window is fatigue
WINDOW_DAYS = 28  # the rule's window (dbt var ad_fatigue_window_days)


def _read(work_db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def fatigue_labels(work_db: Path, truth: Path) -> pl.DataFrame:
    """Every weekly check (check_date, ad_id, is_fatigued) with the truth's label
    (truly_fatigued) and the rival's flag (rival_flag)."""
    checks = _read(work_db, "select check_date, ad_id, is_fatigued, clicks "
                            "from intermediate.int_ad_creatives__fatigue_checks")
    path = pl.read_parquet(truth / "ad_fatigue.parquet")
    both = checks.join(path, on="ad_id").filter(
        (pl.col("date") <= pl.col("check_date"))
        & (pl.col("date") > pl.col("check_date") - pl.duration(days=WINDOW_DAYS))
    )
    # The run the ad is in on the check date: that of its last delivery day in the window.
    current = both.sort("date").group_by("check_date", "ad_id").agg(pl.col("run").last())
    window = both.join(current, on=["check_date", "ad_id", "run"]).sort("date")
    truth_label = window.group_by("check_date", "ad_id").agg(
        (1 - pl.col("ctr_multiplier").last() / pl.col("ctr_multiplier").first())
        .alias("true_decline")
    ).with_columns(truly_fatigued=pl.col("true_decline") >= TRUE_DECLINE)
    daily = _read(work_db, "select date_day, ad_id, impressions, clicks "
                           "from staging.stg_meta_ads__insights where impressions > 0")
    rival = (
        checks.select("check_date", "ad_id").join(daily, on="ad_id")
        .filter((pl.col("date_day") <= pl.col("check_date"))
                & (pl.col("date_day") > pl.col("check_date") - pl.duration(days=WINDOW_DAYS)))
        .with_columns(last_week=pl.col("date_day") > pl.col("check_date") - pl.duration(days=7))
        .group_by("check_date", "ad_id")
        .agg(
            (pl.col("clicks").filter("last_week").sum()
             / pl.col("impressions").filter("last_week").sum()).alias("ctr_last"),
            (pl.col("clicks").filter(~pl.col("last_week")).sum()
             / pl.col("impressions").filter(~pl.col("last_week")).sum()).alias("ctr_before"),
        )
        .select("check_date", "ad_id",
                rival_flag=(pl.col("ctr_last") <= (1 - TRUE_DECLINE) * pl.col("ctr_before"))
                .fill_null(False))
    )  # fmt: skip
    return checks.join(truth_label, on=["check_date", "ad_id"]).join(
        rival, on=["check_date", "ad_id"], how="left")


def precision_recall(labels: pl.DataFrame, flag: str) -> dict:
    """Precision and recall of `flag` against truly_fatigued, with the counts."""
    tp = labels.filter(pl.col(flag) & pl.col("truly_fatigued")).height
    flagged = labels.filter(pl.col(flag)).height
    positives = labels.filter("truly_fatigued").height
    return {"checks": labels.height, "positives": positives, "flagged": flagged,
            "true_positives": tp,
            "precision": tp / flagged if flagged else None,
            "recall": tp / positives if positives else None}


def per_ad(labels: pl.DataFrame, truth: Path) -> dict:
    """Ad-level scores: an ad is flagged when any of its weekly checks is; precision against
    the ads that truly fatigue (the truth's is_fatiguing), recall over those that had a
    checkable window in which they truly fatigued."""
    traits = pl.read_parquet(truth / "ad_creatives.parquet").select("ad_id", "is_fatiguing")
    ads = labels.group_by("ad_id").agg(pl.col("is_fatigued").any().alias("flagged"),
                                       pl.col("truly_fatigued").any().alias("fell"))
    ads = ads.join(traits, on="ad_id")
    flagged = ads.filter("flagged")
    fell = ads.filter("fell")
    return {"ads_checked": ads.height, "ads_flagged": flagged.height,
            "flagged_truly_fatiguing": flagged.filter("is_fatiguing").height,
            "fatiguing_with_a_fall": fell.height,
            "of_those_flagged": fell.filter("flagged").height}


def attainable_recall(labels: pl.DataFrame, t_critical: float = 2.6) -> dict:
    """What the clicks allow: a relative CTR fall d over a window with N clicks spread evenly
    is estimated with a standard error of about sqrt(12 / N) (a Poisson rate's linear trend),
    so a test at `t_critical` finds it with probability Phi(d / sqrt(12 / N) - t_critical).
    Returns the median clicks of the truly fatigued checks and that probability averaged over
    them: the recall even a test that knew the curve's shape could reach, near enough."""
    pos = labels.filter("truly_fatigued").with_columns(pl.col("clicks").cast(pl.Float64))
    if pos.is_empty():
        return {"median_clicks": None, "attainable_recall": None}
    z = pos["true_decline"].to_numpy() / np.sqrt(12.0 / np.maximum(pos["clicks"].to_numpy(), 1))
    return {"median_clicks": float(pos["clicks"].median()),
            "median_true_decline": round(float(pos["true_decline"].median()), 3),
            "attainable_recall": round(float(norm.cdf(z - t_critical).mean()), 3)}


def placement_spearman(work_db: Path, truth: Path) -> dict:
    """Spearman correlation of each purchase CPA of rpt_ad_placements with the true
    cost-per-conversion multiplier of the placements."""
    ranked = _read(work_db, "select publisher_platform, platform_position, reconciled_cpa, "
                            "reconciled_cpa_raw, spend / nullif(platform_conversions, 0) "
                            "as platform_cpa from reports.rpt_ad_placements "
                            "where conversion_kind = 'purchase'")
    true = pl.read_parquet(truth / "ad_placements.parquet")
    both = ranked.join(true, on=["publisher_platform", "platform_position"])
    out: dict = {"placements": both.height}
    for col in ("reconciled_cpa", "reconciled_cpa_raw", "platform_cpa"):
        pair = both.select(col, "cpa_multiplier").drop_nulls()
        rho = spearmanr(pair[col], pair["cpa_multiplier"]).statistic if pair.height > 2 else None
        out[col] = None if rho is None else round(float(rho), 3)
    return out


def summary(work_db: Path, truth: Path) -> dict:
    labels = fatigue_labels(work_db, truth)
    return {"fatigue_rule": precision_recall(labels, "is_fatigued"),
            "fatigue_ads": per_ad(labels, truth),
            "fatigue_attainable": attainable_recall(labels),
            "fatigue_rival": precision_recall(labels, "rival_flag"),
            "placements": placement_spearman(work_db, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="*", help="WORK_DB TRUTH_DIR, repeated")
    parser.add_argument("--real", action="store_true", help="the shrinkage on real ads too")
    args = parser.parse_args()
    pairs = list(zip(args.pairs[::2], args.pairs[1::2], strict=True))
    out: dict = {"seeds": [summary(Path(w), Path(t)) for w, t in pairs]}
    if args.real:
        out["real"] = real_shrinkage()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()


REAL_ADS = Path(__file__).resolve().parents[1].parent / "shared/data/real/kag_facebook_ads"


def real_shrinkage(path: Path = REAL_ADS / "KAG_conversion_data.csv", splits: int = 200,
                   weights: tuple[float, ...] = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 1e9),
                   seed: int = 0) -> dict:
    """The CPA shrinkage on real ads (1,143 Facebook ads, lifetime spend and approved
    conversions): each ad's approved conversions are split at random into two halves (a
    binomial thinning, spend halved), the conversion rate is estimated on one half as
    macros/gamma_cpa.sql does (Gamma prior centred on the pooled rate, worth w conversions;
    w = 0 is the raw rate, a huge w the pooled rate alone) and scored by the Poisson deviance
    of the other half's conversions. Returns the mean deviance per prior weight over
    `splits` splits, for ads with spend."""
    ads = pl.read_csv(path).filter(pl.col("Spent") > 0)
    spend = ads["Spent"].to_numpy() / 2
    approved = ads["Approved_Conversion"].to_numpy()
    rng = np.random.default_rng(seed)
    out = {w: 0.0 for w in weights}
    for _ in range(splits):
        a = rng.binomial(approved, 0.5)
        b = approved - a
        pooled = a.sum() / spend.sum()
        for w in weights:
            rate = (w + a) / (w / pooled + spend)
            mu = np.maximum(rate * spend, 1e-9)
            dev = 2 * (np.where(b > 0, b * np.log(np.maximum(b, 1) / mu), 0.0) - (b - mu))
            out[w] += dev.sum() / splits
    return {"ads": ads.height, "conversions": int(approved.sum()),
            "deviance_by_prior_conversions": {("pooled" if w >= 1e9 else w): round(float(v), 1)
                                              for w, v in out.items()}}
