"""The `optimise_ads` step: read the reconciled ad days and the customers' scores, build the
budget plan, write `ml.ad_budget_plan`. The reads and the write are here; the logic is in
`plan.py`, `response.py`, `budget.py` and `bids.py`."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import duckdb
import polars as pl
from threadpoolctl import threadpool_limits

from pipelines.ads.plan import LEAD_OBJECTIVES, PLAN_SCHEMA, PlanResult, build_plan
from pipelines.ads.settings import AdsSettings, load_ads_settings
from pipelines.config import Settings
from pipelines.warehouse import work_connection

log = logging.getLogger(__name__)

TABLE = "ml.ad_budget_plan"
CONVERSIONS = "marts.fct_ad_conversions"
ATTRIBUTED = "marts.fct_ad_attributed_orders"

DAILY_SQL = f"""
select adset_id, date_day, sum(spend)::double as spend,
       sum(reconciled_purchases)::double as purchases,
       sum(reconciled_leads)::double as leads,
       sum(reconciled_value)::double as value
from {CONVERSIONS}
where date_day between ? and ?
group by adset_id, date_day
"""

ADSETS_SQL = f"""
with named as (
    select adset_id, arg_max(adset_name, date_day) as adset_name,
           arg_max(campaign_id, date_day) as campaign_id,
           arg_max(campaign_name, date_day) as campaign_name,
           arg_max(currency, date_day) as currency
    from {CONVERSIONS} group by adset_id
),
objectives as (
    -- The contract's fct_ad_conversions has no objective: the Insights rows carry it.
    select adset_id, arg_max(objective, date_day) as objective
    from staging.stg_meta_ads__insights group by adset_id
)
select named.*, objectives.objective
from named left join objectives using (adset_id)
"""


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = ?", [schema, name]).fetchall()[0][0])


def conversion_values(con: duckdb.DuckDBPyConnection, daily: pl.DataFrame,
                      adsets: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """What one conversion of each ad set is worth, and its customers in all.

    A purchase: the reconciled value per reconciled purchase over the fitted days (net of
    refunds known by the run). Its customers: that plus the LTV model's next-year value of the
    customers the ad set brought (`ml.scores`, model ltv). A lead: the chance it orders (1 for
    a lead who has ordered since, else the lead model's score, else 0: observed where it can
    be, predicted where not) x the mean first order of customers who came in as leads."""
    scores = has_table(con, "ml.scores")
    ltv = ("(select customer_key, score as ltv from ml.scores where model = 'ltv')" if scores
           else "(select null::varchar as customer_key, null::double as ltv)")
    lead = ("(select customer_key, score as p_order from ml.scores where model = 'lead')"
            if scores else "(select null::varchar as customer_key, null::double as p_order)")
    per_set = con.sql(f"""
        with credited as (
            select * from {ATTRIBUTED} where cast(click_date as date) between ? and ?
        ),
        first_orders as (
            select customer_key, min(ordered_at) as first_at,
                   arg_min(amount, ordered_at)::double as first_value
            from marts.fct_orders where is_purchase and not is_cancelled
            group by customer_key
        ),
        lead_first as (
            select avg(f.first_value) as v from credited as c
            join first_orders as f using (customer_key)
            where c.conversion_kind = 'lead'
        ),
        any_first as (select avg(first_value) as v from first_orders)
        select c.adset_id,
               avg(coalesce(l.ltv, 0)) filter (where c.conversion_kind = 'purchase')
                   as mean_ltv,
               count(l.ltv) filter (where c.conversion_kind = 'purchase') as ltv_scored,
               avg(case when f.first_at >= c.converted_at then 1.0
                        else coalesce(p.p_order, 0) end)
                   filter (where c.conversion_kind = 'lead') as p_order,
               coalesce((select v from lead_first), (select v from any_first))
                   as lead_first_value,
               avg(coalesce(l.ltv, 0)) filter (where c.conversion_kind = 'lead'
                                               and f.first_at >= c.converted_at)
                   as lead_ltv
        from credited as c
        left join {ltv} as l using (customer_key)
        left join {lead} as p using (customer_key)
        left join first_orders as f using (customer_key)
        group by c.adset_id
    """, params=[start, end]).pl()
    # Summed exactly, as decimals: Polars sums a group's floats in parallel parts, added in
    # the order its threads finish, and a value near half a cent then rounded either way on a
    # rerun of the same day (measured: 1 run in 20 moved the plan).
    exact = pl.Decimal(38, 9)
    totals = daily.group_by("adset_id").agg(
        pl.col("value").cast(exact).sum().cast(pl.Float64),
        pl.col("purchases").cast(exact).sum().cast(pl.Float64))
    frame = adsets.select("adset_id", "objective").join(totals, on="adset_id", how="left") \
        .join(per_set, on="adset_id", how="left")
    is_lead = pl.col("objective").is_in(LEAD_OBJECTIVES)
    first = pl.when(pl.col("purchases") > 0).then(pl.col("value") / pl.col("purchases"))
    lead_value = pl.col("p_order").fill_null(0) * pl.col("lead_first_value").fill_null(0)
    # To the cent: averages of double scores differ in their last bits between runs
    # (parallel sums), and a rerun of the same day must give the same plan.
    return frame.select(
        "adset_id",
        pl.when(is_lead).then(lead_value).otherwise(first.fill_null(0)).round(2)
        .alias("value_per_conversion"),
        pl.when(is_lead)
        .then(lead_value + pl.col("p_order").fill_null(0) * pl.col("lead_ltv").fill_null(0))
        .otherwise(first.fill_null(0) + pl.col("mean_ltv").fill_null(0)).round(2)
        .alias("customer_value"),
        pl.when(is_lead)
        .then(pl.lit("lead: chance to order (observed, else the lead model) x mean first order"
                     " of leads; customers add the LTV model's next year"))
        .when(pl.col("ltv_scored").fill_null(0) > 0)
        .then(pl.lit("reconciled value per purchase; customers add the LTV model's next year"))
        .otherwise(pl.lit("reconciled value per purchase (no LTV scores: first order only)"))
        .alias("value_basis"),
    )


def read_inputs(con: duckdb.DuckDBPyConnection, settings: AdsSettings, as_of: date
                ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The daily reconciled ad days, the ad sets and their conversion values."""
    start = as_of - timedelta(days=settings.fit.history_days - 1)
    daily = con.sql(DAILY_SQL, params=[start, as_of]).pl().with_columns(
        pl.col("date_day").cast(pl.Date))
    adsets = con.sql(ADSETS_SQL).pl()
    values = conversion_values(con, daily, adsets, start, as_of)
    return daily, adsets, values


