"""The shop's social media: a Facebook Page and an Instagram account, their posts, followers,
engagement, comments, direct messages and follower demographics, with hidden truth.

The social world is a pure function of (seed, people, window): `build` draws it for every day
a world can ever export (history and the continuable days) from streams of its own,
`rng_for(seed, STREAM_SOCIAL, part)`, so adding it changes no other source's bytes and a
continued world needs no saved state for it: each export filters the world by time.

The files are those of `simulator/SOCIAL_FORMATS.md`. An export dated D is as of the start
of D (midnight UTC): it holds what was created up to the end of D - 1, so the backfill on the
end date E and the daily exports of E + 1, E + 2, ... never overlap nor leave a gap.

Hidden truth: each persona's engagement multiplier per post theme (`THEME_AFFINITY`, a clear
favourite each; variants and other persona counts get seeded ones), format multipliers, and
the local hour: a post published near a follower's `send_hour_local` engages more.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.defects import DefectLog, Defects, hash_uniform, stable_key
from simulator.population import DAY, STAFF, Window, categorical, repeat_rank, rng_for

logger = logging.getLogger(__name__)

# Random stream of the social source (never renumber, only add) and its parts.
STREAM_SOCIAL = 22
(PART_ACCOUNTS, PART_POSTS, PART_AUTHORS, PART_ENGAGE, PART_COMMENTS, PART_MESSAGES,
 PART_LINKS, PART_DEFECTS, PART_AFFINITY) = range(9)  # fmt: skip

SOURCE = "social"
PAGE_NAME = "Bright Brew"
IG_USERNAME = "brightbrew.coffee"
# The Page's time zone, in which the CSVs write Publish time: UTC, the product's default
# (MARKETING_SOCIAL_TIMEZONE), as the simulated HubSpot account's times are.
PAGE_TZ = "UTC"
FB, IG = "facebook", "instagram"

THEMES: tuple[str, ...] = (
    "new_arrivals", "how_to", "behind_the_scenes", "sale", "sustainability",
    "customer_stories", "giveaway",
)  # fmt: skip
THEME_SHARES = np.array([0.19, 0.17, 0.14, 0.13, 0.12, 0.13, 0.12])
# Hidden: each reference persona's engagement multiplier per theme (THEMES order), a clear
# favourite each, from its character.
THEME_AFFINITY: dict[str, tuple[float, ...]] = {
    # loyal fans like to see the roastery and the people behind it
    "loyalist": (1.1, 0.9, 2.6, 0.6, 1.2, 1.4, 0.7),
    # regulars are part of the community: other customers' stories
    "regular": (1.2, 1.0, 1.1, 0.9, 0.8, 2.5, 0.9),
    # bargain hunters react to sales, then giveaways
    "bargain_hunter": (0.8, 0.6, 0.5, 2.8, 0.6, 0.7, 1.5),
    # gifters look for ideas: what is new
    "seasonal_gifter": (2.5, 0.7, 0.8, 1.3, 0.7, 1.0, 1.2),
    # scrollers enter contests
    "social_scroller": (1.1, 0.6, 0.9, 1.4, 0.5, 0.8, 2.7),
    # connoisseurs care about origin, sourcing and packaging
    "eu_connoisseur": (1.2, 1.3, 1.4, 0.5, 2.6, 0.8, 0.6),
    # office buyers want practical brewing how-tos
    "office_buyer": (0.9, 2.5, 0.7, 1.1, 1.0, 0.8, 0.5),
}
FB_FORMATS: tuple[str, ...] = ("Photos", "Videos", "Reels", "Links", "Text")
FB_FORMAT_SHARES = np.array([0.40, 0.12, 0.18, 0.20, 0.10])
IG_FORMATS: tuple[str, ...] = ("IG image", "IG carousel", "IG reel")
IG_FORMAT_SHARES = np.array([0.45, 0.30, 0.25])
FORMAT_MULT: dict[str, float] = {
    "Photos": 1.0, "Videos": 1.15, "Reels": 1.4, "Links": 0.7, "Text": 0.6,
    "IG image": 1.0, "IG carousel": 1.25, "IG reel": 1.45,
}  # fmt: skip
VIDEO_FORMATS = frozenset({"Videos", "Reels", "IG reel"})
POSTS_PER_WEEK = {FB: 4.0, IG: 5.0}
# Engagement chance per reached follower before the multipliers (a few % of reach).
KIND_BASE: dict[str, dict[str, float]] = {
    FB: {"reaction": 0.040, "comment": 0.008, "share": 0.004, "link_click": 0.012,
         "other_click": 0.015},
    IG: {"like": 0.055, "comment": 0.009, "share": 0.005, "save": 0.008},
}  # fmt: skip
NON_FOLLOWER_DAMPING = 0.4  # non-followers reached engage less
REACTIONS = ("LIKE", "LOVE", "CARE", "WOW", "HAHA", "SAD", "ANGRY")
REACTION_SHARES = np.array([0.62, 0.20, 0.05, 0.05, 0.05, 0.02, 0.01])
EXPOSURE_TAU_DAYS = 0.8  # reach accrues over days: most in the first 2-3 days after publishing
MAX_DELAY_DAYS = 27
RESTATE_DAYS = 28  # the daily posts files restate the posts of the last 28 days
AGE_BANDS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_YOUNG = np.array([0.02, 0.25, 0.38, 0.20, 0.09, 0.04, 0.02])
AGE_OLD = np.array([0.005, 0.06, 0.20, 0.27, 0.22, 0.15, 0.095])
GENDERS = ("F", "M", "U")
GENDER_SHARES = np.array([0.56, 0.41, 0.03])
COUNTRY_NAMES = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
    "FR": "France", "NL": "Netherlands", "IE": "Ireland", "IT": "Italy", "ES": "Spain",
}  # fmt: skip
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S+0000"

FB_POSTS_FILE, IG_POSTS_FILE = "facebook_posts.csv", "instagram_posts.csv"
COMMENTS_FILE, REACTIONS_FILE = "comments.ndjson", "reactions.ndjson"
MESSAGES_FILE, AUDIENCE_FILE = "messages.ndjson", "audience.ndjson"
FB_POST_COLUMNS: tuple[str, ...] = (
    "Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time",
    "Permalink", "Post type", "Data comment", "Date", "Views", "Reach",
    "Reactions, Comments and Shares", "Reactions", "Comments", "Shares", "Total clicks",
    "Link clicks", "Other clicks", "3-second video views",
)  # fmt: skip
IG_POST_COLUMNS: tuple[str, ...] = (
    "Post ID", "Account ID", "Account username", "Account name", "Description",
    "Duration (sec)", "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views",
    "Reach", "Likes", "Shares", "Follows", "Comments", "Saves",
)  # fmt: skip
BOM = b"\xef\xbb\xbf"

# Post captions: words per theme, openers, hashtags.
THEME_WORDS: dict[str, tuple[str, ...]] = {
    "new_arrivals": ("new arrivals", "just landed", "new in"),
    "how_to": ("how to brew", "brewing tips", "step by step"),
    "behind_the_scenes": ("behind the scenes", "at the roastery", "meet the team"),
    "sale": ("sale", "% off", "deal"),
    "sustainability": ("compostable packaging", "direct trade", "sustainably sourced"),
    "customer_stories": ("your stories", "customer of the month", "our community"),
    "giveaway": ("giveaway", "win", "contest"),
}
THEME_TAGS: dict[str, str] = {
    "new_arrivals": "#newarrivals", "how_to": "#howto", "behind_the_scenes": "#behindthescenes",
    "sale": "#sale", "sustainability": "#sustainability", "customer_stories": "#customerstories",
    "giveaway": "#giveaway",
}  # fmt: skip
CAPTIONS: dict[str, tuple[str, ...]] = {
    "new_arrivals": ("New in: {product}. Fresh, bold and ready for your morning",
                     "Just landed! {product} is back, and it brought friends",
                     "Our new arrivals are here. Say hello to {product}"),
    "how_to": ("How to brew the perfect cup with the {product}, step by step",
               "Brewing tips: grind, water, time. Here is how to get it right with {product}",
               "How to: three mistakes to avoid with your {product}"),
    "behind_the_scenes": ("Behind the scenes at the roastery: how {product} is made",
                          "Meet the team that roasts, packs and ships your order",
                          "A morning at the roastery, from green beans to {product}"),
    "sale": ("Sale! 20% off {product} this weekend only",
             "Our biggest sale of the season: {product} and more, while stocks last",
             "Deal of the week: {product}, now at a lower price"),
    "sustainability": ("Compostable packaging, direct trade, and {product}: how we source",
                       "Sustainably sourced, roasted to order. The story of {product}",
                       "Less waste, better coffee: our new refill bags for {product}"),
    "customer_stories": ("Customer of the month: how Anna makes {product} part of her day",
                         "Your stories: a cafe owner on why they switched to {product}",
                         "We love seeing your setups. This one, with {product}, made our week"),
    "giveaway": ("Giveaway! Win {product}: like, follow and tag a friend",
                 "Contest time: tell us your brew method to win {product}",
                 "Win a month of coffee, with {product}. Entries close Sunday"),
}
COMMENTS: dict[str, tuple[str, ...]] = {
    "positive": ("Love this! {word}", "{product} is my favourite, ordered it twice already",
                 "This is exactly what I needed, thanks", "So good. Can't wait to try {product}",
                 "Yes please, more {word} like this", "Best coffee in town, no contest"),
    "neutral": ("Is {product} back in stock?", "How long does {product} keep once opened?",
                "What grind should I use for this?", "Interesting, did not know about {word}",
                "Do you ship this to Europe?", "Which one would you pick, {product} or the other?"),
    "negative": ("My last order took two weeks to arrive, not impressed",
                 "Price went up again for {product}?",
                 "Mine arrived damaged, still waiting for a reply",
                 "Meh, {word} again", "Tried {product}, too bitter for me"),
}
EMOJIS = ("\u2615", "\U0001f60d", "\U0001f525", "\U0001f44f", "\u2764\ufe0f", "\U0001f64c")
SAD_EMOJIS = ("\U0001f612", "\U0001f621", "\U0001f644")
MESSAGE_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "order": (("Hi, where is my order #{n}? It has been a week.",
               "Hello! Can I still change my order #{n}?"),
              ("Sorry for the wait! Your order #{n} shipped yesterday, tracking is in your inbox.",
               "Hi! We can change it until it ships, what would you like to change?")),
    "sizes": (("Does {product} come in a bigger size?", "Is {product} available as 1kg?"),
              ("Hi! {product} comes in the size on the page only for now, sorry.",
               "Good news: a bigger size of {product} arrives next month.")),
    "delivery": (("Do you deliver to {city}? How long does it take?",
                  "How much is shipping to {city}?"),
                 ("Yes, we deliver to {city}: 2-4 working days.",
                  "Shipping to {city} is free over $40, otherwise $4.90.")),
    "returns": (("Can I return {product}? It arrived chipped.",
                 "I would like to return {product}, how does it work?"),
                ("So sorry! Send us a photo and we will replace it right away.",
                 "Of course: reply with your order number and we send a return label.")),
}
FOLLOW_UPS = ("Thank you!", "Great, thanks for the quick reply", "Ok, thanks", "Perfect \U0001f64f")
PAGE_THANKS = ("You're welcome! Enjoy your coffee.", "Anytime!", "Happy to help \u2615")


@dataclass
class SocialWorld:
    """The social world of a seed: accounts, posts, authors (followers and the non-world
    people who engage), engagement events, messages, and per-exposure reach."""

    page_id: str
    ig_id: str
    posts: pl.DataFrame
    authors: pl.DataFrame
    events: pl.DataFrame
    exposures: pl.DataFrame
    messages: pl.DataFrame
    affinity: pl.DataFrame
    personas: list[str]


def persona_affinity(seed: int, names: list[str]) -> np.ndarray:
    """Theme multipliers (persona x theme) for the personas `names`: the reference ones as
    defined, a variant (`<name>_variant`) or an unknown one gets its base's multipliers
    rotated by a seeded shift, so its favourite differs."""
    rows = []
    for name in names:
        if name in THEME_AFFINITY:
            rows.append(THEME_AFFINITY[name])
            continue
        base = THEME_AFFINITY.get(name.removesuffix("_variant"), THEME_AFFINITY["regular"])
        rng = np.random.default_rng([seed, STREAM_SOCIAL, PART_AFFINITY,
                                     stable_key(name) % 2**32])  # fmt: skip
        shift = int(rng.integers(1, len(THEMES)))
        rows.append(base[shift:] + base[:shift])
    return np.array(rows, dtype=np.float64).reshape(len(names), len(THEMES))


def _persona_names(people: pl.DataFrame) -> list[str]:
    pairs = people.select("persona_idx", "persona").unique().sort("persona_idx")
    names = [""] * (int(pairs["persona_idx"].max() or 0) + 1)
    for idx, name in pairs.iter_rows():
        names[idx] = name
    return names


def _trunc_exp(rng: np.random.Generator, n: int, tau: float, cap: float) -> np.ndarray:
    """Exponential delays (mean `tau`) truncated at `cap`."""
    u = rng.random(n)
    return -tau * np.log1p(-u * (1 - np.exp(-cap / tau)))


def reach_curve(age_s: np.ndarray) -> np.ndarray:
    """Share of a post's final reach reached `age_s` seconds after publishing (the CDF of
    the exposure delays)."""
    a = np.clip(age_s / DAY, 0, None)
    full = 1 - np.exp(-MAX_DELAY_DAYS / EXPOSURE_TAU_DAYS)
    return np.where(a >= MAX_DELAY_DAYS, 1.0, (1 - np.exp(-a / EXPOSURE_TAU_DAYS)) / full)


def build(seed: int, people: pl.DataFrame, window: Window) -> SocialWorld:
    """Draw the social world of `seed` for every exportable day of `window`."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_ACCOUNTS)
    page_id = str(100_000_000_000_000 + int(rng.integers(0, 9 * 10**14)))
    ig_id = str(17_841_400_000_000_000 + int(rng.integers(0, 10**11)))
    names = _persona_names(people)
    affinity = persona_affinity(seed, names)
    posts = _posts(seed, window, page_id)
    authors = _authors(seed, people, window)
    exposures, events = _engagement(seed, posts, authors, affinity)
    events = _comment_details(seed, events, posts, authors)
    messages = _messages(seed, authors, window)
    authors = _links(seed, authors, messages)
    table = pl.DataFrame({
        "persona": names * len(THEMES),
        "theme": np.repeat(THEMES, len(names)),
        "multiplier": affinity.T.reshape(-1),
    }).with_columns(
        is_favourite=pl.col("multiplier") == pl.col("multiplier").max().over("persona")
    ).filter(pl.col("persona") != "").sort("persona", "theme")  # fmt: skip
    logger.info("social world: %d posts, %d authors, %d events, %d messages", posts.height,
                authors.height, events.height, messages.height)  # fmt: skip
    return SocialWorld(page_id, ig_id, posts, authors, events, exposures, messages, table,
                       names)


