"""Real orders-only shops through the whole daily run, as a new user runs it: the generic orders
file (a header rename of the public data set, `bench/realshops.py`) in the landing folder, then
`marketing run --date <the shop's last day>` (Airflow, years before the DAG was written).

Online Retail II at one customer in eight (whole histories, and one guest invoice in eight)
fits CI; `make bench-real` runs the whole sets. Olist runs whole. Every figure checked here is
computed again from the converted file, independently of the pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench import realshops
from pipelines.config import Settings
from tests.conftest import query

pytestmark = [pytest.mark.real, pytest.mark.integration, pytest.mark.slow]


def _run(settings: Settings, shop: realshops.Shop) -> subprocess.CompletedProcess:
    env = {**os.environ, "MARKETING_HOME": str(settings.home), "AIRFLOW_HOME": "",
           "GX_ANALYTICS_ENABLED": "false"}
    command = [str(Path(sys.executable).parent / "marketing"), "run", "--date",
               shop.last_day.isoformat()]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _published(settings: Settings, sql: str) -> list[tuple]:
    return query(settings, sql, published=True)


def _expected(path: Path, cancelled: tuple[str, ...] = ()) -> dict:
    """Revenue, guest revenue and purchases, from the converted file alone: each line's total
    (amount, else unit price x quantity, to the cent); a line with a negative quantity or
    total is a return, an order of returns only a credit note (README, "Generic orders");
    an order whose status says cancelled counts for nothing."""
    price = ("coalesce(try_cast(amount as decimal(18, 2)), "
             "cast(round(unit_price * quantity, 2) as decimal(18, 2)))")
    status = "coalesce(lower(status) in ({}), false)".format(
        ", ".join(f"'{s}'" for s in cancelled)) if cancelled else "false"
    columns = duckdb.sql(f"select * from read_csv('{path}', all_varchar=true) limit 0").columns
    amount = "amount" if "amount" in columns else "null"
    unit = "unit_price" if "unit_price" in columns else "null"
    frame = f"""
        select order_id, customer_id is null or trim(customer_id) = '' as guest,
               {price.replace('amount', amount).replace('unit_price', unit)} as line,
               coalesce(try_cast(quantity as integer), 1) < 0 as negative_quantity,
               {status} as cancelled
        from read_csv('{path}', all_varchar=false, types={{'customer_id': 'VARCHAR'}})
    """
    row = duckdb.sql(f"""
        with orders as (
            select order_id, bool_or(guest) as guest, bool_or(cancelled) as cancelled,
                   sum(line) as net,
                   bool_or(line >= 0 and not negative_quantity and not cancelled) as purchase
            from ({frame}) group by order_id
        )
        select sum(net) filter (where not cancelled),
               sum(net) filter (where not cancelled and guest),
               count(*) filter (where purchase)
        from orders
    """).fetchall()[0]
    return {"revenue": float(row[0]), "guest_revenue": float(row[1] or 0),
            "purchases": int(row[2])}


@pytest.fixture(scope="module")
def retail(tmp_path_factory, real_data) -> tuple[Settings, Path, subprocess.CompletedProcess]:
    settings = Settings(home=tmp_path_factory.mktemp("retail") / "data")
    path = realshops.land(realshops.ONLINE_RETAIL, settings.home, every=8)
    return settings, path, _run(settings, realshops.ONLINE_RETAIL)


def test_online_retail_runs_end_to_end_and_publishes(retail):
    settings, _, run = retail
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "marketing_daily 2010-12-09: done;" in run.stdout
    assert _published(settings, "select logical_date from meta.runs") == [
        (realshops.ONLINE_RETAIL.last_day,)]
    counts = dict(_published(settings, "select model, count(*) from ml.scores group by 1"))
    assert counts.get("churn", 0) > 0 and counts.get("ltv", 0) > 0
    manifest = json.loads((settings.exports_dir / "2010-12-09" / "manifest.json").read_text())
    assert manifest["files"]
    assert (settings.reports_dir / "2010-12-09" / "index.html").exists()


def test_online_retail_revenue_guests_and_credit_notes_are_what_the_file_says(retail):
    settings, path, _ = retail
    expected = _expected(path)
    revenue, guest_revenue = _published(
        settings, "select sum(revenue), sum(guest_revenue) from reports.rpt_daily_sales")[0]
    assert float(revenue) == pytest.approx(expected["revenue"], abs=0.01)
    assert float(guest_revenue) == pytest.approx(expected["guest_revenue"], abs=0.01)
    assert 0 < guest_revenue < revenue
    purchases, credit_notes, guests = _published(settings, """
        select count(*) filter (where is_purchase), count(*) filter (where not is_purchase
               and not is_cancelled), count(*) filter (where is_guest)
        from marts.fct_orders""")[0]
    assert purchases == expected["purchases"]
    assert credit_notes > 0 and guests > 0
    # Guests are revenue with no person: no customer row, no score.
    assert _published(settings, "select count(*) from marts.fct_orders "
                                "where is_guest and customer_key is not null") == [(0,)]


def test_olist_runs_end_to_end_with_its_cancelled_orders_left_out(tmp_path, real_data):
    settings = Settings(home=tmp_path / "data")
    path = realshops.land(realshops.OLIST, settings.home)
    run = _run(settings, realshops.OLIST)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    expected = _expected(path, cancelled=("canceled", "unavailable"))
    revenue = _published(settings, "select sum(revenue) from reports.rpt_daily_sales")[0][0]
    assert float(revenue) == pytest.approx(expected["revenue"], abs=0.01)
    assert _published(settings, "select count(*) from marts.fct_orders where is_purchase") == [
        (expected["purchases"],)]
    assert _published(settings, "select count(*) from marts.fct_orders where is_cancelled")[0][
        0] > 0
    assert _published(settings, "select distinct currency from marts.fct_orders") == [("BRL",)]
