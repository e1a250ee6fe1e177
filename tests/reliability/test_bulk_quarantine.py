"""1% malformed lines in 100,000: exactly those lines are quarantined, each with its reason and
its line number, the other 99,000 load, the ledger adds up, and a rerun changes nothing."""

from __future__ import annotations

import random
from datetime import date

from conftest import query, write_landing

from pipelines.ingest.run import ingest_source

HEADER = "order_id,order_date,amount,customer_id,email,currency,product_id,quantity\n"
ROWS = 100_000

# One way to break a line per reason the loader gives (the row number is the order id).
TAIL = "1,a@x.com,USD,SKU-1,1\n"
BREAKS = {
    "parse error: missing columns": lambda i: f"{i},2026-01-02T10:00:00Z\n",
    "bad timestamp: order_date": lambda i: f"{i},yesterday,5.00,{TAIL}",
    "missing required field: order_id": lambda i: f",2026-01-02T10:00:00Z,5.00,{TAIL}",
    "bad type: amount is not a number": lambda i: f"{i},2026-01-02T10:00:00Z,five,{TAIL}",
}


def line(i: int) -> str:
    return (f"{i},2026-01-{1 + i % 28:02d}T10:00:00Z,{10 + i % 90}.50,{7000 + i % 5000},"
            f"p{i}@x.com,USD,SKU-{i % 40},1\n")


def test_one_percent_of_100k_malformed_lines_are_exactly_the_quarantined_ones(settings):
    rng = random.Random(29)
    reasons = list(BREAKS)
    broken = {i: rng.choice(reasons) for i in rng.sample(range(1, ROWS + 1), ROWS // 100)}
    text = HEADER + "".join(BREAKS[broken[i]](i) if i in broken else line(i)
                            for i in range(1, ROWS + 1))
    write_landing(settings, "orders", "2026-10-31", "orders.csv", text)

    report = ingest_source(settings, "orders", "r1", date(2026, 10, 31))
    assert report.results[0].rows_quarantined == len(broken)
    quarantined = dict(query(settings, "select row_number, reason from raw.quarantine"))
    assert quarantined == broken
    assert query(settings, "select count(*), count(distinct _row) from raw.orders__orders") == [
        (ROWS - len(broken), ROWS - len(broken))]
    assert query(settings, "select count(*) from raw.orders__orders where _row in "
                           f"({','.join(map(str, broken))})") == [(0,)]
    assert query(settings, "select rows_read, rows_loaded, rows_quarantined, status "
                           "from audit.loads") == [(ROWS, ROWS - len(broken), len(broken),
                                                    "loaded")]

    again = ingest_source(settings, "orders", "r2", date(2026, 10, 31))
    assert sum(r.rows_loaded for r in again.results) == 0
    assert query(settings, "select count(*) from raw.quarantine") == [(len(broken),)]
    assert query(settings, "select count(*) from raw.orders__orders") == [(ROWS - len(broken),)]
