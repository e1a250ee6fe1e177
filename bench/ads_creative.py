"""Creative fatigue and placement ranking against the simulator's truth.

Fatigue: every weekly check of int_ad_creatives__fatigue_checks is labelled by the truth
(ad_fatigue.parquet): the ad truly fatigued in that window when its true CTR multiplier fell by
at least TRUE_DECLINE from the window's first delivery day of its run to the last. Precision and
recall of the rule, beside the simplest rival a marketer uses: the last week's CTR at least
TRUE_DECLINE below the three weeks before. Placements: Spearman correlation of the ranked cost
per reconciled purchase (rpt_ad_placements) with the truth's cost-per-conversion multiplier
(ad_placements.parquet), beside the unshrunk reconciled CPA and Meta's own CPA.

Run after a pipeline run: `python -m bench.ads_creative WORK_DB TRUTH_DIR [...]` (pairs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import polars as pl
from scipy.stats import spearmanr

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
    checks = _read(work_db, "select check_date, ad_id, is_fatigued "
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
        (pl.col("ctr_multiplier").last() <= (1 - TRUE_DECLINE) * pl.col("ctr_multiplier").first())
        .alias("truly_fatigued"))  # fmt: skip
    daily = _read(work_db, "select date_day, ad_id, impressions, clicks "
                           "from staging.stg_meta_ads__insights where impressions > 0")
    rival = (
        checks.join(daily, on="ad_id")
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
            "fatigue_rival": precision_recall(labels, "rival_flag"),
            "placements": placement_spearman(work_db, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", help="WORK_DB TRUTH_DIR, repeated")
    args = parser.parse_args()
    pairs = list(zip(args.pairs[::2], args.pairs[1::2], strict=True))
    print(json.dumps([summary(Path(w), Path(t)) for w, t in pairs], indent=1))


if __name__ == "__main__":
    main()
