"""A/B tests of creative (pipelines.experiments.ab_tests): which sends and ads form a test,
what counts as a trial and a success, and when a winner is declared."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipelines.experiments import ab_tests

AS_OF = date(2026, 10, 31)
SENT = datetime(2026, 10, 1, 9, tzinfo=UTC)


def campaigns() -> pl.DataFrame:
    return pl.DataFrame({
        "campaign_id": ["a", "b", "solo"], "campaign_title": ["Sale", "Sale", "News"],
        "subject_line": ["15% off", "Last days", "Hello"], "variant": ["A", "B", None],
        "sent_at": [SENT] * 3, "emails_sent": [400, 400, 900], "list_id": ["L"] * 3,
    })


def events() -> pl.DataFrame:
    rows = []
    # a: 100 openers, 20 of whom also click (one clicks twice); b: 60 openers, 5 clickers.
    for i in range(100):
        rows.append(("a", f"a{i}@x", "open", f"ka{i}"))
        if i < 20:
            rows.append(("a", f"a{i}@x", "click", f"ka{i}"))
    rows.append(("a", "a0@x", "click", "ka0"))
    for i in range(60):
        rows.append(("b", f"b{i}@x", "open", f"kb{i}"))
        if i < 5:
            rows.append(("b", f"b{i}@x", "click", f"kb{i}"))
    rows.append(("b", "b99@x", "bounce", "kb99"))
    return pl.DataFrame(rows, schema=["campaign_id", "email", "action", "customer_key"],
                        orient="row")


def orders() -> pl.DataFrame:
    at = [SENT + timedelta(days=1), SENT + timedelta(days=7), SENT + timedelta(days=8),
          SENT - timedelta(hours=1), SENT + timedelta(days=2)]
    return pl.DataFrame({"customer_key": ["ka1", "ka2", "ka3", "ka4", "kb1"],
                         "ordered_at": at, "is_purchase": [True, True, True, True, False]})


def test_mailchimp_variants_count_recipients_and_seven_day_buyers():
    v = ab_tests.mailchimp_variants(campaigns(), events(), orders())
    got = {(r["variant"], r["metric"]): (r["trials"], r["successes"])
           for r in v.iter_rows(named=True)}
    # An order 8 days after, one before the send and a cancelled one do not convert.
    assert got == {("A", "open"): (400, 100), ("A", "click"): (400, 20),
                   ("A", "conversion"): (400, 2), ("B", "open"): (400, 60),
                   ("B", "click"): (400, 5), ("B", "conversion"): (400, 0)}
    assert v["test_id"].unique().to_list() == ["mailchimp|L|Sale|2026-10-01"]


def test_a_clear_difference_has_a_winner_and_a_small_one_does_not():
    out = ab_tests.read_out(ab_tests.mailchimp_variants(campaigns(), events(), orders()),
                            AS_OF, min_trials=100)
    opens = out.filter(pl.col("metric") == "open")
    assert opens["is_winner"].to_list() == [True, False]
    assert opens["verdict"].unique().to_list() == ["winner"]
    assert opens["summary"][0].startswith('Subject A ("15% off") won the A/B send "Sale" on '
                                          "opens: 25.00% (90% interval")
    conversions = out.filter(pl.col("metric") == "conversion")
    assert conversions["verdict"].unique().to_list() == ["no_winner"]
    assert not conversions["is_winner"].any()
    too_few = ab_tests.read_out(ab_tests.mailchimp_variants(campaigns(), events(), orders()),
                                AS_OF, min_trials=1_000)
    assert too_few["verdict"].unique().to_list() == ["too_few"]
    assert not too_few["is_winner"].any()


def creatives() -> pl.DataFrame:
    return pl.DataFrame({
        "ad_id": ["1", "2", "3", "4", "5"], "adset_id": ["s"] * 4 + ["t"],
        "adset_name": ["Set S"] * 4 + ["Set T"],
        "headline": ["Hot", "Cold", "Hot", "Warm", "Hot"],
        "primary_text": ["x", "x", "x", "y", "x"],
        "call_to_action_type": ["SHOP_NOW", "SHOP_NOW", "LEARN_MORE", "SHOP_NOW", "SHOP_NOW"],
        "object_type": ["SHARE"] * 5,
    })


def placements() -> pl.DataFrame:
    rows = []
    for ad, clicks in (("1", 300), ("2", 200), ("3", 250), ("4", 100), ("5", 500)):
        for day, placement in ((1, "feed"), (2, "story")):
            rows.append((ad, date(2026, 10, day), placement, 5_000, clicks // 2, 3))
    return pl.DataFrame(rows, schema=["ad_id", "date_day", "placement", "impressions",
                                      "link_clicks", "platform_purchases"], orient="row")


def test_meta_ads_that_differ_in_one_field_form_a_test():
    v = ab_tests.meta_variants(creatives(), placements())
    tests = v.select("test_id", "field", "variant").unique().sort("test_id", "variant")
    # 1 vs 2: headline; 1 vs 3: call to action; 4 differs in two fields: in no test;
    # 5 is alone in its ad set.
    assert tests.rows() == [
        ("meta|s|call_to_action_type|1", "call_to_action_type", "LEARN_MORE"),
        ("meta|s|call_to_action_type|1", "call_to_action_type", "SHOP_NOW"),
        ("meta|s|headline|1", "headline", "Cold"),
        ("meta|s|headline|1", "headline", "Hot"),
    ]
    clicks = v.filter((pl.col("test_id") == "meta|s|headline|1") & (pl.col("metric") == "click"))
    assert sorted(clicks.select("variant", "trials", "successes").rows()) == [
        ("Cold", 10_000, 200), ("Hot", 10_000, 300)]
    out = ab_tests.read_out(v, AS_OF, min_trials=100)
    hot = out.filter((pl.col("test_id") == "meta|s|headline|1") & (pl.col("metric") == "click")
                     & (pl.col("variant") == "Hot")).row(0, named=True)
    assert hot["is_winner"] and hot["prob_best"] > 0.99


def test_no_tests_is_an_empty_table_with_the_columns():
    out = ab_tests.read_out(ab_tests.meta_variants(creatives().head(1), placements()), AS_OF,
                            100)
    assert out.is_empty() and out.columns == list(ab_tests.SCHEMA)