# ----------------------------------------------------------------------------- posts
def _posts(seed: int, window: Window, page_id: str) -> pl.DataFrame:
    rng = rng_for(seed, STREAM_SOCIAL, PART_POSTS)
    tz = ZoneInfo(PAGE_TZ)
    product_names = ref.product_names()
    n_products = len(product_names)
    on_sale = [i for i in range(n_products) if ref.on_sale(i)]
    gear = list(range(2 * ref.PRODUCTS_PER_CATEGORY, 3 * ref.PRODUCTS_PER_CATEGORY))
    frames = []
    for platform, formats, shares, base_id, step in (
        (FB, FB_FORMATS, FB_FORMAT_SHARES, 122_100_000_000_000, (10**8, 10**10)),
        (IG, IG_FORMATS, IG_FORMAT_SHARES, 17_900_000_000_000_000, (10**10, 10**12)),
    ):
        per_day = rng.poisson(POSTS_PER_WEEK[platform] / 7, window.reveal_days)
        days = np.repeat(np.arange(window.reveal_days), per_day)
        n = len(days)
        hour = rng.choice(np.arange(7, 22), n, p=_hour_shares())
        minute = rng.integers(0, 60, n)
        theme = categorical(rng, THEME_SHARES[None, :], np.zeros(n, dtype=np.int64))
        fmt = categorical(rng, shares[None, :], np.zeros(n, dtype=np.int64))
        has_product = rng.random(n) < 0.65
        any_product = rng.integers(0, n_products, n)
        sale_product = np.array(on_sale)[rng.integers(0, len(on_sale), n)]
        gear_product = np.array(gear)[rng.integers(0, len(gear), n)]
        product = np.where(theme == THEMES.index("sale"), sale_product,
                           np.where(theme == THEMES.index("how_to"), gear_product, any_product))
        product = np.where(has_product | (theme == THEMES.index("giveaway")), product, -1)
        duration = np.where(rng.random(n) < 0.5, rng.integers(7, 60, n), rng.integers(60, 180, n))
        ts = np.array([
            int(dt.datetime.combine(window.date_of(int(d)), dt.time(int(h), int(m)), tz)
                .timestamp())
            for d, h, m in zip(days, hour, minute, strict=True)
        ], dtype=np.int64)  # fmt: skip
        ids = base_id + np.cumsum(rng.integers(step[0], step[1], n))
        captions, titles = [], []
        for k in range(n):
            caption, title = _caption(rng, THEMES[theme[k]],
                                      product_names[product[k]] if product[k] >= 0 else None)
            captions.append(caption)
            titles.append(title)
        codes = ["".join(rng.choice(list(_CODE_CHARS), 11)) for _ in range(n)]
        fmt_names = [formats[f] for f in fmt]
        if platform == FB:
            links = [f"https://www.facebook.com/reel/{i}" if f == "Reels" else
                     f"https://www.facebook.com/{page_id}/videos/{i}" if f == "Videos" else
                     f"https://www.facebook.com/{page_id}/posts/{i}"
                     for i, f in zip(ids, fmt_names, strict=True)]  # fmt: skip
        else:
            links = [f"https://www.instagram.com/{'reel' if f == 'IG reel' else 'p'}/{c}/"
                     for c, f in zip(codes, fmt_names, strict=True)]  # fmt: skip
        frames.append(pl.DataFrame({
            "platform": [platform] * n,
            "post_id": ids.astype(str),
            "theme": pl.Series([THEMES[t] for t in theme], dtype=pl.String),
            "theme_idx": theme.astype(np.int64),
            "format": pl.Series(fmt_names, dtype=pl.String),
            "product_idx": pl.Series(product, dtype=pl.Int64).replace(-1, None),
            "publish_ts": ts,
            "caption": pl.Series(captions, dtype=pl.String),
            "title": pl.Series(titles, dtype=pl.String),
            "duration": pl.Series(duration, dtype=pl.Int64),
            "permalink": pl.Series(links, dtype=pl.String),
            "reach_share": rng.uniform(0.12, 0.32, n),
            "nf_share": rng.uniform(0.2, 1.2, n),
            "views_ratio": rng.uniform(1.1, 1.7, n),
            "video3s_ratio": rng.uniform(0.25, 0.6, n),
            "follow_rate": rng.uniform(0.002, 0.01, n),
        }))  # fmt: skip
    posts = pl.concat(frames).with_columns(
        pl.when(pl.col("format").is_in(list(VIDEO_FORMATS))).then(pl.col("duration"))
        .otherwise(None).alias("duration"),
        pl.when(pl.col("format") == "Videos").then(pl.col("title")).otherwise(None)
        .alias("title"),
        pl.col("product_idx").replace_strict(dict(enumerate(product_names)), default=None,
                                             return_dtype=pl.String).alias("product"),
    ).with_row_index("post_idx").with_columns(pl.col("post_idx").cast(pl.Int64))  # fmt: skip
    return posts


_CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _hour_shares() -> np.ndarray:
    w = np.array([2, 4, 5, 5, 4, 5, 6, 5, 4, 4, 5, 6, 7, 6, 4], dtype=np.float64)
    return w / w.sum()


def _caption(rng: np.random.Generator, theme: str, product: str | None) -> tuple[str, str]:
    """A post's caption (carrying the theme in words and 1-3 hashtags) and a video title."""
    templates = CAPTIONS[theme]
    text = templates[int(rng.integers(0, len(templates)))]
    text = text.format(product=product or "our coffee").replace("the our ", "our ")
    tags = [THEME_TAGS[theme]]
    if product and rng.random() < 0.6:
        tags.append("#" + "".join(w.capitalize() for w in ref.slug(product).split("-")))
    if rng.random() < 0.5:
        tags.append("#brightbrew")
    extra = ""
    if rng.random() < 0.35:
        extra = "\n\n" + ("Shop now, link in bio." if rng.random() < 0.5 else
                          f"Tell us below: {THEME_WORDS[theme][0]}, yes or no?")
    title = text.split(":")[0].split(".")[0][:60]
    return f"{text}{extra}\n{' '.join(tags)}" if rng.random() < 0.4 else \
        f"{text}{extra} {' '.join(tags)}", title


# ----------------------------------------------------------------------------- authors
def _authors(seed: int, people: pl.DataFrame, window: Window) -> pl.DataFrame:
    """One row per (platform, follower) of the world, plus the non-world people who follow
    or engage. Columns: platform, user_id, name, username, person_id (null for non-world),
    persona_idx (-1 non-world), follow_ts (null: engages without following), age_band,
    gender, city_idx, activity, send_hour, gmtoff, lean (sentiment leaning 0..1),
    account_ts, hs_create_ts, shop_email, hubspot_record_id."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_AUTHORS)
    n = people.height
    start = window.history_start_ts
    mobile = people["mobile_share"].to_numpy()
    social = (people["channel"].to_numpy() == 1).astype(np.float64)
    eligible = people["role"].to_numpy() != STAFF
    arrive = people["arrive_ts"].fill_null(start).to_numpy()
    # Who they are on social media, drawn for everyone (so it never depends on who follows).
    age = categorical(rng, mobile[:, None] * AGE_YOUNG + (1 - mobile[:, None]) * AGE_OLD,
                      np.arange(n))  # fmt: skip
    gender = categorical(rng, GENDER_SHARES[None, :], np.zeros(n, dtype=np.int64))
    activity = np.exp(0.5 * rng.normal(0, 1, n))
    lean = np.clip((people["nps_base"].to_numpy() - 5.0) / 5.0, 0.0, 1.0)
    world = pl.DataFrame({
        "person_id": people["person_id"],
        "persona_idx": people["persona_idx"],
        "first": people["first_name"], "last": people["last_name"],
        "age_band": pl.Series([AGE_BANDS[a] for a in age], dtype=pl.String),
        "gender": pl.Series([GENDERS[g] for g in gender], dtype=pl.String),
        "city_idx": people["city_idx"],
        "activity": activity,
        "send_hour": people["send_hour_local"],
        "gmtoff": people["gmtoff"],
        "lean": lean,
        "account_ts": people["account_ts"],
        "hs_create_ts": people["hs_create_ts"],
        "shop_email": people["shop_email"],
        "hubspot_record_id": people["hubspot_record_id"],
    })  # fmt: skip
    frames = []
    for platform, p in ((FB, 0.12 + 0.25 * mobile + 0.12 * social),
                        (IG, 0.05 + 0.35 * mobile + 0.15 * social)):
        follows = eligible & (rng.random(n) < p)
        follow_ts = arrive + (rng.exponential(45, n) * DAY).astype(np.int64)
        mine = world.with_columns(follow_ts=pl.Series(follow_ts)).filter(pl.Series(follows))
        frames.append(mine.with_columns(platform=pl.lit(platform)))
        # Nobody in the shop's world: about one for every two world followers; 60% follow.
        m = max(20, int(follows.sum()) // 2)
        city_w = np.array([c.weight for c in ref.CITIES])
        city = rng.choice(len(ref.CITIES), m, p=city_w / city_w.sum())
        ext_mobile = rng.uniform(0.3, 0.9, m)
        ext_age = categorical(rng, ext_mobile[:, None] * AGE_YOUNG
                              + (1 - ext_mobile[:, None]) * AGE_OLD, np.arange(m))  # fmt: skip
        ext_gender = categorical(rng, GENDER_SHARES[None, :], np.zeros(m, dtype=np.int64))
        ext_follow = np.where(rng.random(m) < 0.6,
                              start + rng.integers(-200 * DAY, window.reveal_days * DAY, m), -1)
        frames.append(pl.DataFrame({
            "person_id": pl.Series([None] * m, dtype=pl.Int64),
            "persona_idx": np.full(m, -1, dtype=np.int64),
            "first": pl.Series(ref.FIRST_NAMES).gather(rng.integers(0, len(ref.FIRST_NAMES), m)),
            "last": pl.Series(ref.LAST_NAMES).gather(rng.integers(0, len(ref.LAST_NAMES), m)),
            "age_band": pl.Series([AGE_BANDS[a] for a in ext_age], dtype=pl.String),
            "gender": pl.Series([GENDERS[g] for g in ext_gender], dtype=pl.String),
            "city_idx": city.astype(np.int64),
            "activity": np.exp(0.5 * rng.normal(0, 1, m)),
            "send_hour": rng.integers(7, 23, m),
            "gmtoff": np.array([c.gmtoff for c in ref.CITIES], dtype=np.int64)[city],
            "lean": rng.uniform(0.2, 0.9, m),
            "account_ts": pl.Series([None] * m, dtype=pl.Int64),
            "hs_create_ts": pl.Series([None] * m, dtype=pl.Int64),
            "shop_email": pl.Series([None] * m, dtype=pl.String),
            "hubspot_record_id": pl.Series([None] * m, dtype=pl.String),
            "follow_ts": pl.Series(ext_follow, dtype=pl.Int64).replace(-1, None),
            "platform": pl.Series([platform] * m, dtype=pl.String),
        }).cast(mine.schema))  # fmt: skip
    authors = pl.concat(frames, how="vertical").with_columns(
        pl.col("account_ts").cast(pl.Int64), pl.col("hs_create_ts").cast(pl.Int64))
    k = authors.height
    # Names: mostly as in the world, a few shortened; usernames derived from the name.
    firsts = [ref.ascii_fold(x).lower().replace(" ", "").replace("'", "")
              for x in authors["first"].to_list()]  # fmt: skip
    lasts = [ref.ascii_fold(x).lower().replace(" ", "").replace("'", "")
             for x in authors["last"].to_list()]  # fmt: skip
    style = rng.integers(0, 7, k)
    num = rng.integers(1, 100, k)
    year = rng.integers(70, 106, k) % 100
    users = []
    for f, la, s, nn, yy in zip(firsts, lasts, style, num, year, strict=True):
        users.append((f"{f}.{la}{nn}", f"{f}{la}_", f"{f}_{la}", f"{f[:1]}{la}", f"{f}.{la}",
                      f"the.{f}{la}", f"{f}{la}{yy:02d}")[s])  # fmt: skip
    user = pl.Series(users, dtype=pl.String)
    rank = repeat_rank(user)
    user = pl.Series([u if r == 0 else f"{u}{r + 1}" for u, r in zip(users, rank, strict=True)])
    short = rng.random(k) < 0.08
    full = authors.select(
        pl.when(pl.Series(short))
        .then(pl.format("{} {}.", pl.col("first"), pl.col("last").str.slice(0, 1)))
        .otherwise(pl.format("{} {}", pl.col("first"), pl.col("last"))).alias("name")
    )["name"]
    fb_ids = 2_400_000_000_000_000 + np.cumsum(rng.integers(1, 10**9, k))
    ig_ids = 17_841_000_000_000_000 + np.cumsum(rng.integers(1, 10**9, k))
    order = rng.permutation(k)
    is_fb = (authors["platform"] == FB).to_numpy()
    return authors.with_columns(
        name=full,
        username=pl.when(pl.col("platform") == IG).then(pl.lit(user)).otherwise(None),
        user_id=pl.Series(np.where(is_fb, fb_ids[order], ig_ids[order]).astype(str)),
    ).drop("first", "last").with_row_index("author_idx").with_columns(
        pl.col("author_idx").cast(pl.Int64))  # fmt: skip


# ----------------------------------------------------------------------------- engagement
def _engagement(seed: int, posts: pl.DataFrame, authors: pl.DataFrame,
                affinity: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """Per platform: which followers each post reached and when, and every engagement
    (follower or not) with its time. Returns (exposures, events)."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_ENGAGE)
    aff = np.vstack([affinity, np.ones((1, len(THEMES)))])  # row -1: non-world people
    exposures, events = [], []
    for platform in (FB, IG):
        mine = posts.filter(pl.col("platform") == platform)
        who = authors.filter(pl.col("platform") == platform)
        fol = who.filter(pl.col("follow_ts").is_not_null()).sort("follow_ts", "author_idx")
        nonfol = who.filter(pl.col("follow_ts").is_null())["author_idx"].to_numpy()
        f_ts = fol["follow_ts"].to_numpy()
        f_idx = fol["author_idx"].to_numpy()
        # Organic reach shrinks as a page grows, so big worlds stay cheap.
        damp = min(1.0, (3000 / max(len(f_idx), 1)) ** 0.5)
        p_idx, p_ts = mine["post_idx"].to_numpy(), mine["publish_ts"].to_numpy()
        reach_share = mine["reach_share"].to_numpy() * damp
        e_post, e_author = [], []
        for k in range(len(p_idx)):
            m = int(np.searchsorted(f_ts, p_ts[k], side="left"))
            r = int(rng.binomial(m, reach_share[k]))
            e_post.append(np.full(r, k, dtype=np.int64))
            e_author.append(f_idx[np.sort(rng.choice(m, r, replace=False))] if r else
                            np.zeros(0, dtype=np.int64))  # fmt: skip
        ep = np.concatenate(e_post)
        ea = np.concatenate(e_author)
        ets = p_ts[ep] + (_trunc_exp(rng, len(ep), EXPOSURE_TAU_DAYS, MAX_DELAY_DAYS)
                          * DAY).astype(np.int64)  # fmt: skip
        exposures.append(pl.DataFrame({"post_idx": p_idx[ep], "author_idx": ea, "ts": ets}))
        # The chance a reached follower engages: persona x theme, format, hour, activity.
        a = authors.select("persona_idx", "activity", "send_hour", "gmtoff")
        persona = a["persona_idx"].to_numpy()[ea]
        theme = mine["theme_idx"].to_numpy()[ep]
        fmt = np.array([FORMAT_MULT[f] for f in mine["format"].to_list()])[ep]
        local_hour = (p_ts[ep] // 3600 + a["gmtoff"].to_numpy()[ea]) % 24
        dist = np.abs(local_hour - a["send_hour"].to_numpy()[ea])
        dist = np.minimum(dist, 24 - dist)
        hour_f = 0.6 + 0.9 * np.exp(-(dist**2) / 8.0)
        mult = aff[persona, theme] * fmt * hour_f * a["activity"].to_numpy()[ea]
        has_link = ((mine["format"] == "Links") | mine["product_idx"].is_not_null()).to_numpy()
        # Non-followers reached (shares, explore, hashtags): counted, and some engage.
        n_reached = np.bincount(ep, minlength=len(p_idx))
        nf = np.rint(n_reached * mine["nf_share"].to_numpy()
                     * np.where(np.isin(mine["format"].to_numpy(), list(VIDEO_FORMATS)), 2.0,
                                1.0)).astype(np.int64) + 3  # fmt: skip
        fmt_post = np.array([FORMAT_MULT[f] for f in mine["format"].to_list()])
        for kind, base in KIND_BASE[platform].items():
            p = np.minimum(0.9, base * mult)
            if kind == "link_click":
                p = np.where(has_link[ep], p, 0.0)
            hit = rng.random(len(ep)) < p
            lag = (rng.exponential(0.3, int(hit.sum())) * 3600).astype(np.int64) + 30
            events.append(pl.DataFrame({
                "platform": platform, "post_idx": p_idx[ep[hit]], "author_idx": ea[hit],
                "kind": kind, "ts": ets[hit] + lag, "follower": True,
            }))  # fmt: skip
            pk = np.minimum(0.9, base * fmt_post * NON_FOLLOWER_DAMPING)
            if kind == "link_click":
                pk = np.where(has_link, pk, 0.0)
            counts = rng.binomial(nf, pk)
            counts = np.minimum(counts, len(nonfol))
            if not len(nonfol) or not counts.sum():
                continue
            post_k = np.repeat(np.arange(len(p_idx)), counts)
            auth = np.concatenate([rng.choice(nonfol, c, replace=False) for c in counts if c])
            delay = (_trunc_exp(rng, len(post_k), EXPOSURE_TAU_DAYS, MAX_DELAY_DAYS)
                     * DAY).astype(np.int64) + 60  # fmt: skip
            events.append(pl.DataFrame({
                "platform": platform, "post_idx": p_idx[post_k], "author_idx": auth,
                "kind": kind, "ts": p_ts[post_k] + delay, "follower": False,
            }))  # fmt: skip
        posts_nf = pl.DataFrame({"post_idx": p_idx, "nf_reach": nf})
        exposures[-1] = exposures[-1].with_columns(platform=pl.lit(platform))
        events.append(pl.DataFrame({"platform": platform, "post_idx": posts_nf["post_idx"],
                                    "author_idx": -1, "kind": "nf_reach",
                                    "ts": posts_nf["nf_reach"], "follower": False}))  # fmt: skip
    schema = {"platform": pl.String, "post_idx": pl.Int64, "author_idx": pl.Int64,
              "kind": pl.String, "ts": pl.Int64, "follower": pl.Boolean}
    ev = pl.concat([e.cast(schema) for e in events]).sort("ts", "post_idx", "author_idx", "kind")
    exp_schema = {"post_idx": pl.Int64, "author_idx": pl.Int64, "ts": pl.Int64}
    return pl.concat([e.cast(exp_schema) for e in exposures]).sort(  # type: ignore[arg-type]
        "ts", "post_idx", "author_idx"), ev


def _comment_details(seed: int, events: pl.DataFrame, posts: pl.DataFrame,
                     authors: pl.DataFrame) -> pl.DataFrame:  # fmt: skip
    """Reaction types; comment ids, texts (theme and sentiment), like counts and late
    arrival; every event keeps a row, other kinds with nulls."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_COMMENTS)
    n = events.height
    reaction = categorical(rng, REACTION_SHARES[None, :], np.zeros(n, dtype=np.int64))
    ev = events.join(posts.select("post_idx", "theme", "product", "post_id"), on="post_idx",
                     how="left", maintain_order="left").join(
        authors.select("author_idx", "lean"), on="author_idx", how="left", maintain_order="left")
    lean = ev["lean"].fill_null(0.5).to_numpy()
    u = rng.random(n)
    p_pos = 0.25 + 0.55 * lean
    p_neg = 0.04 + 0.25 * (1 - lean)
    sentiment = np.where(u < p_pos, "positive", np.where(u > 1 - p_neg, "negative", "neutral"))
    pick = rng.integers(0, 1000, n)
    emoji = rng.random(n)
    emoji_k = rng.integers(0, len(EMOJIS), n)
    comment = (ev["kind"] == "comment").to_numpy()
    texts: list[str | None] = [None] * n
    themes, products = ev["theme"].to_list(), ev["product"].to_list()
    for i in np.flatnonzero(comment):
        s = str(sentiment[i])
        options = COMMENTS[s]
        theme = themes[i]
        text = options[pick[i] % len(options)].format(
            product=products[i] or "this", word=THEME_WORDS[theme][pick[i] % 3])
        text = text[:1].upper() + text[1:]
        if emoji[i] < 0.35:
            text += " " + (SAD_EMOJIS[emoji_k[i] % 3] if s == "negative" else EMOJIS[emoji_k[i]])
        texts[i] = text
    cid = 100_000_000_000_000 + np.cumsum(rng.integers(1, 10**9, n))
    ig_cid = 179_000_000_000_000_000 + np.cumsum(rng.integers(1, 10**9, n))
    is_fb = (ev["platform"] == FB).to_numpy()
    return ev.select(events.columns).with_columns(
        reaction=pl.when(pl.col("kind") == "reaction")
        .then(pl.lit(pl.Series([REACTIONS[r] for r in reaction]))).otherwise(None),
        sentiment=pl.when(pl.lit(pl.Series(comment))).then(pl.lit(pl.Series(sentiment)))
        .otherwise(None),
        text=pl.Series(texts, dtype=pl.String),
        comment_id=pl.when(pl.lit(pl.Series(comment))).then(
            pl.lit(pl.Series(np.where(is_fb, cid, ig_cid).astype(str)))).otherwise(None),
        like_count=pl.Series(np.where(comment, rng.geometric(0.55, n) - 1, 0)),
        late=pl.Series(comment & (rng.random(n) < 0.05)),
    )  # fmt: skip


# ----------------------------------------------------------------------------- messages
def _messages(seed: int, authors: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Direct messages: some world followers write to the page (orders, sizes, delivery,
    returns) and the page replies. Columns: platform, conversation_id, id, ts, author_idx
    (-1: the page), text, thread author (writer_idx)."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_MESSAGES)
    start, end = window.history_start_ts, window.reveal_end_ts
    world = authors.filter(pl.col("person_id").is_not_null())
    customer = (world["account_ts"].is_not_null() | world["hs_create_ts"].is_not_null()).to_numpy()
    writes = rng.random(world.height) < np.where(customer, 0.10, 0.03)
    writers = world.filter(pl.Series(writes))
    names = ref.product_names()
    rows: list[tuple[str, str, str, int, int, str]] = []
    for row in writers.iter_rows(named=True):
        conv = "t_" + str(int(rng.integers(10**14, 10**15)))
        lo = max(int(row["follow_ts"]), start)
        if lo >= end:
            continue
        for _ in range(int(rng.integers(1, 3))):
            ts = int(rng.integers(lo, end))
            topic = list(MESSAGE_TOPICS)[int(rng.integers(0, len(MESSAGE_TOPICS)))]
            asks, answers = MESSAGE_TOPICS[topic]
            k = int(rng.integers(0, 2))
            fill = {"n": int(rng.integers(1001, 9999)),
                    "product": names[int(rng.integers(0, len(names)))],
                    "city": ref.CITIES[int(row["city_idx"])].name}  # fmt: skip
            thread = [(row["author_idx"], asks[k].format(**fill)),
                      (-1, answers[k].format(**fill))]  # fmt: skip
            if rng.random() < 0.4:
                thread += [(row["author_idx"], FOLLOW_UPS[int(rng.integers(0, len(FOLLOW_UPS)))]),
                           (-1, PAGE_THANKS[int(rng.integers(0, len(PAGE_THANKS)))])]
            for who, text in thread:
                token = "".join(rng.choice(list(_CODE_CHARS[:-2]), 22))
                rows.append((row["platform"], conv, f"m_{token}", ts, int(who), text,
                             int(row["author_idx"])))  # type: ignore[arg-type]
                ts += int(rng.integers(60, 4 * 3600))
    return pl.DataFrame(rows, orient="row", schema={
        "platform": pl.String, "conversation_id": pl.String, "id": pl.String, "ts": pl.Int64,
        "author_idx": pl.Int64, "text": pl.String, "writer_idx": pl.Int64,
    }).sort("ts", "id")  # fmt: skip


def _links(seed: int, authors: pl.DataFrame, messages: pl.DataFrame) -> pl.DataFrame:
    """When the shop's inbox linked an author who is a customer (shop account or HubSpot
    contact): `link_ts`, null for authors never linked. Writers of messages are linked
    more often, at their first message after they became a customer."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_LINKS)
    n = authors.height
    identity = authors.select(pl.min_horizontal("account_ts", "hs_create_ts"))[:, 0]
    first_dm = messages.group_by("writer_idx").agg(pl.col("ts").min().alias("dm_ts"))
    a = authors.join(first_dm, left_on="author_idx", right_on="writer_idx", how="left",
                     maintain_order="left")  # fmt: skip
    dm = a["dm_ts"].is_not_null().to_numpy()
    ident = identity.fill_null(-1).to_numpy()
    linked = (ident >= 0) & (rng.random(n) < np.where(dm, 0.6, 0.25))
    later = ident + (rng.exponential(15, n) * DAY).astype(np.int64)
    link_ts = np.where(dm, np.maximum(ident, a["dm_ts"].fill_null(0).to_numpy()), later)
    return authors.with_columns(
        link_ts=pl.Series(np.where(linked, link_ts, -1)).replace(-1, None).cast(pl.Int64))


