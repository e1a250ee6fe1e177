"""Reconciled ad conversions against the simulator's truth: per campaign, the purchases the
shop's records credit to its ads beside the purchases its clicks really brought."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

ATTRIBUTION_FILE = "ad_attribution.parquet"
CAUSES = ("click_id_only_in_pixel_cookie", "no_record_of_the_click", "order_not_in_shop_export",
          "credited_to_another_ad")


def campaign_errors(warehouse: Path, truth: Path) -> pl.DataFrame:
    """Per campaign: reconciled purchases (marts.fct_ad_attributed_orders, not cancelled;
    test orders never reach it) in the run's warehouse `warehouse`, the truth's attributed
    purchases (not cancelled, not test) from `truth`/ad_attribution.parquet, and the relative
    error (reconciled / truth - 1). Campaigns either side has are listed."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        ours = con.sql(
            "select campaign_id, count(*) as reconciled_purchases "
            "from marts.fct_ad_attributed_orders "
            "where conversion_kind = 'purchase' and not is_cancelled group by campaign_id"
        ).pl()
    finally:
        con.close()
    true = (
        pl.read_parquet(truth / ATTRIBUTION_FILE)
        .filter((pl.col("kind") == "purchase") & ~pl.col("is_cancelled") & ~pl.col("is_test"))
        .group_by("campaign_id")
        .agg(pl.len().alias("true_purchases"))
    )
    return (
        true.join(ours, on="campaign_id", how="full", coalesce=True)
        .with_columns(pl.col("reconciled_purchases", "true_purchases").fill_null(0)
                      .cast(pl.Int64))
        .with_columns(relative_error=pl.when(pl.col("true_purchases") > 0).then(
            pl.col("reconciled_purchases") / pl.col("true_purchases") - 1))
        .sort("campaign_id")
    )


def summary(warehouse: Path, work_db: Path, truth: Path) -> dict:
    """campaign_errors and miss_causes as JSON-ready rows, with the largest absolute
    relative error over the campaigns."""
    frame = campaign_errors(warehouse, truth)
    errors = frame["relative_error"].drop_nulls().abs()
    return {"max_abs_error": float(errors.max()) if errors.len() else 0.0,
            "campaigns": frame.to_dicts(), "causes": miss_causes(work_db, truth).to_dicts()}


def markdown(runs: list[dict]) -> str:
    """Per seed and campaign: reconciled and true purchases, the relative error, and the
    true purchases not credited to their ad by cause (miss_causes)."""
    lines = ["| seed | campaign | true purchases | reconciled | error | click id only in the "
             "Pixel cookie | no record of the click | not in the shop export | another ad |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        causes = {(c["campaign_id"], c["cause"]): c["purchases"] for c in run["ads"]["causes"]}
        for row in run["ads"]["campaigns"]:
            error = row["relative_error"]
            missed = [causes.get((row["campaign_id"], cause), 0) for cause in CAUSES]
            lines.append(f"| {run['seed']} | {row['campaign_id']} | {row['true_purchases']} | "
                         f"{row['reconciled_purchases']} | "
                         f"{'' if error is None else f'{error:+.1%}'} | "
                         + " | ".join(str(m) for m in missed) + " |")
    return "\n".join(lines)


CAUSES_SQL = """
with truth as (select * from truth_rows),
ids as (
    select distinct "Name" as order_id, cast("Id" as varchar) as platform_order_id
    from raw.shop__orders where "Id" is not null
),
credited as (
    select conversion_id, ad_id from marts.fct_ad_attributed_orders
    where conversion_kind = 'purchase'
),
orders as (select order_id from marts.fct_orders),
pixel_clicks as (
    select order_id as platform_order_id,
        regexp_extract(fbc, '^fb\\.[0-9]+\\.[0-9]+\\.(.+)$', 1) as fbclid
    from staging.stg_meta_capi__events
    where event_name = 'Purchase' and fbc is not null
),
landed as (select fbclid from intermediate.int_ads__clicks where fbclid is not null),
classified as (
    select
        truth.campaign_id,
        case
            when credited.ad_id = truth.ad_id then 'credited'
            when orders.order_id is null then 'order_not_in_shop_export'
            when credited.ad_id is not null then 'credited_to_another_ad'
            when exists (
                select 1 from pixel_clicks
                where pixel_clicks.platform_order_id = coalesce(ids.platform_order_id,
                                                                truth.order_id)
                    and pixel_clicks.fbclid not in (select fbclid from landed)
            ) then 'click_id_only_in_pixel_cookie'
            else 'no_record_of_the_click'
        end as cause
    from truth
    left join ids using (order_id)
    left join orders using (order_id)
    left join credited on credited.conversion_id = truth.order_id
)
select campaign_id, cause, count(*) as purchases from classified group by all order by all
"""


def miss_causes(work_db: Path, truth: Path, shopify: bool = True) -> pl.DataFrame:
    """Per campaign and cause, the truth's attributed purchases (not cancelled, not test) as
    the run's work file `work_db` shows them: credited to their ad, or why not: the order is
    not in the shop's export, it is credited to another ad, the click's id is only in the
    Pixel's _fbc cookie of its Conversions API purchase (no GA4 landing says which ad: the
    person declined analytics cookies), or no record shows the click at all. Shopify names
    orders `#<number>`; a generic orders file uses the number as the id."""
    rows = (
        pl.read_parquet(truth / ATTRIBUTION_FILE)
        .filter((pl.col("kind") == "purchase") & ~pl.col("is_cancelled") & ~pl.col("is_test"))
        .select("campaign_id", "ad_id",
                ((pl.lit("#") if shopify else pl.lit(""))
                 + pl.col("order_number").cast(pl.String)).alias("order_id"))
    )  # fmt: skip
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        con.register("truth_rows", rows.to_arrow())
        return con.sql(CAUSES_SQL).pl()
    finally:
        con.close()
