"""Placements and creatives of the Meta ads: where each ad's delivery lands (Meta's
`publisher_platform` x `platform_position` breakdown), the creative behind each ad (headline,
primary text, call to action) and creative fatigue.

Hidden truth drawn here: per placement a true cost (CPM), click-through and conversion
multiplier; per creative its true quality (the click-through multiplier the plan already
draws) and whether it fatigues: for a fatiguing ad, CTR falls as the cumulative frequency of
its current run grows (a week without delivery lets the audience forget).

Everything here comes from its own generators keyed by the seed and a name (`stable_key`), so
adding it changes no draw of the people, orders, sessions or any other export. The one
export it touches is the clicks of the ad-level Insights rows of fatiguing ads: the play-out
(sessions from ad clicks) runs on the clicks before fatigue.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.defects import stable_key

# (publisher_platform, platform_position, share of an ad's impressions), as the Insights API
# names them with breakdowns=publisher_platform,platform_position.
PLACEMENTS: tuple[tuple[str, str, float], ...] = (
    ("facebook", "feed", 0.38),
    ("facebook", "facebook_reels", 0.08),
    ("facebook", "story", 0.07),
    ("facebook", "marketplace", 0.06),
    ("facebook", "video_feeds", 0.05),
    ("facebook", "right_hand_column", 0.03),
    ("instagram", "feed", 0.16),
    ("instagram", "instagram_stories", 0.09),
    ("instagram", "instagram_reels", 0.05),
    ("instagram", "instagram_explore", 0.01),
    ("audience_network", "an_classic", 0.015),
    ("messenger", "messenger_inbox", 0.005),
)
FATIGUE_SHARE = 0.35  # share of ads whose CTR falls with frequency
FATIGUE_FLOOR = 0.4  # a worn-out creative keeps this share of its fresh CTR
RUN_GAP_DAYS = 7  # this many days without delivery start a new run (frequency restarts)
CALLS_TO_ACTION: dict[str, str] = {
    "OUTCOME_SALES": "SHOP_NOW",
    "OUTCOME_LEADS": "SIGN_UP",
    "OUTCOME_AWARENESS": "LEARN_MORE",
}
SHOP_URL = "https://shop.example.com/"


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(stable_key(seed, name))


def placement_truth(seed: int) -> pl.DataFrame:
    """The true multipliers of each placement: placement_idx, publisher_platform,
    platform_position, impression_share, cost_multiplier (CPM relative to the ad's),
    ctr_multiplier, conversion_multiplier (conversions per impression relative to the ad's)
    and cpa_multiplier (cost / conversion; lower is better)."""
    rng = _rng(seed, "ad_placements")
    k = len(PLACEMENTS)
    cost = np.exp(rng.normal(0.0, 0.3, k))
    ctr = np.exp(rng.normal(0.0, 0.3, k))
    conv = np.exp(rng.normal(0.0, 0.4, k)) * ctr**0.5
    return pl.DataFrame(
        {
            "placement_idx": np.arange(k, dtype=np.int64),
            "publisher_platform": [p for p, _, _ in PLACEMENTS],
            "platform_position": [q for _, q, _ in PLACEMENTS],
            "impression_share": [s for _, _, s in PLACEMENTS],
            "cost_multiplier": cost,
            "ctr_multiplier": ctr,
            "conversion_multiplier": conv,
            "cpa_multiplier": cost / conv,
        }
    )


def _runs(daily: pl.DataFrame) -> pl.DataFrame:
    """Daily rows with run (a new one after RUN_GAP_DAYS without delivery) and the run's
    cumulative impressions up to and including the day."""
    return (
        daily.sort("ad_idx", "day")
        .with_columns(gap=pl.col("day").diff().over("ad_idx").fill_null(RUN_GAP_DAYS + 1))
        .with_columns(run=(pl.col("gap") > RUN_GAP_DAYS).cum_sum().over("ad_idx"))
        .with_columns(run_impressions=pl.col("impressions").cum_sum().over("ad_idx", "run"))
        .drop("gap")
    )


def fatigue_traits(seed: int, ads: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """Per ad: ad_idx, is_fatiguing, fatigue_rate (CTR decay per unit of frequency) and
    audience_size (people its run reaches: a run's cumulative frequency is its cumulative
    impressions over this), drawn from the ad's own stream."""
    rng = _rng(seed, "ad_creatives")
    n = ads.height
    fatiguing = rng.random(n) < FATIGUE_SHARE
    days_per_view = rng.uniform(4.0, 12.0, n)  # days of delivery to reach everyone once
    # A worn creative loses half its lead over the floor in two to eight weeks of delivery.
    half_life_days = rng.uniform(14.0, 56.0, n)
    rate = np.where(fatiguing, np.log(2.0) * days_per_view / half_life_days, 0.0)
    mean_imps = np.zeros(n)
    per_ad = daily.group_by("ad_idx").agg(pl.col("impressions").mean())
    mean_imps[per_ad["ad_idx"].to_numpy()] = per_ad["impressions"].to_numpy()
    return pl.DataFrame(
        {
            "ad_idx": ads["ad_idx"].to_numpy(),
            "is_fatiguing": fatiguing,
            "fatigue_rate": rate,
            "audience_size": np.maximum(np.rint(mean_imps * days_per_view), 1.0).astype(
                np.int64
            ),
        }
    )


def ctr_multiplier(traits: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """Daily rows with cumulative_frequency (of the ad's current run, before the day's
    delivery) and fatigue (the true CTR multiplier that day, 1 for a fresh creative)."""
    out = _runs(daily).join(traits, on="ad_idx", how="left")
    freq = (pl.col("run_impressions") - pl.col("impressions")) / pl.col("audience_size")
    return out.with_columns(cumulative_frequency=freq).with_columns(
        fatigue=FATIGUE_FLOOR
        + (1.0 - FATIGUE_FLOOR) * (-pl.col("fatigue_rate") * pl.col("cumulative_frequency")).exp()
    )


def fatigued_delivery(seed: int, ads: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """`daily` with the clicks and link clicks that the ads' fatigue leaves: each click is kept
    with the day's CTR multiplier, from a stream of its own. Same rows and other columns."""
    mult = ctr_multiplier(fatigue_traits(seed, ads, daily), daily).sort("day", "ad_idx")
    rng = _rng(seed, "ad_fatigue_clicks")
    p = mult["fatigue"].to_numpy()
    link = mult["link_clicks"].to_numpy()
    other = mult["clicks"].to_numpy() - link
    kept_link = rng.binomial(link, p)
    kept_other = rng.binomial(other, p)
    return mult.select(daily.columns).with_columns(
        clicks=pl.Series(kept_link + kept_other, dtype=pl.Int64),
        link_clicks=pl.Series(kept_link, dtype=pl.Int64),
    )


def creative_ids(seed: int, n: int) -> pl.Series:
    """The creative ids of the `n` ads, in ad order, from a stream of their own."""
    ids = 120_230_000_000_000_000 + _rng(seed, "ad_creative_ids").choice(10**12, n, False) * 1000
    return pl.Series("creative_id", ids.astype(np.int64)).cast(pl.String)


def creatives(seed: int, ads: pl.DataFrame, adsets: pl.DataFrame) -> pl.DataFrame:
    """The creative behind each ad as the Marketing API describes it: ad_idx, creative_id,
    creative_name, title (headline), body (primary text), call_to_action_type, object_type,
    link_url."""
    meta = ads.join(adsets.select("adset_idx", "objective"), on="adset_idx").sort("ad_idx")
    label = meta["ad_name"].str.split(" | ").list.first()
    headline = label.str.replace_all(r"\b(Video|Static|Carousel)\b", "").str.strip_chars()
    return meta.select(
        "ad_idx",
        creative_id=creative_ids(seed, meta.height),
        creative_name=label + pl.lit(" creative"),
        title=headline,
        body=pl.lit("Freshly roasted coffee, delivered. ") + headline + pl.lit(": see why."),
        call_to_action_type=pl.col("objective").replace_strict(
            CALLS_TO_ACTION, default="LEARN_MORE"),
        object_type=pl.when(label.str.contains("Video")).then(pl.lit("VIDEO"))
        .otherwise(pl.lit("SHARE")),
        link_url=pl.lit(SHOP_URL),
    )  # fmt: skip


def split_placements(seed: int, frame: pl.DataFrame) -> pl.DataFrame:
    """Split ad-level Insights rows (day, version, ad_idx and the counts impressions, reach,
    clicks, link_clicks, landing_views, spend_cents, purchases, purchase_value, leads) over
    the placements: every count is drawn multinomially in proportion to the placement's share
    of the ad's impressions that day times its true multiplier, so the placement rows of an
    ad-level row add up to it exactly (reach excepted: people see several placements). A day
    and version get the same split whichever export writes them (a generator per day and
    version). Rows a placement did not deliver are left out, as the API leaves them out.
    Returns `frame`'s columns plus publisher_platform and platform_position, sorted by
    day, version, ad and placement."""
    truth = placement_truth(seed)
    k = truth.height
    share = truth["impression_share"].to_numpy()
    cost, ctr, conv = (truth[c].to_numpy() for c in
                       ("cost_multiplier", "ctr_multiplier", "conversion_multiplier"))  # fmt: skip
    key = stable_key(seed, "ad_placement_split")
    parts = []
    for (day, version), rows in frame.sort("day", "version", "ad_idx").group_by(
        "day", "version", maintain_order=True
    ):
        rng = np.random.default_rng([key, int(day), int(version)])  # type: ignore[call-overload]
        # The placement mix moves a little from ad to ad and day to day (not by version).
        noise = np.random.default_rng([key, int(day)]).lognormal(0.0, 0.25, (rows.height, k))
        counts = _split_rows(rng, rows, share * noise, cost, ctr, conv)
        long = rows.select(pl.exclude(*counts)).with_columns(
            placement_idx=pl.lit(list(range(k)), dtype=pl.List(pl.Int64))
        ).explode("placement_idx")
        parts.append(long.with_columns(
            **{name: pl.Series(values.reshape(-1), dtype=pl.Int64)
               for name, values in counts.items()}))  # fmt: skip
    split = pl.concat(parts).join(
        truth.select("placement_idx", "publisher_platform", "platform_position"),
        on="placement_idx",
    )
    delivered = pl.col("reach") > 0  # shown there, or the row's one placement
    return split.filter(delivered).sort("day", "version", "ad_idx", "placement_idx").select(
        *frame.columns, "publisher_platform", "platform_position")


def _split_rows(
    rng: np.random.Generator,
    rows: pl.DataFrame,
    mix: np.ndarray,
    cost: np.ndarray,
    ctr: np.ndarray,
    conv: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each count of `rows` split over the placements (rows x placements)."""

    def draw(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
        weight = weight + 1e-12 * (weight.sum(axis=1, keepdims=True) == 0)  # nothing to split
        return rng.multinomial(total, weight / weight.sum(axis=1, keepdims=True))

    col = {c: rows[c].to_numpy() for c in rows.columns}
    imps = draw(col["impressions"], mix)
    # Spend, clicks and conversions happen where the ad was shown (Meta's feed when a row
    # reports none shown at all).
    shown = imps > 0
    shown[:, 0] |= ~shown.any(axis=1)
    mix = mix * shown
    out = {
        "impressions": imps,
        "spend_cents": draw(col["spend_cents"], mix * cost),
        "link_clicks": draw(col["link_clicks"], mix * ctr),
        "purchases": draw(col["purchases"], mix * conv),
        "leads": draw(col["leads"], mix * conv),
    }
    out["clicks"] = out["link_clicks"] + draw(col["clicks"] - col["link_clicks"], mix * ctr)
    # Landing page views follow link clicks; a purchase's value goes where it was bought.
    out["landing_views"] = draw(col["landing_views"], out["link_clicks"].astype(np.float64))
    out["purchase_value"] = draw(col["purchase_value"], out["purchases"].astype(np.float64))
    # Reach does not add up over placements (one person sees several): each placement's is
    # its impressions over the ad's frequency that day.
    freq = (col["impressions"] / np.maximum(col["reach"], 1))[:, None]
    out["reach"] = np.where(shown, np.maximum(np.rint(imps / freq), 1), 0).astype(np.int64)
    return out


def creative_truth(seed: int, ads: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """Per ad: ad_idx, creative_id, ctr_quality (the creative's true click-through
    multiplier), is_fatiguing, fatigue_rate (CTR decay per unit of cumulative frequency) and
    audience_size."""
    return (
        ads.select("ad_idx", "ad_id", pl.col("quality").alias("ctr_quality"))
        .with_columns(creative_id=creative_ids(seed, ads.height))
        .join(fatigue_traits(seed, ads, daily), on="ad_idx")
        .sort("ad_idx")
    )


def fatigue_path(seed: int, ads: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """Per ad and delivery day: ad_idx, day, impressions, run (numbered per ad),
    cumulative_frequency (of the run, before the day) and fatigue (the true CTR multiplier)."""
    mult = ctr_multiplier(fatigue_traits(seed, ads, daily), daily)
    return mult.select("ad_idx", "day", "impressions", "run", "cumulative_frequency",
                       "fatigue").sort("ad_idx", "day")  # fmt: skip