def write_plan(con: duckdb.DuckDBPyConnection, plan: pl.DataFrame) -> None:
    con.execute("create schema if not exists ml")
    con.register("plan_frame", plan.to_arrow())
    con.execute(f"create or replace table {TABLE} as select * from plan_frame")
    con.unregister("plan_frame")


def optimise_ads(settings: Settings, logical_date: date, run_id: str) -> dict:
    """Build the day's budget plan into `ml.ad_budget_plan`; a shop without Meta Ads data (no
    reconciled ad days) gets no plan, and the summary says so."""
    ads = load_ads_settings(settings.ads_file)
    with work_connection(settings) as con:
        if not has_table(con, CONVERSIONS):
            return {"skipped": f"{CONVERSIONS} is missing: run the transform step first"}
        daily, adsets, values = read_inputs(con, ads, logical_date)
        if daily.filter(pl.col("spend") > 0).is_empty():
            write_plan(con, pl.DataFrame(schema=PLAN_SCHEMA))
            return {"skipped": "no Meta Ads spend in the fitted days: no budget plan"}
        # One BLAS thread: with several, the curve fits' linear algebra added in an order
        # that changed from run to run, and a same-day rerun's plan moved (measured: the
        # plan's value 119.126 against 119.117 in 2 of 3 reruns of the `s` world).
        with threadpool_limits(limits=1):
            result: PlanResult = build_plan(daily, adsets, values, ads, logical_date,
                                            where=str(settings.ads_file))
        write_plan(con, result.plan)
    plan = result.plan
    summary = {
        "adsets": plan.height,
        "planned": int((plan["status"] == "planned").sum()),
        "kept": {r["adset_name"]: r["reason"]
                 for r in plan.filter(pl.col("status") == "kept").iter_rows(named=True)},
        "value_change_per_week": round(result.value_change, 2),
        "value_change_80": [round(result.value_low, 2), round(result.value_high, 2)],
    }
    log.info("budget plan for %s: %s", logical_date, summary)
    return summary

