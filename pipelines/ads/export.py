"""The budget plan as a file Meta Ads Manager's bulk import takes (Export & Import > Import
ads in bulk): one row per ad set whose daily budget the plan sets, the columns named as Ads
Manager's own export names them, the budget in the ad account's currency (not cents)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl

PLATFORM = "meta_ads_budget"
NAME = "budget_plan"
COLUMNS = ("Campaign ID", "Campaign Name", "Ad Set ID", "Ad Set Name", "Ad Set Daily Budget")


def bulk_rows(plan: pl.DataFrame) -> pl.DataFrame:
    """The bulk-import rows of the planned ad sets (those that keep their budget need no
    change, so none), budgets with two decimals as text."""
    return plan.filter(pl.col("status") == "planned").sort("adset_id").select(
        pl.col("campaign_id").alias("Campaign ID"),
        pl.col("campaign_name").alias("Campaign Name"),
        pl.col("adset_id").alias("Ad Set ID"),
        pl.col("adset_name").alias("Ad Set Name"),
        pl.col("recommended_daily_budget").round(2).map_elements(
            lambda v: f"{v:.2f}", return_dtype=pl.String).alias("Ad Set Daily Budget"),
    )


def write_budget_file(con: duckdb.DuckDBPyConnection, building: Path) -> dict | None:
    """Write `meta_ads_budget/budget_plan.csv` under `building` from `ml.ad_budget_plan`;
    returns its manifest entry, or None when there is no plan or nothing to change."""
    from pipelines.ads.tasks import TABLE, has_table

    if not has_table(con, TABLE):
        return None
    rows = bulk_rows(con.sql(f"select * from {TABLE}").pl())
    if rows.is_empty():
        return None
    relative = Path(PLATFORM) / f"{NAME}.csv"
    target = building / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    rows.select(COLUMNS).write_csv(target)
    return {"path": relative.as_posix(), "platform": PLATFORM, "audience": NAME,
            "kind": "full", "part": 1, "parts": 1, "rows": rows.height,
            "sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "suppressed": {}}