# ----------------------------------------------------------------------------- as of a time
def post_metrics(sw: SocialWorld, as_of: int) -> pl.DataFrame:
    """Each post's lifetime totals as of `as_of` (posts published before it)."""
    posts = sw.posts.filter(pl.col("publish_ts") < as_of)
    ev = sw.events.filter((pl.col("ts") < as_of) & (pl.col("kind") != "nf_reach"))
    counts = ev.group_by("post_idx").agg(
        *(pl.col("kind").eq(k).sum().alias(k) for k in
          ("reaction", "like", "comment", "share", "save", "link_click", "other_click")),
        pl.col("author_idx").filter(~pl.col("follower")).n_unique().alias("nf_engagers"),
    )  # fmt: skip
    reach = sw.exposures.filter(pl.col("ts") < as_of).group_by("post_idx").len("f_reach")
    nf = sw.events.filter(pl.col("kind") == "nf_reach").select("post_idx",
                                                               pl.col("ts").alias("nf_total"))
    out = posts.join(counts, on="post_idx", how="left").join(reach, on="post_idx", how="left") \
        .join(nf, on="post_idx", how="left").fill_null(0)
    curve = reach_curve(as_of - out["publish_ts"].to_numpy())
    nf_reach = np.maximum(np.floor(out["nf_total"].to_numpy() * curve).astype(np.int64),
                          out["nf_engagers"].to_numpy())  # fmt: skip
    reach_total = out["f_reach"].to_numpy() + nf_reach
    views = reach_total + np.floor(reach_total * (out["views_ratio"].to_numpy() - 1)).astype(
        np.int64)
    return out.with_columns(
        reach=pl.Series(reach_total), views=pl.Series(views),
        video3s=pl.Series(np.floor(views * out["video3s_ratio"].to_numpy()).astype(np.int64)),
        follows=pl.Series(np.floor(nf_reach * out["follow_rate"].to_numpy()).astype(np.int64)),
    ).sort("publish_ts", "post_idx", descending=True)


