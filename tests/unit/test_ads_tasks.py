"""The optimise_ads step on contract-shaped DuckDB tables, and the Meta bulk-import file."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ads.budget import BudgetBoundsError
from pipelines.ads.export import COLUMNS, write_budget_file
from pipelines.ads.response import Curve
from pipelines.ads.tasks import TABLE, optimise_ads
from pipelines.config import Settings
from tests.unit.test_ads_budget import simulate

DAY = date(2026, 10, 31)
SETS = {  # adset_id: (name, objective, curve)
    "111": ("Broad", "OUTCOME_SALES", Curve(6.0, 40.0, 1.2)),
    "222": ("Lookalike", "OUTCOME_SALES", Curve(3.0, 90.0, 1.1)),
    "333": ("Office", "OUTCOME_LEADS", Curve(4.0, 30.0, 1.0)),
    "444": ("Awareness", "OUTCOME_AWARENESS", Curve(0.0, 30.0, 1.0)),
}


def _world(con: duckdb.DuckDBPyConnection, days: int = 300) -> None:
    frames, insights, attributed = [], [], []
    for k, (adset_id, (name, objective, curve)) in enumerate(SETS.items()):
        spend, outcome = simulate(Curve(max(curve.beta, 1.0), curve.kappa, curve.alpha),
                                  days, k + 1)
        spend[-7:] = curve.kappa
        dates = [DAY - timedelta(days=days - 1 - i) for i in range(days)]
        lead = objective == "OUTCOME_LEADS"
        frames.append(pl.DataFrame({
            "date_day": dates, "account_id": "1", "campaign_id": f"9{adset_id}",
            "campaign_name": f"C {name}", "adset_id": adset_id, "adset_name": name,
            "ad_id": f"{adset_id}01", "currency": "USD", "spend": spend,
            "reconciled_purchases": 0.0 if lead else outcome,
            "reconciled_leads": outcome if lead else 0.0,
            "reconciled_value": 0.0 if lead else outcome * 50.0}))
        insights.append(pl.DataFrame({"date_day": dates, "adset_id": adset_id,
                                      "objective": objective}))
        attributed.append(pl.DataFrame({
            "conversion_kind": "lead" if lead else "purchase", "adset_id": adset_id,
            "customer_key": [f"c{adset_id}-{i}" for i in range(20)],
            "click_date": DAY - timedelta(days=10),
            "converted_at": datetime(2026, 10, 22, 10)}))
    con.execute("create schema marts; create schema staging; create schema ml")
    con.register("f", pl.concat(frames).to_arrow())
    con.execute("create table marts.fct_ad_conversions as select * from f")
    con.register("i", pl.concat(insights).to_arrow())
    con.execute("create table staging.insights as select * from i")
    con.execute("create or replace view staging.stg_meta_ads__insights as "
                "select * from staging.insights")
    con.register("a", pl.concat(attributed).to_arrow())
    con.execute("create table marts.fct_ad_attributed_orders as select * from a")
    # Half the lead customers have ordered since (first order 80); every buyer has an LTV.
    con.execute("""
        create table marts.fct_orders as
        select customer_key, timestamp '2026-10-25 10:00:00' as ordered_at, 80.0 as amount,
               true as is_purchase, false as is_cancelled
        from marts.fct_ad_attributed_orders
        where conversion_kind = 'lead' and right(customer_key, 1) in ('0','2','4','6','8')
    """)
    con.execute("""
        create table ml.scores as
        select customer_key, 'ltv' as model, 120.0 as score from marts.fct_ad_attributed_orders
        where conversion_kind = 'purchase'
        union all
        select customer_key, 'lead', 0.1 from marts.fct_ad_attributed_orders
        where conversion_kind = 'lead'
    """)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path)
    settings.work_db.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.work_db))
    _world(con)
    con.close()
    return settings


def test_step_writes_the_plan_and_the_bulk_import_file(settings: Settings,
                                                       tmp_path: Path) -> None:
    summary = optimise_ads(settings, DAY, "run-1")
    assert summary["planned"] == 3
    assert "Awareness" in summary["kept"]
    con = duckdb.connect(str(settings.work_db))
    plan = con.sql(f"select * from {TABLE} order by adset_id").pl()
    entry = write_budget_file(con, tmp_path / "staged")
    con.close()
    assert plan["status"].to_list() == ["planned", "planned", "planned", "kept"]
    by_id = {r["adset_id"]: r for r in plan.iter_rows(named=True)}
    assert by_id["111"]["value_per_conversion"] == pytest.approx(50.0)
    assert by_id["111"]["customer_value"] == pytest.approx(170.0)
    # A lead: half ordered since (1.0), half open at 0.1 -> 0.55 x the first order of 80.
    assert by_id["333"]["value_per_conversion"] == pytest.approx(0.55 * 80.0)
    planned = plan.filter(pl.col("status") == "planned")
    assert planned["recommended_daily_budget"].sum() == pytest.approx(
        planned["current_daily_budget"].sum(), abs=0.05)
    csv = pl.read_csv(tmp_path / "staged" / entry["path"], infer_schema=False)
    assert tuple(csv.columns) == COLUMNS
    assert csv["Ad Set ID"].to_list() == ["111", "222", "333"]
    assert csv["Ad Set Daily Budget"].str.contains(r"^\d+\.\d{2}$").all()
    assert entry["rows"] == 3 and entry["platform"] == "meta_ads_budget"


def test_bounds_that_cannot_hold_stop_the_step_naming_them(settings: Settings,
                                                           tmp_path: Path) -> None:
    ads = tmp_path / "ads.yml"
    ads.write_text("budget:\n  total_per_day: 10000.0\n")
    with pytest.raises(BudgetBoundsError, match=r"total_per_day 10000\.0"):
        optimise_ads(replace(settings, ads_file=ads), DAY, "run-1")


def test_a_shop_without_meta_ads_skips_saying_so(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    settings.work_db.parent.mkdir(parents=True)
    duckdb.connect(str(settings.work_db)).close()
    summary = optimise_ads(settings, DAY, "run-1")
    assert "fct_ad_conversions is missing" in summary["skipped"]


def test_reruns_write_the_same_plan_fitted_on_one_blas_thread(settings: Settings,
                                                             monkeypatch) -> None:
    """A same-day rerun must publish nothing new. With several BLAS threads the fits' linear
    algebra added in an order that changed from run to run, and the plan moved."""
    from threadpoolctl import threadpool_info

    from pipelines.ads import tasks

    threads: list[int] = []

    def build_plan(*args, **kwargs):
        threads.extend(info["num_threads"] for info in threadpool_info())
        return plan(*args, **kwargs)

    plan = tasks.build_plan
    monkeypatch.setattr(tasks, "build_plan", build_plan)
    plans = []
    for run in range(3):
        optimise_ads(settings, DAY, f"run-{run}")
        con = duckdb.connect(str(settings.work_db))
        plans.append(con.sql(f"select * from {TABLE} order by adset_id").pl())
        con.close()
    assert threads and set(threads) == {1}
    assert plans[0].equals(plans[1]) and plans[0].equals(plans[2])


def test_conversion_values_do_not_depend_on_the_order_of_the_days(settings: Settings) -> None:
    """Summed as floats, the same days added in another order (as Polars' threads may) gave
    another value; a value near half a cent then rounded either way on a rerun."""
    from pipelines.ads.settings import AdsSettings
    from pipelines.ads.tasks import conversion_values, read_inputs

    con = duckdb.connect(str(settings.work_db))
    try:
        daily, adsets, _ = read_inputs(con, AdsSettings(), DAY)
        one = daily.filter(pl.col("adset_id") == "111").head(4).with_columns(
            value=pl.Series([1e15, 0.3, -1e15, 0.2]), purchases=pl.Series([0.0, 0.0, 0.0, 1.0]))
        start = one["date_day"].min()
        values = [conversion_values(con, frame, adsets, start, DAY)
                  .filter(pl.col("adset_id") == "111")["value_per_conversion"].item()
                  for frame in (one, one.reverse())]
    finally:
        con.close()
    assert values == [0.5, 0.5]
