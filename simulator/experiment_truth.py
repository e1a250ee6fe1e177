"""The truth about the campaigns the business ran and its A/B tests; the pipeline never reads it.

`experiments.parquet`: one row per campaign (audience x experiment) and outcome: the people it
treated and `true_lift`, the mean over them of each person's expected effect on the outcome
in its window (contract 5's definitions; see `simulator.campaigns`). `experiment_effects.parquet`:
every person's expected effect of an email or a Meta campaign of average strength over 28 days
from the current end (for judging who to target). `ab_tests.parquet`: per Mailchimp A/B group
and per Meta ad set with several ads, each variant's true rates.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from simulator import campaigns as cp
from simulator.creative import creatives
from simulator.engine import LEFT_OPEN_FACTOR
from simulator.exports import Tables
from simulator.population import DAY
from simulator.writers import member_status

EXPERIMENTS_FILE = "experiments.parquet"
EFFECTS_FILE = "experiment_effects.parquet"
AB_TESTS_FILE = "ab_tests.parquet"
PROMO_CLICK = 1.4  # a campaign with a code draws more clicks (as the play-out sends it)
LEFT_CLICK = 0.2
CREATIVE_FIELDS = ("title", "body", "call_to_action_type", "object_type")


def experiments(treated: pl.DataFrame) -> pl.DataFrame:
    """One row per campaign and outcome from the treated people (`campaigns.PEOPLE_SCHEMA`)."""
    platforms = treated.group_by("campaign").agg(
        pl.col("platforms").str.split(",").list.explode(keep_nulls=False, empty_as_null=False)
        .unique().sort().str.join(",")
    )
    index = ["campaign", "audience", "experiment_id", "entered_on", "outcome_days"]
    long = treated.unpivot(index=index, on=list(cp.OUTCOMES), variable_name="outcome",
                           value_name="effect")
    return (
        long.group_by("campaign", "outcome")
        .agg(
            pl.col("experiment_id").first(), pl.col("audience").first(),
            pl.col("entered_on").min().alias("started_on"),
            pl.col("outcome_days").max(),
            pl.len().alias("treated"),
            pl.col("effect").mean().alias("true_lift"),
        )
        .join(platforms, on="campaign")
        .sort("campaign", pl.col("outcome").replace_strict(
            {o: i for i, o in enumerate(cp.OUTCOMES)}, return_dtype=pl.Int64))
        .select("experiment_id", "audience", "platforms", "started_on", "outcome_days",
                "outcome", pl.col("treated").cast(pl.Int64), "true_lift")
    )  # fmt: skip


def effects(t: Tables, date: dt.date) -> pl.DataFrame:
    """Every person's expected effect of an email and of a Meta campaign of average strength
    over the 28 days after `date`: person_id, kind, effect_orders, effect_revenue (dollars).
    Only customers respond in orders; an email reaches only the subscribed."""
    w = t.window
    lo = w.history_start_ts + (w.day_of(date) + 1) * DAY
    hi = lo + cp.EFFECT_DAYS * DAY
    people = t.people.select("person_id", "persona", "role", "open_rate", "first_order_ts")
    live = t.orders.filter(~pl.col("test") & (pl.col("cancel_ts") < 0))
    basket = live.filter(pl.col("ts") < lo).group_by("person_id").agg(
        (pl.col("total").mean() / 100).alias("basket"))
    ahead = (
        live.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
        .join(people.select("person_id", "first_order_ts"), on="person_id")
        .filter(pl.col("ts") > pl.col("first_order_ts"))
        .group_by("person_id")
        .agg(pl.len().alias("n"), ((pl.col("total") - pl.col("refund")) / 100).sum().alias("v"))
    )  # fmt: skip
    frame = (
        people.join(basket, on="person_id", how="left", maintain_order="left")
        .join(ahead, on="person_id", how="left", maintain_order="left")
        .with_columns(pl.col("basket", "v").fill_null(0.0), pl.col("n").fill_null(0))
    )
    status = member_status(t.mc_events, lo + 14 * 3600).select("person_id", "status")
    subscribed = (people.select("person_id").join(status, on="person_id", how="left",
                  maintain_order="left")["status"].fill_null(-1).to_numpy() == 0)  # fmt: skip
    customer = frame["basket"].to_numpy() > 0
    out = []
    for kind in cp.KINDS:
        r = cp.responses(t.seed, t.people, kind)
        r = np.where(customer & (subscribed if kind == "email" else True), r, 0.0)
        q = np.where(r < 0, np.minimum(cp.MAX_DROP, -r * cp.NEGATIVE_SCALE), 0.0)
        lam = np.maximum(r, 0.0)
        out.append(pl.DataFrame({
            "person_id": frame["person_id"],
            "kind": [kind] * frame.height,
            "effect_orders": lam - q * frame["n"].to_numpy(),
            "effect_revenue": lam * frame["basket"].to_numpy() - q * frame["v"].to_numpy(),
        }))  # fmt: skip
    return pl.concat(out).sort("person_id", "kind")


def ab_tests(t: Tables) -> pl.DataFrame:
    """Each A/B test's variants and their true rates: Mailchimp A/B groups (true open and click
    rate per recipient from the variant's appeal and the recipients' own rates, before the
    list's fatigue, which scales both variants alike) and Meta ad sets with several ads (true
    link click-through rate: the ad set's CTR times the creative's quality, before fatigue)."""
    c = t.campaigns.filter(pl.col("variant") != "")
    people = t.people.select("person_id", "open_rate", "click_rate", "left_ts")
    pid = people["person_id"].to_numpy()
    open_rate, click_rate = people["open_rate"].to_numpy(), people["click_rate"].to_numpy()
    left_ts = people["left_ts"].fill_null(-1).to_numpy()
    orders = t.orders.filter(~pl.col("test")).select("person_id", "ts")
    rows = []
    for camp in c.sort("ab_group", "variant").iter_rows(named=True):
        send = int(camp["send_ts"])
        if send >= t.window.reveal_end_ts:
            continue
        status = member_status(t.mc_events, send)
        rec = np.sort(status.filter(pl.col("status") == 0)["person_id"].to_numpy())
        if camp["lapsed_only"]:
            last = orders.filter(pl.col("ts") < send).group_by("person_id").agg(
                pl.col("ts").max())
            recent = last.filter(pl.col("ts") >= send - 90 * DAY)["person_id"].to_numpy()
            rec = rec[~np.isin(rec, recent)]
        h = ((rec - 1) * 2654435761 + int(camp["ab_group"]) * 97) % 1000
        rec = rec[(h < 500) == (camp["variant"] == "A")]
        i = np.searchsorted(pid, rec)
        left = (left_ts[i] >= 0) & (left_ts[i] < send)
        p_open = open_rate[i] * camp["appeal"] * np.where(left, LEFT_OPEN_FACTOR, 1.0)
        promo = PROMO_CLICK if camp["code"] else 1.0
        p_click = np.clip(click_rate[i] * promo * np.where(left, LEFT_CLICK, 1.0), 0, 1)
        rows.append({
            "platform": "mailchimp", "test_id": f"mailchimp:{camp['ab_group']}",
            "variant": camp["variant"], "variant_id": camp["campaign_id"],
            "differs_in": "subject_line", "recipients": len(rec),
            "true_open_rate": float(p_open.mean()) if len(rec) else None,
            "true_click_rate": float((p_open * p_click).mean()) if len(rec) else None,
            "true_ctr": None, "appeal": float(camp["appeal"]),
        })  # fmt: skip
    meta = (
        creatives(t.seed, t.ads, t.adsets)
        .join(t.ads.select("ad_idx", "adset_idx", "ad_id", "quality"), on="ad_idx")
        .join(t.adsets.select("adset_idx", "adset_id", "ctr"), on="adset_idx")
        .sort("adset_idx", "ad_idx")
    )
    for (adset_id,), group in meta.group_by("adset_id", maintain_order=True):
        if group.height < 2:
            continue
        differs = ",".join(f for f in CREATIVE_FIELDS if group[f].n_unique() > 1)
        for ad in group.iter_rows(named=True):
            rows.append({
                "platform": "meta", "test_id": f"meta:{adset_id}", "variant": ad["ad_id"],
                "variant_id": ad["ad_id"], "differs_in": differs, "recipients": None,
                "true_open_rate": None, "true_click_rate": None,
                "true_ctr": float(ad["ctr"] * ad["quality"]), "appeal": float(ad["quality"]),
            })  # fmt: skip
    schema = {"platform": pl.String, "test_id": pl.String, "variant": pl.String,
              "variant_id": pl.String, "differs_in": pl.String, "recipients": pl.Int64,
              "true_open_rate": pl.Float64, "true_click_rate": pl.Float64,
              "true_ctr": pl.Float64, "appeal": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def write(directory: Path, state_dir: Path, t: Tables, date: dt.date) -> dict[str, int]:
    """Write the three truth tables as of `date`; returns rows per table."""
    treated = cp.load_people(state_dir)
    frames = {EXPERIMENTS_FILE: experiments(treated), EFFECTS_FILE: effects(t, date),
              AB_TESTS_FILE: ab_tests(t)}  # fmt: skip
    for name, frame in frames.items():
        frame.write_parquet(directory / name)
    return {"truth_experiments": frames[EXPERIMENTS_FILE].height,
            "truth_experiment_effects": frames[EFFECTS_FILE].height,
            "truth_ab_tests": frames[AB_TESTS_FILE].height}  # fmt: skip
