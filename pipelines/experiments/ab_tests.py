"""A/B tests of creative (reports.rpt_ab_tests): Mailchimp A/B sends and Meta ads of one ad set
that differ in exactly one creative field, read out per variant and metric with Beta-Binomial
posteriors (pipelines.experiments.stats.rate_posteriors) and a winner only when one variant's
probability of being best reaches stats.winner_threshold.

Mailchimp: the variants of one test are the sends with a variant letter that share a title,
list and send date (how Mailchimp exports an A/B campaign). Trials are the emails sent;
opens and clicks are recipients with at least one; conversions are recipients who opened or
clicked and placed a purchase within `CONVERSION_DAYS` days after the send (the export names
no other recipient, so a buyer who never opened is not credited to either variant).
Meta: ads in one ad set equal in all creative fields but one form a test of that field;
clicks are link clicks per impression, conversions Meta's purchases per impression.
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from pipelines.experiments import stats

CONVERSION_DAYS = 7
CREATIVE_FIELDS = ("headline", "primary_text", "call_to_action_type", "object_type")
METRIC_WORDS = {"open": "opens", "click": "clicks", "conversion": "conversions"}

SCHEMA = {
    "test_id": pl.String, "platform": pl.String, "test_name": pl.String, "field": pl.String,
    "variant": pl.String, "variant_label": pl.String, "metric": pl.String,
    "started_on": pl.Date, "as_of_date": pl.Date, "trials": pl.Int64, "successes": pl.Int64,
    "rate": pl.Float64, "rate_low": pl.Float64, "rate_high": pl.Float64,
    "prob_best": pl.Float64, "is_winner": pl.Boolean, "verdict": pl.String,
    "summary": pl.String,
}


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def read_out_test(test: dict, variants: pl.DataFrame, as_of: date, min_trials: int
                  ) -> list[dict]:
    """Rows of one test. `test`: test_id, platform, test_name, field, started_on. `variants`:
    variant, variant_label, metric, trials, successes."""
    rows = []
    for (metric,), frame in variants.sort("metric", "variant").group_by(
            "metric", maintain_order=True):
        rates = stats.rate_posteriors(frame["successes"].to_list(), frame["trials"].to_list(),
                                      seed=_seed(f"{test['test_id']}|{metric}"))
        won = stats.winner(rates, min_trials)
        labels = frame["variant_label"].to_list()
        if any(r.trials < min_trials for r in rates):
            verdict = "too_few"
            text = (f"Too few to call {test['test_name']} on {METRIC_WORDS[metric]}: each "
                    f"variant needs at least {min_trials:,} "
                    f"{'emails' if test['platform'] == 'mailchimp' else 'impressions'}.")
        elif won is None:
            verdict = "no_winner"
            lead = max(range(len(rates)), key=lambda i: rates[i].prob_best)
            text = (f"No winner on {METRIC_WORDS[metric]} in {test['test_name']}: "
                    + ", ".join(f"{lab} {r.rate:.2%}" for lab, r in zip(labels, rates,
                                                                        strict=True))
                    + f"; the leader is {rates[lead].prob_best:.0%} likely best, short of "
                    f"{stats.winner_threshold(len(rates)):.1%}.")
        else:
            verdict = "winner"
            r = rates[won]
            text = (f"{labels[won]} won {test['test_name']} on {METRIC_WORDS[metric]}: "
                    f"{r.rate:.2%} (90% interval {r.rate_low:.2%} to {r.rate_high:.2%}); "
                    f"{r.prob_best:.1%} likely best.")
        for i, (row, r) in enumerate(zip(frame.iter_rows(named=True), rates, strict=True)):
            rows.append({
                **test, "variant": row["variant"], "variant_label": row["variant_label"],
                "metric": metric, "as_of_date": as_of, "trials": r.trials,
                "successes": r.successes, "rate": r.rate, "rate_low": r.rate_low,
                "rate_high": r.rate_high, "prob_best": r.prob_best, "is_winner": won == i,
                "verdict": verdict, "summary": text,
            })
    return rows


def mailchimp_variants(campaigns: pl.DataFrame, events: pl.DataFrame, orders: pl.DataFrame
                       ) -> pl.DataFrame:
    """Per A/B variant and metric, trials and successes. `campaigns`:
    stg_mailchimp__campaigns; `events`: marts.fct_email_events; `orders`: marts.fct_orders."""
    # A send without its recipient count cannot be read (no trials): left out of its test.
    sends = campaigns.filter(pl.col("variant").is_not_null() & pl.col("sent_at").is_not_null()
                             & (pl.col("emails_sent") > 0))
    sends = sends.with_columns(
        started_on=pl.col("sent_at").dt.date(),
        test_id=pl.concat_str(pl.lit("mailchimp|"), pl.col("list_id").fill_null(""),
                              pl.lit("|"), pl.col("campaign_title").fill_null(""), pl.lit("|"),
                              pl.col("sent_at").dt.date().cast(pl.String)),
    ).filter(pl.col("variant").n_unique().over("test_id") >= 2)
    acted = events.filter(pl.col("action").is_in(["open", "click"])).join(
        sends.select("campaign_id"), on="campaign_id")
    people = acted.group_by("campaign_id", "email").agg(
        opened=(pl.col("action") == "open").any(), clicked=(pl.col("action") == "click").any(),
        customer_key=pl.col("customer_key").drop_nulls().first())
    buys = orders.filter(pl.col("is_purchase") & pl.col("customer_key").is_not_null()).select(
        "customer_key", "ordered_at")
    converted = (
        people.drop_nulls("customer_key")
        .join(sends.select("campaign_id", "sent_at"), on="campaign_id")
        .join(buys, on="customer_key")
        .filter((pl.col("ordered_at") > pl.col("sent_at"))
                & (pl.col("ordered_at") <= pl.col("sent_at")
                   + pl.duration(days=CONVERSION_DAYS)))
        .select("campaign_id", "email").unique()
        .group_by("campaign_id").agg(conversion=pl.len())
    )
    counts = people.group_by("campaign_id").agg(
        open=pl.col("opened").sum(), click=pl.col("clicked").sum())
    wide = (sends.join(counts, on="campaign_id", how="left")
            .join(converted, on="campaign_id", how="left")
            .with_columns(pl.col("open", "click", "conversion").fill_null(0)))
    return wide.unpivot(
        ["open", "click", "conversion"],
        index=["test_id", "campaign_title", "started_on", "variant", "subject_line",
               "emails_sent"], variable_name="metric", value_name="successes",
    ).select(
        "test_id", platform=pl.lit("mailchimp"),
        test_name=pl.concat_str(pl.lit("the A/B send \""), pl.col("campaign_title"),
                                pl.lit("\""), ignore_nulls=True),
        field=pl.lit("subject_line"), started_on="started_on", variant="variant",
        variant_label=pl.concat_str(pl.lit("Subject "), "variant", pl.lit(" (\""),
                                    pl.col("subject_line").fill_null(""), pl.lit("\")")),
        metric="metric", trials=pl.col("emails_sent").cast(pl.Int64),
        successes=pl.min_horizontal(pl.col("successes"), pl.col("emails_sent")).cast(pl.Int64),
    )


def meta_variants(creatives: pl.DataFrame, placements: pl.DataFrame) -> pl.DataFrame:
    """Per creative test, variant and metric, trials and successes. `creatives`:
    marts.dim_ad_creatives; `placements`: marts.fct_ad_placements (summed per ad)."""
    delivery = placements.group_by("ad_id").agg(
        impressions=pl.col("impressions").sum(), link_clicks=pl.col("link_clicks").sum(),
        purchases=pl.col("platform_purchases").sum(), started_on=pl.col("date_day").min())
    ads = creatives.join(delivery, on="ad_id").filter(pl.col("impressions") > 0).with_columns(
        pl.col(list(CREATIVE_FIELDS)).cast(pl.String).fill_null("(none)"))
    tests = []
    for field in CREATIVE_FIELDS:
        others = [f for f in CREATIVE_FIELDS if f != field]
        # Ads equal in every other field; the test is named by its first ad.
        same = pl.concat_str(["adset_id", *others], separator="\x1f")
        grouped = ads.with_columns(
            test_id=pl.concat_str(pl.lit("meta|"), "adset_id", pl.lit(f"|{field}|"),
                                  pl.col("ad_id").min().over(same)))
        grouped = grouped.filter(pl.col(field).n_unique().over("test_id") >= 2)
        if grouped.is_empty():
            continue
        tests.append(grouped.group_by("test_id", field).agg(
            adset_name=pl.col("adset_name").first(), started_on=pl.col("started_on").min(),
            impressions=pl.col("impressions").sum(), click=pl.col("link_clicks").sum(),
            conversion=pl.col("purchases").sum(),
        ).select("test_id", "adset_name", "started_on", "impressions", "click", "conversion",
                 field=pl.lit(field), value=pl.col(field)))
    if not tests:
        return pl.DataFrame(schema={c: SCHEMA[c] for c in (
            "test_id", "platform", "test_name", "field", "started_on", "variant",
            "variant_label", "metric", "trials", "successes")})
    return pl.concat(tests).unpivot(
        ["click", "conversion"], index=["test_id", "adset_name", "started_on", "impressions",
                                        "field", "value"],
        variable_name="metric", value_name="successes",
    ).select(
        "test_id", platform=pl.lit("meta"),
        test_name=pl.concat_str(pl.lit("the "), pl.col("field").str.replace_all("_", " "),
                                pl.lit(" test in ad set \""), pl.col("adset_name").fill_null(""),
                                pl.lit("\"")),
        field="field", started_on="started_on", variant="value",
        variant_label=pl.concat_str(pl.lit("\""), "value", pl.lit("\"")), metric="metric",
        trials=pl.col("impressions").cast(pl.Int64),
        successes=pl.min_horizontal("successes", "impressions").cast(pl.Int64),
    )


def read_out(variants: pl.DataFrame, as_of: date, min_trials: int) -> pl.DataFrame:
    """reports.rpt_ab_tests from the variants of every test (mailchimp_variants and
    meta_variants concatenated)."""
    rows = []
    keys = ["test_id", "platform", "test_name", "field"]
    for key, frame in variants.sort("test_id").group_by(keys, maintain_order=True):
        test = {**dict(zip(keys, key, strict=True)), "started_on": frame["started_on"].min()}
        rows.extend(read_out_test(test, frame, as_of, min_trials))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=SCHEMA)
