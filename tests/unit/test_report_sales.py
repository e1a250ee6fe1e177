"""The report's revenue KPIs: every order counts, guest checkouts included, and their share."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.report.html import sales_kpis

CUSTOMERS = pl.DataFrame({"revenue": [100.0, 50.0]})


def sales(revenue: float, guest_revenue: float, guest_orders: int) -> pl.DataFrame:
    return pl.DataFrame({"revenue": [revenue], "guest_revenue": [guest_revenue],
                         "orders": [40], "guest_orders": [guest_orders], "credit_notes": [3],
                         "unconverted": [0]})


def test_revenue_is_every_order_and_the_guest_share_is_of_it():
    kpis = sales_kpis(sales(200.0, 56.0, 9), CUSTOMERS)
    assert kpis["revenue"] == 200.0 and kpis["guest_orders"] == 9
    assert kpis["guest_share"] == pytest.approx(0.28)
    assert kpis["credit_notes"] == 3


def test_no_share_of_a_loss():
    assert sales_kpis(sales(-10.0, 5.0, 1), CUSTOMERS)["guest_share"] is None


def test_without_the_sales_table_the_customers_revenue_and_no_guest_figure():
    kpis = sales_kpis(pl.DataFrame(), CUSTOMERS)
    assert kpis == {"revenue": 150.0, "converted": True, "guest_orders": 0, "guest_share": None,
                    "credit_notes": 0}
