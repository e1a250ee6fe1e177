"""Persona features from tiny hand-written marts: counts, local hours, the as-of cut."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.personas.features import Inputs, build_features, email_reads
from pipelines.personas.localtime import time_zone, world_region


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def inputs(**overrides: pl.DataFrame) -> Inputs:
    frames = {
        "customers": pl.DataFrame(
            {
                "customer_key": ["a", "b", "z"],
                "country_code": ["US", "DE", "US"],
                "region_code": ["NY", None, "CA"],
                "acquisition_channel": ["paid_social", None, "direct"],
                "nps_score": [9, None, None],
                "mailchimp_status": ["subscribed", None, None],
                "main_device": ["mobile", "desktop", None],
            }
        ),
        "orders": pl.DataFrame(
            {
                "order_id": ["1", "2", "3", "4", "5"],
                "customer_key": ["a", "a", "a", "b", "b"],
                "ordered_at": [
                    ts("2026-06-01 16:00"),
                    ts("2026-06-11 16:30"),
                    ts("2026-12-01 16:00"),
                    ts("2026-11-20 08:00"),
                    ts("2026-06-05 08:00"),
                ],
                "amount": [20.0, 30.0, 99.0, 50.0, 10.0],
                "refunded_amount": [0.0, 10.0, 0, 0, 0],
                "discount_amount": [2.0, 0.0, 0, 0, 0],
                "discount_code": [None, "FREESHIP", None, None, None],
                "is_cancelled": [False, False, False, False, True],
                "is_purchase": [True, True, True, True, False],
            }
        ),
        "lines": pl.DataFrame(
            {
                "order_id": ["1", "1", "2", "4"],
                "line_number": [1, 2, 1, 1],
                "customer_key": ["a", "a", "a", "b"],
                "ordered_at": [ts("2026-06-01 16:00")] * 2
                + [ts("2026-06-11 16:30"), ts("2026-11-20 08:00")],
                "category": ["Snacks", "Mugs", "Snacks", "Mugs"],
                "quantity": [1, 3, 2, 1],
                "line_amount": [5.0, 30.0, 20.0, 10.0],
                "is_cancelled": [False] * 4,
                "is_return": [False] * 4,
            }
        ),
        "sessions": pl.DataFrame(
            {
                "customer_key": ["a", "a", None],
                "session_started_at": [
                    ts("2026-06-01 15:50"),
                    ts("2026-06-03 17:00"),
                    ts("2026-06-03 17:00"),
                ],
                "channel": ["paid_social", "email", "direct"],
                "device_category": ["mobile", "mobile", "desktop"],
            }
        ),
        "email_events": pl.DataFrame(
            {
                "customer_key": ["a", "a", "a"],
                "action": ["open", "open", "click"],
                # 13:00 UTC in June is 09:00 in New York; the first open came 5 minutes after the
                # send (a machine open) and is no evidence of the hour.
                "action_at": [
                    ts("2026-06-02 10:05"),
                    ts("2026-06-02 13:00"),
                    ts("2026-06-02 13:02"),
                ],
                "sent_at": [ts("2026-06-02 10:00")] * 3,
            }
        ),
    }
    frames.update(overrides)
    return Inputs(**frames)


def test_counts_shares_and_figures_per_customer():
    frame = build_features(inputs(), date(2026, 11, 30))
    assert frame.get_column("customer_key").to_list() == ["a", "b"]  # z never ordered
    a = frame.row(0, named=True)
    b = frame.row(1, named=True)
    # The December order is after the as-of date; b's June order was cancelled.
    assert (a["orders"], b["orders"]) == (2, 1)
    # A code alone (free shipping) counts as a discounted order.
    assert a["discounted_orders"] == 2 and a["discount_share"] == 1.0
    assert b["holiday_orders"] == 1 and b["holiday_share"] == 1.0
    assert a["order_gaps"] == 1 and a["days_between_orders"] == pytest.approx(10 + 1 / 48)
    assert b["days_between_orders"] is None
    assert a["avg_order_value"] == pytest.approx((20 + 30 - 10) / 2)
    # Lead items only (line 1): two snacks; units over every line.
    assert a["lead_items__snacks"] == 2 and a["lead_items__mugs"] == 0
    assert a["units_per_line"] == pytest.approx(2.0)
    assert a["sessions__paid_social"] == 1 and a["sessions__email"] == 1
    assert a["mobile_sessions"] == 2 and b["sessions"] == 0
    assert (a["world_region"], b["world_region"]) == ("north_america", "europe")
    assert (a["main_device"], b["acquisition_channel"]) == ("mobile", "unknown")
    assert b["nps_score"] is None


def test_credit_notes_lower_revenue_but_are_no_orders_and_guests_are_nobody():
    base = inputs()
    extra = pl.DataFrame(
        {
            "order_id": ["C6", "7", "C8"],
            "customer_key": ["a", None, "z"],  # z has only a credit note: no buyer
            "ordered_at": [ts("2026-07-01 10:00"), ts("2026-07-02 10:00"), ts("2026-07-03 10:00")],
            "amount": [0.0, 500.0, 0.0],
            "refunded_amount": [15.0, 0.0, 9.0],
            "discount_amount": [0.0, 0.0, 0.0],
            "discount_code": [None, None, None],
            "is_cancelled": [False] * 3,
            "is_purchase": [False, True, False],
        }
    )
    guest_line = pl.DataFrame(
        {
            "order_id": ["7", "C6"],
            "line_number": [1, 1],
            "customer_key": [None, "a"],
            "ordered_at": [ts("2026-07-02 10:00"), ts("2026-07-01 10:00")],
            "category": ["Mugs", "Snacks"],
            "quantity": [9, -1],
            "line_amount": [500.0, -15.0],
            "is_cancelled": [False, False],
            "is_return": [False, True],
        }
    )
    frame = build_features(
        inputs(orders=pl.concat([base.orders, extra.select(base.orders.columns)],
                                how="vertical_relaxed"),
               lines=pl.concat([base.lines, guest_line.select(base.lines.columns)],
                               how="vertical_relaxed")),
        date(2026, 11, 30),
    )
    assert frame.get_column("customer_key").to_list() == ["a", "b"]
    a = frame.row(0, named=True)
    assert a["orders"] == 2 and a["order_gaps"] == 1
    assert a["avg_order_value"] == pytest.approx((20 + 30 - 10 - 15) / 2)
    assert a["lead_items__snacks"] == 2 and a["units_per_line"] == pytest.approx(2.0)


def test_local_hours_leave_out_machine_opens_and_follow_daylight_saving():
    frame = build_features(inputs(), date(2026, 11, 30))
    a = frame.row(0, named=True)
    assert a["read_hour_events"] == 2
    assert a["read_hour"] == pytest.approx(9.0 + 1 / 60, abs=0.01)
    reads = email_reads(inputs(), date(2026, 11, 30))
    assert sorted(reads.get_column("local_hour").round(2).to_list()) == [9.0, 9.03]


def test_nothing_before_the_first_order_gives_an_empty_frame():
    frame = build_features(inputs(), date(2026, 5, 1))
    assert frame.is_empty()


def test_a_missing_mart_column_is_named():
    bad = inputs(orders=inputs().orders.drop("discount_code"))
    with pytest.raises(ValueError, match=r"orders frame lacks columns \['discount_code'\]"):
        build_features(bad, date(2026, 11, 30))


def test_time_zones_and_regions_from_the_address():
    assert time_zone("US", "CA") == "America/Los_Angeles"
    assert time_zone("US", None) == "America/Chicago"
    assert time_zone("CA", "BC") == "America/Vancouver"
    assert time_zone("GB", "ENG") == "Europe/London"
    assert time_zone(None, None) == "UTC"
    assert [world_region(c) for c in ("US", "IE", "JP", None)] == [
        "north_america",
        "europe",
        "other",
        "unknown",
    ]


def test_the_features_do_not_depend_on_the_order_rows_arrive_in():
    # DuckDB returns a table's rows in no fixed order; float sums in another order differ in
    # the last bit, and a figure on a third's boundary then flips a persona's claim share.
    rng = np.random.default_rng(3)
    n = 3000
    stamps = [ts("2026-01-01 09:00") + timedelta(days=int(d)) for d in rng.integers(0, 300, n)]
    orders = pl.DataFrame({
        "order_id": [str(i) for i in range(n)], "customer_key": [f"c{i % 300}" for i in range(n)],
        "ordered_at": stamps, "amount": rng.uniform(1, 100, n).round(2),
        "refunded_amount": rng.choice([0.0, 0.1, 0.7], n), "discount_amount": [0.0] * n,
        "discount_code": [None] * n, "is_cancelled": [False] * n, "is_purchase": [True] * n,
    })  # fmt: skip
    lines = orders.select(
        "order_id", "customer_key", "ordered_at", line_number=pl.lit(1),
        category=pl.lit("Snacks"), quantity=pl.lit(3),
        line_amount=pl.Series(rng.uniform(1, 100, n).round(2)),
        is_cancelled=pl.lit(False), is_return=pl.lit(False))  # fmt: skip
    base = inputs(orders=orders, lines=lines)
    first = build_features(base, date(2026, 11, 30))
    for seed in range(5):
        shuffled = Inputs(**{name: getattr(base, name).sample(fraction=1.0, shuffle=True,
                                                              seed=seed)
                             for name in ("customers", "orders", "lines", "sessions",
                                          "email_events")})  # fmt: skip
        assert_frame_equal(build_features(shuffled, date(2026, 11, 30)), first,
                           check_exact=True)


def test_social_engagement_counts_up_to_the_as_of_date_and_only_linked_authors():
    social = pl.DataFrame(
        {
            "customer_key": ["a", "a", None, "b"],
            "engagement_type": ["reaction", "message", "comment", "comment"],
            # b's only comment comes after the as-of date: b has not engaged yet.
            "engaged_at": [ts("2026-06-01 10:00"), ts("2026-11-30 23:00"),
                           ts("2026-06-02 10:00"), ts("2026-12-01 00:30")],
        }
    )
    frame = build_features(inputs(social=social), date(2026, 11, 30))
    a, b = frame.row(0, named=True), frame.row(1, named=True)
    assert (a["social_engagements"], b["social_engagements"]) == (2, 0)
    assert (a["social_engager"], b["social_engager"]) == ("yes", "no")
    assert (a["is_social"], b["is_social"]) == (1.0, 0.0)


def test_a_shop_without_the_social_source_has_no_engagers():
    frame = build_features(inputs(), date(2026, 11, 30))
    assert frame.get_column("social_engager").to_list() == ["no", "no"]
    assert frame.get_column("social_engagements").to_list() == [0, 0]