def _graph_time(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.strftime(GRAPH_TIME)


def _local_time(col: str) -> pl.Expr:
    return (pl.from_epoch(pl.col(col), time_unit="s").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(PAGE_TZ).dt.strftime("%m/%d/%Y %H:%M"))  # fmt: skip


def fb_post_rows(sw: SocialWorld, metrics: pl.DataFrame) -> list[list[str]]:
    m = metrics.filter(pl.col("platform") == FB).with_columns(t=_local_time("publish_ts"))
    rows = []
    for r in m.iter_rows(named=True):
        video = r["format"] in VIDEO_FORMATS
        rcs = r["reaction"] + r["comment"] + r["share"]
        rows.append([r["post_id"], sw.page_id, PAGE_NAME, r["title"] or "", r["caption"],
                     str(r["duration"]) if video else "", r["t"], r["permalink"], r["format"],
                     "", "Lifetime", str(r["views"]), str(r["reach"]), str(rcs),
                     str(r["reaction"]), str(r["comment"]), str(r["share"]),
                     str(r["link_click"] + r["other_click"]), str(r["link_click"]),
                     str(r["other_click"]), str(r["video3s"] if video else 0)])  # fmt: skip
    return rows


def ig_post_rows(sw: SocialWorld, metrics: pl.DataFrame) -> list[list[str]]:
    m = metrics.filter(pl.col("platform") == IG).with_columns(t=_local_time("publish_ts"))
    rows = []
    for r in m.iter_rows(named=True):
        video = r["format"] in VIDEO_FORMATS
        rows.append([r["post_id"], sw.ig_id, IG_USERNAME, PAGE_NAME, r["caption"],
                     str(r["duration"]) if video else "", r["t"], r["permalink"], r["format"],
                     "", "Lifetime", str(r["views"]), str(r["reach"]), str(r["like"]),
                     str(r["share"]), str(r["follows"]), str(r["comment"]),
                     str(r["save"])])  # fmt: skip
    return rows


def _customer(r: dict, ts: int) -> dict[str, str] | None:
    """The `customer` object of a line of author `r` at `ts`, or None when not linked."""
    if r["link_ts"] is None or ts < r["link_ts"]:
        return None
    out = {}
    if r["account_ts"] is not None and r["account_ts"] <= ts and r["shop_email"]:
        out["email"] = r["shop_email"]
    if r["hs_create_ts"] is not None and r["hs_create_ts"] <= ts and r["hubspot_record_id"]:
        out["hubspot_record_id"] = r["hubspot_record_id"]
    return out or None


def _dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def comment_lines(sw: SocialWorld, lo: int, hi: int) -> list[str]:
    """Comments that arrived in [lo, hi): created then and not late, or created in the day
    before `lo` and late (a late comment arrives a day after it was created)."""
    c = sw.events.filter(pl.col("kind") == "comment")
    arrive = pl.col("ts") + pl.when(pl.col("late")).then(DAY).otherwise(0)
    c = c.filter(arrive.is_between(lo, hi, closed="left") & (pl.col("ts") < hi))
    c = c.join(sw.posts.select("post_idx", "post_id"), on="post_idx", how="left")
    c = c.join(sw.authors, on="author_idx", how="left", suffix="_a").sort("ts", "comment_id")
    out = []
    for r in c.iter_rows(named=True):
        t = dt.datetime.fromtimestamp(r["ts"], dt.UTC).strftime(GRAPH_TIME)
        if r["platform"] == FB:
            obj: dict[str, object] = {
                "platform": FB, "id": f"{r['post_id']}_{r['comment_id']}",
                "post_id": f"{sw.page_id}_{r['post_id']}", "message": r["text"],
                "created_time": t, "from": {"id": r["user_id"], "name": r["name"]},
                "like_count": r["like_count"],
            }  # fmt: skip
        else:
            obj = {"platform": IG, "id": r["comment_id"], "media": {"id": r["post_id"]},
                   "text": r["text"], "timestamp": t, "username": r["username"],
                   "from": {"id": r["user_id"], "username": r["username"]},
                   "like_count": r["like_count"]}  # fmt: skip
        customer = _customer(r, r["ts"])
        if customer:
            obj["customer"] = customer
        out.append(_dumps(obj))
    return out


def reaction_lines(sw: SocialWorld, lo: int, hi: int, posts_since: int | None) -> list[str]:
    """Facebook reactions that arrived in [lo, hi) (to posts published since
    `posts_since` when given)."""
    ev = sw.events.filter((pl.col("kind") == "reaction") & pl.col("ts").is_between(lo, hi,
                                                                                   closed="left"))
    ev = ev.join(sw.posts.select("post_idx", "post_id", "publish_ts"), on="post_idx",
                 how="left", suffix="_p")  # fmt: skip
    if posts_since is not None:
        ev = ev.filter(pl.col("publish_ts") >= posts_since)
    ev = ev.join(sw.authors.select("author_idx", "user_id", "name"), on="author_idx",
                 how="left").sort("ts", "post_idx", "author_idx")  # fmt: skip
    lines = ev.select(
        pl.struct(
            pl.format("{}_{}", pl.lit(sw.page_id), pl.col("post_id")).alias("post_id"),
            pl.col("user_id").alias("id"), "name", pl.col("reaction").alias("type"),
            _graph_time("ts").alias("created_time"),
        ).struct.json_encode().alias("line")
    )
    return lines["line"].to_list()


def message_lines(sw: SocialWorld, lo: int, hi: int) -> list[str]:
    msgs = sw.messages.filter(pl.col("ts").is_between(lo, hi, closed="left"))
    writers = sw.authors.rename({"author_idx": "writer_idx"})
    msgs = msgs.join(writers, on="writer_idx", how="left", suffix="_w")
    out = []
    for r in msgs.iter_rows(named=True):
        t = dt.datetime.fromtimestamp(r["ts"], dt.UTC).strftime(GRAPH_TIME)
        page = r["author_idx"] < 0
        if r["platform"] == FB:
            who = {"id": sw.page_id, "name": PAGE_NAME} if page else \
                {"id": r["user_id"], "name": r["name"]}
        else:
            who = {"id": sw.ig_id, "username": IG_USERNAME} if page else \
                {"id": r["user_id"], "username": r["username"]}
        obj: dict[str, object] = {"platform": r["platform"],
                                  "conversation_id": r["conversation_id"], "id": r["id"],
                                  "created_time": t, "from": who, "message": r["text"]}
        customer = None if page else _customer(r, r["ts"])
        if customer:
            obj["customer"] = customer
        out.append(_dumps(obj))
    return out


def audience_lines(sw: SocialWorld, as_of: int, date: dt.date) -> list[str]:
    """Follower demographics of both accounts as of `as_of`."""
    f = sw.authors.filter(pl.col("follow_ts") < as_of)
    fb_city = [f"{c.name}, {COUNTRY_NAMES[c.country]}" for c in ref.CITIES]
    ig_city = [f"{c.name}, {c.region_name}" for c in ref.CITIES]
    countries = [c.country for c in ref.CITIES]
    end_time = f"{date.isoformat()}T07:00:00+0000"

    def counts(frame: pl.DataFrame, key: pl.Expr) -> dict[str, int]:
        g = frame.group_by(key.alias("k")).len().sort("k")
        return dict(zip(g["k"].to_list(), g["len"].to_list(), strict=True))

    fb = f.filter(pl.col("platform") == FB)
    ig = f.filter(pl.col("platform") == IG)
    out = []
    for name, title, key in (
        ("page_fans_gender_age", "Lifetime Likes by Gender and Age",
         pl.format("{}.{}", pl.col("gender"), pl.col("age_band"))),
        ("page_fans_city", "Lifetime Likes by City",
         pl.col("city_idx").replace_strict(dict(enumerate(fb_city)))),
        ("page_fans_country", "Lifetime Likes by Country",
         pl.col("city_idx").replace_strict(dict(enumerate(countries)))),
    ):
        out.append(_dumps({"platform": FB, "name": name, "period": "lifetime",
                           "values": [{"value": counts(fb, key), "end_time": end_time}],
                           "title": title,
                           "id": f"{sw.page_id}/insights/{name}/lifetime"}))  # fmt: skip
    for breakdown, key in (
        ("age", pl.col("age_band")), ("gender", pl.col("gender")),
        ("city", pl.col("city_idx").replace_strict(dict(enumerate(ig_city)))),
        ("country", pl.col("city_idx").replace_strict(dict(enumerate(countries)))),
    ):
        results = [{"dimension_values": [k], "value": v} for k, v in counts(ig, key).items()]
        out.append(_dumps({
            "platform": IG, "name": "follower_demographics", "period": "lifetime",
            "breakdown": breakdown,
            "id": f"{sw.ig_id}/insights/follower_demographics/lifetime",
            "total_value": {"breakdowns": [{"dimension_keys": [breakdown],
                                            "results": results}]},
        }))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- writing
def empty_days(seed: int, window: Window, count: int) -> set[tuple[str, int]]:
    """The (file, day) daily social files that come out empty, in the continuable days."""
    rng = rng_for(seed, STREAM_SOCIAL, PART_DEFECTS)
    files = (COMMENTS_FILE, REACTIONS_FILE, MESSAGES_FILE)
    chosen: set[tuple[str, int]] = set()
    lo, hi = window.history_days, window.reveal_days
    while hi > lo and len(chosen) < min(count, (hi - lo) * len(files)):
        chosen.add((files[int(rng.integers(0, len(files)))], int(rng.integers(lo, hi))))
    return chosen


def write_csv(landing: Path, seed: int, date: dt.date, name: str, header: tuple[str, ...],
              rows: list[list[str]], metric_from: int, defects: Defects, log: DefectLog,
              empty: bool = False) -> int:  # fmt: skip
    """A Meta Business Suite CSV (UTF-8 with BOM, quoted where needed, multiline captions),
    with duplicated rows and rows whose metric is not a number at the defect rates."""
    rel = f"{SOURCE}/{date.isoformat()}/{name}"
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if empty:
        path.write_bytes(b"")
        log.add(SOURCE, date, rel, "empty_file")
        return 0
    key = stable_key(seed, rel)
    idx = np.arange(len(rows))
    dup = hash_uniform(key, idx, 1) < defects.duplicate_row_rate
    bad = ~dup & (hash_uniform(key, idx, 2) < defects.malformed_row_rate)
    col = metric_from + (hash_uniform(key, idx, 3) * (len(header) - metric_from)).astype(int)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    dup_rows, bad_rows = [], []
    written = 0
    for i, row in enumerate(rows):
        if bad[i]:
            row = list(row)
            row[col[i]] = ("--", "N/A", "1.2K")[i % 3]
            bad_rows.append(written + 1)
        writer.writerow(row)
        written += 1
        if dup[i]:
            writer.writerow(row)
            written += 1
            dup_rows.append(written)
    path.write_bytes(BOM + buf.getvalue().encode("utf-8"))
    log.add_rows(SOURCE, date, rel, "duplicate_row", np.array(dup_rows, dtype=np.int64))
    log.add_rows(SOURCE, date, rel, "non_numeric_metric", np.array(bad_rows, dtype=np.int64))
    return written


# ----------------------------------------------------------------------------- truth
POSTS_TRUTH_FILE = "social_posts.parquet"
AFFINITY_TRUTH_FILE = "social_theme_affinity.parquet"
FORMATS_TRUTH_FILE = "social_format_multipliers.parquet"
AUTHORS_TRUTH_FILE = "social_authors.parquet"
ENGAGEMENTS_TRUTH_FILE = "social_engagements.parquet"


def write_truth(directory: Path, sw: SocialWorld, window: Window, date: dt.date) -> dict[str, int]:
    """The social truth as of the end of `date` (what the export of date + 1 shows):
    posts, persona theme affinities, format multipliers, authors, and per person, platform
    and theme the posts that reached them and their engagements."""
    as_of = window.history_start_ts + (window.day_of(date) + 1) * DAY
    posts = sw.posts.filter(pl.col("publish_ts") < as_of).select(
        "platform", "post_id", "theme", "format", "product",
        pl.from_epoch("publish_ts", time_unit="s").dt.replace_time_zone("UTC")
        .alias("published_at"),
    )  # fmt: skip
    formats = pl.DataFrame({"platform": [FB] * len(FB_FORMATS) + [IG] * len(IG_FORMATS),
                            "format": [*FB_FORMATS, *IG_FORMATS],
                            "multiplier": [FORMAT_MULT[f] for f in (*FB_FORMATS, *IG_FORMATS)]})
    authors = sw.authors.select(
        "platform", "user_id", "username", "name", "person_id",
        pl.from_epoch("follow_ts", time_unit="s").dt.replace_time_zone("UTC")
        .alias("followed_at"),
        "age_band", "gender",
        pl.from_epoch("link_ts", time_unit="s").dt.replace_time_zone("UTC").alias("linked_at"),
    )  # fmt: skip
    theme = sw.posts.select("post_idx", "theme")
    person = sw.authors.filter(pl.col("person_id").is_not_null()).select(
        "author_idx", "person_id", "persona_idx", "platform")
    reached = sw.exposures.filter(pl.col("ts") < as_of).join(theme, on="post_idx").join(
        person, on="author_idx").group_by("person_id", "platform", "theme").agg(
        pl.len().alias("posts_reached"))  # fmt: skip
    ev = sw.events.filter((pl.col("ts") < as_of) & (pl.col("author_idx") >= 0)).join(
        theme, on="post_idx").join(person.drop("platform"), on="author_idx")
    eng = ev.group_by("person_id", "platform", "theme").agg(
        pl.col("post_idx").filter(pl.col("follower")).n_unique().alias("engaged_posts"),
        *(pl.col("kind").is_in(list(k)).sum().alias(name) for name, k in (
            ("reactions", ("reaction", "like")), ("comments", ("comment",)),
            ("shares", ("share",)), ("saves", ("save",)),
            ("clicks", ("link_click", "other_click")))),
    )  # fmt: skip
    persona = sw.authors.filter(pl.col("person_id").is_not_null()).select(
        "person_id", "persona_idx").unique()
    engagements = reached.join(eng, on=["person_id", "platform", "theme"], how="full",
                               coalesce=True).fill_null(0).join(
        persona, on="person_id", how="left").with_columns(
        persona=pl.col("persona_idx").replace_strict(dict(enumerate(sw.personas)),
                                                     return_dtype=pl.String)
    ).drop("persona_idx").sort("person_id", "platform", "theme")
    tables = {
        POSTS_TRUTH_FILE: posts, AFFINITY_TRUTH_FILE: sw.affinity, FORMATS_TRUTH_FILE: formats,
        AUTHORS_TRUTH_FILE: authors, ENGAGEMENTS_TRUTH_FILE: engagements,
    }
    for file, frame in tables.items():
        frame.write_parquet(directory / file)
    return {f"truth_{file.removesuffix('.parquet')}": frame.height
            for file, frame in tables.items()}
