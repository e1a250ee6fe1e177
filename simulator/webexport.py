"""NDJSON builders for the web and ad sources: the GA4 BigQuery export, Conversions API
payloads and Meta Ads Insights rows.

Sessions from the play-out are expanded into events here. Every per-event detail (timings,
engagement, click ids, which late events arrive when) is a hash of the session id, so a day
comes out the same whether it is written in the backfill or as a continued day. JSON is
assembled as text with Polars string expressions: key order is the vendor's, null fields are
left out as BigQuery's JSON export does, and INT64 values are strings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.creative import creatives, split_placements
from simulator.defects import hash_int, hash_uniform, stable_key
from simulator.engine import BROWSE, LEAD_FORM, PURCHASE, SIGNUP
from simulator.population import DAY

logger = logging.getLogger(__name__)

STREAM_ID = "4178654321"
GA4_EVENTS: tuple[str, ...] = (
    "first_visit", "session_start", "page_view", "page_view", "view_item", "add_to_cart",
    "begin_checkout", "purchase", "generate_lead", "sign_up",
)  # fmt: skip
FV, SS, PV, PV2, VI, ATC, BC, PUR, LEAD_EV, SIGN = range(10)
CAPI_EVENTS: tuple[str, ...] = (
    "ViewContent", "AddToCart", "InitiateCheckout", "Purchase", "Lead", "CompleteRegistration",
)  # fmt: skip
CHANNEL_NAMES: tuple[str, ...] = (
    "(organic)", "(not set)", "(direct)", "(referral)", "(not set)", "(not set)",
)  # fmt: skip
REFERRER_URLS: tuple[str, ...] = (
    "https://www.google.com/", "https://l.facebook.com/", "", "", "https://www.google.com/", "",
)  # fmt: skip
MAX_LATE_DAYS = 2  # late events arrive in the next two daily exports (within 72 hours)
# Session columns the event-level part of a GA4 row reads.
GA4_EVENT_COLUMNS: tuple[str, ...] = (
    "row", "session_uid", "ts_session", "session_number", "kind", "channel", "referrer_pick",
    "camp_slug", "campaign_name", "click_id", "checkout_token", "landing_path", "landing_query",
    "slug", "category", "name", "sku", "unit_cents", "total", "tax", "shipping",
    "transaction_id", "ga4_items", "total_qty", "unique_items", "user_block",
)  # fmt: skip


def _jf(template: str, *args: pl.Expr | str) -> pl.Expr:
    """`pl.format` for JSON templates: `{}` is a placeholder, every other brace is literal."""
    parts = template.split("{}")
    escaped = [part.replace("{", "{{").replace("}", "}}") for part in parts]
    return pl.format("{}".join(escaped), *args)


def _q(expr: pl.Expr) -> pl.Expr:
    """A JSON string literal of a text expression (the text needs no escaping)."""
    return _jf('"{}"', expr)


def _param_str(key: str, value: pl.Expr) -> pl.Expr:
    return _jf('{"key":"' + key + '","value":{"string_value":"{}"}}', value)


def _param_int(key: str, value: pl.Expr) -> pl.Expr:
    return _jf('{"key":"' + key + '","value":{"int_value":"{}"}}', value)


def _param_double(key: str, value: pl.Expr) -> pl.Expr:
    return _jf('{"key":"' + key + '","value":{"double_value":{}}}', value)


def _money(cents: pl.Expr) -> pl.Expr:
    """Cents as a JSON number with two decimals (12.99, 5.00)."""
    return _jf("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


@dataclass(frozen=True)
class WebContext:
    """What the builders need besides the sessions: the people (derived columns), devices,
    orders, lines, email campaigns, ads, the seed and how orders are numbered."""

    people: pl.DataFrame
    devices: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    campaigns: pl.DataFrame
    ads: pl.DataFrame
    adsets: pl.DataFrame
    seed: int
    orders_format: str
    currency: str
    dev_start: np.ndarray  # row of each person's first device (index person_id - 1)
    line_order: np.ndarray  # order_idx of each line row (lines are sorted by it)

    @classmethod
    def build(cls, people: pl.DataFrame, devices: pl.DataFrame, orders: pl.DataFrame,
              lines: pl.DataFrame, **kw: object) -> WebContext:  # fmt: skip
        """A context with the row indexes that let a batch gather its people, devices,
        orders and lines by position instead of joining whole tables."""
        counts = np.bincount(devices["person_id"].to_numpy() - 1, minlength=people.height)
        return cls(people=people, devices=devices, orders=orders, lines=lines,
                   dev_start=np.cumsum(counts) - counts,
                   line_order=lines["order_idx"].to_numpy(), **kw)  # type: ignore[arg-type]

    def people_rows(self, person_id: pl.Series, columns: list[str]) -> pl.DataFrame:
        """`columns` of the people with these ids, in the same order (people are stored by
        person_id, 1..n)."""
        return self.people.select(columns).gather(person_id.to_numpy() - 1)

    def device_rows(self, person_id: pl.Series, device_idx: pl.Series,
                    columns: list[str]) -> pl.DataFrame:  # fmt: skip
        """`columns` of these (person_id, device_idx) devices, in the same order."""
        rows = self.dev_start[person_id.to_numpy() - 1] + device_idx.to_numpy()
        return self.devices.select(columns).gather(rows)

    def order_rows(self, order_idx: np.ndarray, columns: list[str]) -> pl.DataFrame:
        """`columns` of these orders (order_idx is the row position)."""
        return self.orders.select(columns).gather(order_idx)

    def line_rows(self, order_idx: np.ndarray) -> pl.DataFrame:
        """All lines of these orders, by order then line."""
        ids = np.unique(order_idx)
        lo = np.searchsorted(self.line_order, ids, side="left")
        hi = np.searchsorted(self.line_order, ids, side="right")
        sizes = hi - lo
        rows = np.repeat(lo - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
        return self.lines.gather(rows)


def late_days(seed: int, session_uid: np.ndarray, rate: float) -> np.ndarray:
    """How many days after the normal export each session's GA4 events arrive: 0 for most,
    1 or 2 for a `rate` share (devices that were offline)."""
    key = stable_key(seed, "ga4-late")
    late = hash_uniform(key, session_uid, 1) < rate
    return np.where(late, 1 + hash_int(key, session_uid, MAX_LATE_DAYS, 2), 0)


def _products() -> pl.DataFrame:
    """Per catalogue product: sku, name, category, slug, unit cents and a GA4 item JSON."""
    cat = ref.catalogue()
    frame = pl.DataFrame(
        {
            "product_idx": np.arange(len(cat), dtype=np.int64),
            "sku": [s for s, _, _ in cat],
            "category": [c for _, c, _ in cat],
            "name": ref.product_names(),
            "slug": [ref.slug(n) for n in ref.product_names()],
            "price": [p for _, _, p in cat],
        }
    )
    return frame


def _session_frame(ctx: WebContext, sessions: pl.DataFrame) -> pl.DataFrame:
    """Sessions joined with everything per-session the events need: cookies, device, geo,
    identity and landing URL pieces."""
    dev = ctx.device_rows(sessions["person_id"], sessions["device_idx"],
                          ["device_type", "adblock", "pseudo_base", "fbp_rand", "ip"])
    people = ctx.people_rows(sessions["person_id"], [
        "city_idx", "country_code", "analytics_consent", "ad_consent", "ad_user_data",
        "ccpa_opt_out", "shop_customer_id", "account_ts", "euid",
    ])  # fmt: skip
    s = pl.concat([sessions, dev, people], how="horizontal")
    key = stable_key(ctx.seed, "web")
    uid = s["session_uid"].to_numpy()
    s = s.with_columns(cookie_ids(ctx.seed))
    s = s.with_columns(
        user_id=pl.when(pl.col("logged_in")).then(pl.col("shop_customer_id")),
        click_id=pl.lit(_token(key, uid, 3, 22)),
        checkout_token=pl.lit(_token(key, uid, 4, 24)),
        micros=pl.lit(pl.Series(hash_int(key, uid, 1_000_000, 5))),
        referrer_pick=pl.lit(pl.Series(hash_int(key, uid, len(ref.REFERRERS), 6))),
        page_pick=pl.lit(pl.Series(hash_int(key, uid, 5, 7))),
    )
    return s


def _device_json(d: tuple[str, str, str, str, str, str, str, float]) -> str:
    """GA4's device record for one DEVICES row; the language is filled in per country."""
    record = {
        "category": d[0], "mobile_brand_name": d[3], "operating_system": d[1],
        "operating_system_version": d[2], "language": "LANG", "is_limited_ad_tracking": "No",
        "web_info": {"browser": d[4], "browser_version": d[5], "hostname": ref.SHOP_HOST},
    }  # fmt: skip
    return json.dumps(record, separators=(",", ":"))


def cookie_ids(seed: int) -> list[pl.Expr]:
    """`user_pseudo_id` and `fbp` of a cookie from person_id, device_idx, gen (cookie
    generation), ft_ts (its first visit), pseudo_base and fbp_rand. A cleared cookie starts
    a new id: new random digits, new first-visit time."""
    base = pl.col("pseudo_base")
    rand = pl.when(pl.col("gen") == 0).then(base).otherwise(
        100_000_000 + (base * 1_103_515_245 + pl.col("gen") * 12_345) % 2_000_000_000
    )
    fbp_rand = pl.when(pl.col("gen") == 0).then(pl.col("fbp_rand")).otherwise(
        1_000_000_000 + (pl.col("fbp_rand") * 48_271 + pl.col("gen") * 7_919) % 8_999_999_999
    )
    # The cookie's creation milliseconds: a fixed function of the cookie, never of a visit.
    ms = ((pl.col("pseudo_base") * 31 + pl.col("gen") * 977 + seed) % 1000).cast(pl.String)
    return [
        _jf("{}.{}", rand, pl.col("ft_ts")).alias("user_pseudo_id"),
        _jf("fb.1.{}{}.{}", pl.col("ft_ts"), ms.str.zfill(3), fbp_rand).alias("fbp"),
    ]


def _token(key: int, uid: np.ndarray, salt: int, width: int) -> pl.Series:
    """Random-looking alphanumeric tokens of `width` characters, one per uid."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    parts = [
        pl.Series(list(alphabet)).gather(hash_int(key, uid, len(alphabet), salt * 100 + k))
        for k in range(width)
    ]
    return pl.select(pl.concat_str(parts)).to_series()


def _landing(ctx: WebContext) -> tuple[pl.Expr, pl.Expr]:
    """The landing page path and its query string (UTM tags, fbclid, gclid). Mailchimp's link
    tracking adds the campaign (mc_cid) and the recipient's unique email id (mc_eid, the
    audience export's EUID) to every link of a campaign."""
    del ctx
    paths = pl.Series([p for p, _ in ref.SITE_PAGES[:5]])
    path = (
        pl.when(pl.col("kind") == LEAD_FORM)
        .then(pl.lit("/pages/wholesale"))
        .when(pl.col("kind") == SIGNUP)
        .then(pl.lit("/account/register"))
        .when(pl.col("camp_path").is_not_null())
        .then(pl.col("camp_path"))
        .when(pl.col("views_item") & (pl.col("page_pick") < 3))
        .then(_jf("/products/{}", pl.col("slug")))
        .otherwise(pl.lit(paths).gather(pl.col("page_pick")))
    )
    query = (
        pl.when((pl.col("channel") == 5) & pl.col("euid").is_not_null())
        .then(_jf("?utm_source=mailchimp&utm_medium=email&utm_campaign={}&mc_cid={}&mc_eid={}",
                  pl.col("camp_slug"), pl.col("mc_cid"), pl.col("euid")))
        .when(pl.col("channel") == 5)
        .then(_jf("?utm_source=mailchimp&utm_medium=email&utm_campaign={}",
                        pl.col("camp_slug")))
        .when(pl.col("channel") == 1)
        .then(_jf("?utm_source=facebook&utm_medium=paid_social&utm_campaign={}"
                        "&utm_content={}&fbclid={}", pl.col("ad_campaign_slug"), pl.col("ad_id"),
                        pl.col("click_id")))
        .when(pl.col("channel") == 4)
        .then(_jf("?gclid={}", pl.col("click_id")))
        .otherwise(pl.lit(""))
    )  # fmt: skip
    return path, query


def _with_context(ctx: WebContext, s: pl.DataFrame) -> pl.DataFrame:
    """Add product, campaign and ad names to the sessions."""
    products = _products().select(
        "product_idx", "sku", "name", "category", "slug", pl.col("price").alias("unit_cents")
    )
    camps = ctx.campaigns.select(
        "camp_idx",
        pl.col("path").alias("camp_path"),
        pl.col("campaign_id").alias("mc_cid"),
        pl.col("title").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "-")
        .str.strip_chars("-").alias("camp_slug"),
    )  # fmt: skip
    ads = ctx.ads.join(ctx.adsets.select("adset_idx", "campaign_name"), on="adset_idx").select(
        "ad_idx",
        "ad_id",
        "campaign_name",
        pl.col("campaign_name").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "-")
        .str.strip_chars("-").alias("ad_campaign_slug"),
    )  # fmt: skip
    return (
        s.join(products, on="product_idx", how="left", maintain_order="left")
        .join(camps, on="camp_idx", how="left", maintain_order="left")
        .join(ads, on="ad_idx", how="left", maintain_order="left")
    )


def _order_items(ctx: WebContext, order_idx: pl.Series) -> pl.DataFrame:
    """Per order: items JSON (GA4 and CAPI shapes), content ids, quantities and totals."""
    products = _products()
    lines = ctx.line_rows(order_idx.to_numpy()).join(
        products, on="product_idx", how="left", maintain_order="left"
    )
    ga4_item = _jf(
        '{"item_id":"{}","item_name":"{}","item_category":"{}","price":{},"quantity":"{}"}',
        "sku", "name", "category", _money(pl.col("unit_cents")), "quantity",
    )  # fmt: skip
    capi_item = _jf(
        '{"id":"{}","quantity":{},"item_price":{}}', "sku", "quantity", _money(pl.col("unit_cents"))
    )
    items = lines.group_by("order_idx", maintain_order=True).agg(
        ga4_item.str.join(",").alias("ga4_items"),
        capi_item.str.join(",").alias("capi_items"),
        _q(pl.col("sku")).str.join(",").alias("content_ids"),
        pl.col("quantity").sum().alias("total_qty"),
        pl.len().alias("unique_items"),
    )
    money = ctx.order_rows(items["order_idx"].to_numpy(),
                           ["total", "tax", "shipping", "shopify_id"])  # fmt: skip
    items = pl.concat([items, money], how="horizontal")
    txn = pl.col("shopify_id") if ctx.orders_format == "shopify" else (
        pl.col("order_idx") + 1001).cast(pl.String)  # fmt: skip
    return items.with_columns(transaction_id=txn)


def ga4_events(ctx: WebContext, sessions: pl.DataFrame) -> pl.DataFrame:
    """GA4 BigQuery export rows for the tracked `sessions` (analytics consent given, no ad
    blocker): returns day, session_uid, ts (microseconds) and `line` (the JSON object),
    sorted by day, time and session."""
    s = _session_frame(ctx, sessions).filter(
        pl.col("analytics_consent") & ~pl.col("adblock").fill_null(False)
    )
    if s.is_empty():
        return pl.DataFrame(schema={"day": pl.Int64, "session_uid": pl.Int64, "ts": pl.Int64,
                                    "line": pl.String})  # fmt: skip
    s = _with_context(ctx, s)
    key = stable_key(ctx.seed, "ga4")
    n = s.height
    kind = s["kind"].to_numpy()
    # How many of each event a session has, in the order they happen.
    counts = np.zeros((n, len(GA4_EVENTS)), dtype=np.int64)
    counts[:, FV] = s["session_number"].to_numpy() == 1
    counts[:, SS] = 1
    counts[:, PV] = 1
    browse = kind == BROWSE
    counts[:, PV2] = np.where(browse, s["n_pages"].to_numpy() - 1, 0)
    counts[:, VI] = s["views_item"].to_numpy() & (s["product_idx"].to_numpy() >= 0)
    counts[:, ATC] = (s["cart"].to_numpy() | (kind == PURCHASE)) & (counts[:, VI] > 0)
    counts[:, BC] = (s["checkout"].to_numpy() & (counts[:, VI] > 0)) | (kind == PURCHASE)
    counts[:, PUR] = kind == PURCHASE
    counts[:, LEAD_EV] = kind == LEAD_FORM
    counts[:, SIGN] = kind == SIGNUP
    per_session = counts.sum(axis=1)
    sess_row = np.repeat(np.arange(n), per_session)
    code = np.concatenate([np.repeat(np.full(n, c), counts[:, c]) for c in range(counts.shape[1])])
    row_for_code = np.concatenate([np.repeat(np.arange(n), counts[:, c])
                                   for c in range(counts.shape[1])])  # fmt: skip
    order = np.lexsort((code, row_for_code))
    code = code[order]
    assert np.array_equal(row_for_code[order], sess_row)
    first_of = np.cumsum(per_session) - per_session
    seq = np.arange(len(code)) - first_of[sess_row]
    uid = s["session_uid"].to_numpy()[sess_row]
    ev_key = uid * 64 + seq
    step = np.where(seq == 0, 0, 2_000_000 + hash_int(key, ev_key, 18_000_000, 1))
    cum = np.cumsum(step)
    offset = cum - cum[first_of[sess_row]]
    start_us = s["ts"].to_numpy()[sess_row] * 1_000_000 + s["micros"].to_numpy()[sess_row]
    ts = start_us + offset
    order_idx = s["order_idx"].to_numpy()
    order_ts = ctx.orders["ts"].to_numpy()[np.maximum(order_idx, 0)]
    order_ts = np.where(order_idx >= 0, order_ts, 0)[sess_row] * 1_000_000 + hash_int(
        key, ev_key, 1_000_000, 3
    )
    ts = np.where(code == PUR, np.maximum(order_ts, ts), ts)
    engagement = 300 + hash_int(key, ev_key, 45_000, 2)

    day = ts // 1_000_000 // DAY
    events = pl.DataFrame(
        {"row": sess_row, "code": code, "seq": seq, "ts": ts, "engagement": engagement,
         "day": day}
    ).with_columns(event_date=pl.from_epoch(pl.col("day") * DAY, time_unit="s")
                   .dt.strftime("%Y%m%d"))  # fmt: skip
    path, query = _landing(ctx)
    s = s.with_columns(landing_path=path, landing_query=query)
    items = _order_items(ctx, s.filter(pl.col("order_idx") >= 0)["order_idx"])
    s = s.join(items.select("order_idx", "ga4_items", "total_qty", "unique_items", "total", "tax",
                            "shipping", "transaction_id"),
               on="order_idx", how="left", maintain_order="left")  # fmt: skip
    s = s.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64)).rename(
        {"ts": "ts_session", "day": "session_day"}
    )
    s = s.with_columns(user_block=_ga4_user_block()).select(GA4_EVENT_COLUMNS)
    e = events.join(s, on="row", how="left", maintain_order="left").with_columns(
        currency=pl.lit(ctx.currency)
    )
    return _ga4_lines(e).sort("day", "ts", "session_uid", "seq").select(
        "day", "session_uid", "ts", "line"
    )


def _ga4_user_block() -> pl.Expr:
    """The part of a GA4 row that is the same for every event of a session, from user_id
    to platform (with the trailing comma): built once per session, not per event."""
    devices = ref.DEVICES
    dev_json = pl.lit(pl.Series([_device_json(d) for d in devices])).gather(pl.col("device_type"))
    dev_json = dev_json.str.replace("LANG", pl.col("country_code").replace_strict(ref.LANGUAGES),
                                    literal=True)  # fmt: skip
    geo = pl.lit(pl.Series([
        json.dumps({"continent": ref.CONTINENTS[c.country],
                    "country": ref.COUNTRY_NAMES[c.country], "region": c.region_name,
                    "city": c.name}, separators=(",", ":"), ensure_ascii=False)
        for c in ref.CITIES
    ])).gather(pl.col("city_idx"))  # fmt: skip
    ft = pl.col("ft_channel")
    ft_src = pl.lit(pl.Series([s for s, _ in ref.CHANNEL_SOURCE])).gather(ft)
    ft_med = pl.lit(pl.Series([m for _, m in ref.CHANNEL_SOURCE])).gather(ft)
    ft_name = pl.lit(pl.Series(CHANNEL_NAMES)).gather(ft)
    traffic = _jf('{"name":"{}","medium":"{}","source":"{}"}', ft_name, ft_med, ft_src)
    privacy = _jf(
        '{"analytics_storage":"Yes","ads_storage":"{}","uses_transient_token":"No"}',
        pl.when(pl.col("ad_consent")).then(pl.lit("Yes")).otherwise(pl.lit("No")),
    )
    user_props = pl.when(pl.col("user_id").is_not_null()).then(
        _jf('[{"key":"customer_type","value":{"string_value":"{}","set_timestamp_micros":"{}"}}]',
                  pl.when(pl.col("kind") == PURCHASE).then(pl.lit("buyer"))
                  .otherwise(pl.lit("registered")), pl.col("ts_session") * 1_000_000)
    ).otherwise(pl.lit("[]"))  # fmt: skip
    user_id = pl.when(pl.col("user_id").is_not_null()).then(
        _jf('"user_id":"{}",', pl.col("user_id"))).otherwise(pl.lit(""))
    return pl.concat_str([
        user_id,
        _jf('"user_pseudo_id":"{}","privacy_info":{},"user_properties":{},'
            '"user_first_touch_timestamp":"{}","device":{},"geo":{},"traffic_source":{},'
            '"stream_id":"' + STREAM_ID + '","platform":"WEB",',
            "user_pseudo_id", privacy, user_props, pl.col("ft_ts") * 1_000_000, dev_json,
            geo, traffic),
    ])  # fmt: skip


def _ga4_lines(e: pl.DataFrame) -> pl.DataFrame:
    """Assemble one GA4 JSON object per event row."""
    code = pl.col("code")
    names = pl.lit(pl.Series(GA4_EVENTS)).gather(code)
    host = f"https://{ref.SHOP_HOST}"
    landing = _jf("{}{}{}", pl.lit(host), pl.col("landing_path"), pl.col("landing_query"))
    page = (
        pl.when(code.is_in([FV, SS, PV]))
        .then(landing)
        .when(code == PV2)
        .then(_jf("{}/collections/{}", pl.lit(host), pl.col("category").str.to_lowercase()
                        .str.replace_all(r"[^a-z0-9]+", "-")))
        .when(code == VI)
        .then(_jf("{}/products/{}", pl.lit(host), pl.col("slug")))
        .when(code == ATC)
        .then(_jf("{}/cart", pl.lit(host)))
        .when(code == BC)
        .then(_jf("{}/checkouts/cn/{}", pl.lit(host), pl.col("checkout_token")))
        .when(code == PUR)
        .then(_jf("{}/checkouts/cn/{}/thank-you", pl.lit(host), pl.col("checkout_token")))
        .otherwise(landing)
    )  # fmt: skip
    titles = dict(ref.SITE_PAGES)
    title = (
        pl.when(code.is_in([VI, ATC]) | (pl.col("landing_path").str.starts_with("/products/")
                                         & code.is_in([FV, SS, PV])))
        .then(_jf("{} | Bright Brew", pl.col("name")))
        .when(code.is_in([BC, PUR]))
        .then(pl.lit("Checkout | Bright Brew"))
        .when(code == PV2)
        .then(pl.format("{} | Bright Brew", pl.col("category")))
        .otherwise(pl.col("landing_path").replace_strict(titles, default="Bright Brew"))
    )  # fmt: skip
    referrer_urls = pl.lit(pl.Series(REFERRER_URLS)).gather(pl.col("channel"))
    referrer = pl.when(pl.col("channel") == 3).then(
        _jf("https://{}/", pl.lit(pl.Series(ref.REFERRERS)).gather(pl.col("referrer_pick")))
    ).otherwise(referrer_urls)
    first_page = code.is_in([SS, PV]) & (pl.col("seq") <= 2)
    src = pl.lit(pl.Series([s for s, _ in ref.CHANNEL_SOURCE])).gather(pl.col("channel"))
    med = pl.lit(pl.Series([m for _, m in ref.CHANNEL_SOURCE])).gather(pl.col("channel"))
    src = pl.when(pl.col("channel") == 3).then(
        pl.lit(pl.Series(ref.REFERRERS)).gather(pl.col("referrer_pick"))).otherwise(src)
    campaign = (
        pl.when(pl.col("channel") == 5).then(pl.col("camp_slug"))
        .when(pl.col("channel") == 1).then(pl.col("campaign_name"))
        .when(pl.col("channel") == 4).then(pl.lit("Brand Search"))
    )  # fmt: skip
    has_source = pl.col("channel") != 2
    ecommerce = code.is_in([VI, ATC, BC, PUR])
    value_cents = pl.when(pl.col("kind") == PURCHASE).then(pl.col("total")).otherwise(
        pl.col("unit_cents"))
    params = pl.concat_str(
        [
            _param_int("ga_session_id", pl.col("ts_session")),
            _param_int("ga_session_number", pl.col("session_number")),
            _param_str("page_location", page),
            _param_str("page_title", title),
            pl.when(first_page & (referrer != "")).then(_param_str("page_referrer", referrer)),
            pl.when(~code.is_in([FV, SS])).then(_param_int("engagement_time_msec",
                                                            pl.col("engagement"))),
            pl.when(code == SS).then(_param_str("session_engaged", pl.lit("1"))),
            pl.when(first_page & has_source).then(_param_str("source", src)),
            pl.when(first_page & has_source).then(_param_str("medium", med)),
            pl.when(first_page & campaign.is_not_null()).then(_param_str("campaign", campaign)),
            pl.when(ecommerce).then(_param_str("currency", pl.col("currency"))),
            pl.when(ecommerce).then(_param_double("value", _money(value_cents))),
            pl.when(code == PUR).then(_param_str("transaction_id", pl.col("transaction_id"))),
            pl.when(code == PUR).then(_param_double("tax", _money(pl.col("tax")))),
            pl.when(code == PUR).then(_param_double("shipping", _money(pl.col("shipping")))),
            pl.when(code == LEAD_EV).then(_param_str("form_id", pl.lit("wholesale-inquiry"))),
            pl.when(code == SIGN).then(_param_str("method", pl.lit("email"))),
        ],
        separator=",",
        ignore_nulls=True,
    )  # fmt: skip
    ecommerce_json = pl.when(code == PUR).then(_jf(
        '"ecommerce":{"total_item_quantity":"{}","purchase_revenue_in_usd":{},'
        '"purchase_revenue":{},"shipping_value_in_usd":{},"shipping_value":{},"tax_value_in_usd":{},'
        '"tax_value":{},"unique_items":"{}","transaction_id":"{}"},',
        "total_qty", _money(pl.col("total")), _money(pl.col("total")),
        _money(pl.col("shipping")), _money(pl.col("shipping")), _money(pl.col("tax")),
        _money(pl.col("tax")), "unique_items", "transaction_id",
    )).otherwise(pl.lit(""))  # fmt: skip
    one_item = _jf(
        '{"item_id":"{}","item_name":"{}","item_category":"{}","price":{},"quantity":"1"}',
        "sku", "name", "category", _money(pl.col("unit_cents")),
    )  # fmt: skip
    items = (
        pl.when(code.is_in([BC, PUR]) & (pl.col("kind") == PURCHASE))
        .then(_jf("[{}]", pl.col("ga4_items")))
        .when(ecommerce)
        .then(_jf("[{}]", one_item))
        .otherwise(pl.lit("[]"))
    )
    tagged = first_page & code.is_in([SS, PV]) & pl.col("channel").is_in([1, 4, 5])
    collected = pl.when(tagged).then(
        pl.concat_str([
            pl.lit(',"collected_traffic_source":{'),
            pl.concat_str([
                _jf('"manual_source":"{}"', src), _jf('"manual_medium":"{}"', med),
                pl.when(campaign.is_not_null()).then(
                    _jf('"manual_campaign_name":"{}"', campaign)),
                pl.when(pl.col("channel") == 4).then(_jf('"gclid":"{}"', pl.col("click_id"))),
            ], separator=",", ignore_nulls=True),
            pl.lit("}"),
        ])
    ).otherwise(pl.lit(""))  # fmt: skip
    line = pl.concat_str([
        _jf('{"event_date":"{}","event_timestamp":"{}","event_name":"{}","event_params":[',
                  pl.col("event_date"), pl.col("ts"), names),
        params,
        pl.lit("],"),
        pl.col("user_block"),
        ecommerce_json,
        _jf('"items":{}', items),
        collected,
        pl.lit(',"is_active_user":true}'),
    ])  # fmt: skip
    return e.with_columns(line=line)


def capi_events(ctx: WebContext, sessions: pl.DataFrame) -> pl.DataFrame:
    """Conversions API server events for `sessions` of people who allowed ad tracking:
    returns day, ts (seconds) and `line` (the JSON payload event), sorted by time."""
    s = _session_frame(ctx, sessions).filter(pl.col("ad_consent"))
    if s.is_empty():
        return pl.DataFrame(schema={"day": pl.Int64, "ts": pl.Int64, "line": pl.String})
    s = _with_context(ctx, s)
    key = stable_key(ctx.seed, "capi")
    n = s.height
    kind = s["kind"].to_numpy()
    views = s["views_item"].to_numpy() & (s["product_idx"].to_numpy() >= 0)
    counts = np.zeros((n, len(CAPI_EVENTS)), dtype=np.int64)
    # ViewContent goes by the browser Pixel only; the server sends the funnel from the cart.
    counts[:, 1] = views & (s["cart"].to_numpy() | (kind == PURCHASE))
    counts[:, 2] = (views & s["checkout"].to_numpy()) | (kind == PURCHASE)
    counts[:, 3] = kind == PURCHASE
    counts[:, 4] = kind == LEAD_FORM
    counts[:, 5] = kind == SIGNUP
    row = np.concatenate([np.repeat(np.arange(n), counts[:, c]) for c in range(counts.shape[1])])
    code = np.concatenate([np.full(counts[:, c].sum(), c) for c in range(counts.shape[1])])
    order = np.lexsort((code, row))
    row, code = row[order], code[order]
    uid = s["session_uid"].to_numpy()[row]
    ev_key = uid * 16 + code
    ts = s["ts"].to_numpy()[row] + 20 + code * 40 + hash_int(key, ev_key, 30, 1)
    events = pl.DataFrame({"row": row, "code": code, "ts_event": ts,
                           "event_id": _hex16(key, ev_key)})  # fmt: skip
    items = _order_items(ctx, s.filter(pl.col("order_idx") >= 0)["order_idx"])
    s = s.join(items.select("order_idx", "capi_items", "content_ids", "total_qty", "total",
                            "transaction_id"), on="order_idx", how="left",
               maintain_order="left")  # fmt: skip
    s = s.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    hashes = ctx.people_rows(s["person_id"], ["h_em", "h_ph", "h_fn", "h_ln", "h_ct", "h_st",
                                              "h_zp", "h_country", "h_external_id"])  # fmt: skip
    s = pl.concat([s, hashes], how="horizontal")
    e = events.join(s, on="row", how="left", maintain_order="left")
    ua = pl.lit(pl.Series([d[6] for d in ref.DEVICES])).gather(pl.col("device_type"))
    known = pl.col("logged_in") | pl.col("kind").is_in([PURCHASE, LEAD_FORM, SIGNUP])
    buyer = pl.col("kind") == PURCHASE

    def hashed(field: str, col: str, when: pl.Expr) -> pl.Expr:
        return pl.when(when & pl.col(col).is_not_null()).then(
            _jf('"' + field + '":"{}"', pl.col(col)))

    user_data = pl.concat_str([
        hashed("em", "h_em", known), hashed("ph", "h_ph", buyer), hashed("fn", "h_fn", known),
        hashed("ln", "h_ln", known), hashed("ct", "h_ct", buyer), hashed("st", "h_st", buyer),
        hashed("zp", "h_zp", buyer), hashed("country", "h_country", known),
        hashed("external_id", "h_external_id",
               known & (pl.col("account_ts") <= pl.col("ts_event"))),
        _jf('"client_ip_address":"{}"', "ip"),
        _jf('"client_user_agent":"{}"', ua),
        pl.when(pl.col("channel") == 1).then(
            _jf('"fbc":"fb.1.{}000.{}"', pl.col("ts"), pl.col("click_id"))),
        _jf('"fbp":"{}"', "fbp"),
    ], separator=",", ignore_nulls=True)  # fmt: skip
    host = f"https://{ref.SHOP_HOST}"
    url = (
        pl.when(pl.col("code") == 0).then(_jf("{}/products/{}", pl.lit(host), "slug"))
        .when(pl.col("code") == 1).then(_jf("{}/cart", pl.lit(host)))
        .when(pl.col("code") == 2).then(_jf("{}/checkouts/cn/{}", pl.lit(host),
                                                  "checkout_token"))
        .when(pl.col("code") == 3).then(_jf("{}/checkouts/cn/{}/thank-you", pl.lit(host),
                                                  "checkout_token"))
        .when(pl.col("code") == 4).then(_jf("{}/pages/wholesale", pl.lit(host)))
        .otherwise(_jf("{}/account/register", pl.lit(host)))
    )  # fmt: skip
    one = _jf('"value":{},"currency":"{}","content_ids":["{}"],"contents":[{"id":"{}",'
                    '"quantity":1,"item_price":{}}],"content_type":"product"',
                    _money(pl.col("unit_cents")), "currency", "sku", "sku",
                    _money(pl.col("unit_cents")))  # fmt: skip
    order = _jf('"value":{},"currency":"{}","content_ids":[{}],"contents":[{}],'
                      '"content_type":"product","num_items":{}',
                      _money(pl.col("total")), "currency", "content_ids", "capi_items",
                      "total_qty")  # fmt: skip
    custom = (
        pl.when(buyer & (pl.col("code") == 3))
        .then(_jf('{{},"order_id":"{}"}', order, "transaction_id"))
        .when(buyer & (pl.col("code") == 2))
        .then(_jf("{{}}", order))
        .when(pl.col("code") <= 2)
        .then(_jf("{{}}", one))
        .when(pl.col("code") == 4)
        .then(pl.lit('{"lead_type":"wholesale"}'))
        .otherwise(pl.lit('{"status":"registered"}'))
    )  # fmt: skip
    names = pl.lit(pl.Series(CAPI_EVENTS)).gather(pl.col("code"))
    ldu = pl.when(pl.col("ccpa_opt_out")).then(pl.lit(
        ',"data_processing_options":["LDU"],"data_processing_options_country":1,'
        '"data_processing_options_state":1000')).otherwise(pl.lit(""))  # fmt: skip
    line = pl.concat_str([
        _jf('{"event_name":"{}","event_time":{},"event_id":"{}","action_source":"website",'
                  '"event_source_url":"{}","user_data":{{}},"custom_data":{}',
                  names, "ts_event", "event_id", url, user_data, custom),
        ldu,
        pl.lit("}"),
    ])  # fmt: skip
    out = e.with_columns(currency=pl.lit(ctx.currency)).with_columns(line=line)
    return out.select(pl.col("ts_event").alias("ts"), "session_uid", "code", "line").with_columns(
        day=(pl.col("ts") // DAY)
    ).sort("ts", "session_uid", "code").select("day", "ts", "line")


def _hex16(key: int, idx: np.ndarray) -> pl.Series:
    from simulator.population import hex_digits

    return hex_digits(hash_int(key, idx, 1 << 62, 9), 16)


def ads_insights(
    ctx: WebContext,
    daily: pl.DataFrame,
    attribution: pl.DataFrame,
    wanted: pl.DataFrame,
    start_ts: int,
) -> pl.DataFrame:
    """Ads Insights rows (daily, ad level) for each (day, version) in `wanted`: the day as
    reported `version` days later. Preliminary versions have slightly fewer impressions and
    fewer of the conversions the 7-day click window still adds. Returns day, version and
    `line` (one JSON object per ad with spend that day), sorted by day, version and ad."""
    frame = _insights_frame(ctx, daily, attribution, wanted, start_ts)
    if frame is None:
        return pl.DataFrame(schema={"day": pl.Int64, "version": pl.Int64, "line": pl.String})
    return _insights_lines(ctx, frame, breakdown=False)


def ads_insights_placements(
    ctx: WebContext,
    daily: pl.DataFrame,
    attribution: pl.DataFrame,
    wanted: pl.DataFrame,
    start_ts: int,
) -> pl.DataFrame:
    """The same Insights rows broken down by `publisher_platform` and `platform_position`:
    each ad-level row split over the placements that delivered it, so the placement rows of
    an ad, day and version add up to its ad-level row. Returns day, version and `line`."""
    frame = _insights_frame(ctx, daily, attribution, wanted, start_ts)
    if frame is None:
        return pl.DataFrame(schema={"day": pl.Int64, "version": pl.Int64, "line": pl.String})
    split = split_placements(ctx.seed, frame)
    return _insights_lines(ctx, split, breakdown=True)


def _insights_frame(
    ctx: WebContext,
    daily: pl.DataFrame,
    attribution: pl.DataFrame,
    wanted: pl.DataFrame,
    start_ts: int,
) -> pl.DataFrame | None:
    """The ad-level figures of each (day, version) in `wanted`, as reported then; None when
    no ad delivered on those days."""
    rows = daily.join(wanted, on="day", how="inner")
    if rows.is_empty():
        return None
    att = (
        attribution.join(wanted, left_on="click_day", right_on="day", how="inner")
        .filter(pl.col("ts") < pl.lit(start_ts) + (pl.col("click_day") + 1 + pl.col("version"))
                * DAY)
        .group_by(pl.col("click_day").alias("day"), "version", "ad_idx")
        .agg(
            (pl.col("kind") == 0).sum().alias("purchases"),
            pl.col("value_cents").filter(pl.col("kind") == 0).sum().alias("purchase_value"),
            (pl.col("kind") == 1).sum().alias("leads"),
        )
    )  # fmt: skip
    key = stable_key(ctx.seed, "ads")
    meta = ctx.ads.join(ctx.adsets, on="adset_idx", how="left")
    frame = (
        rows.join(meta, on="ad_idx", how="left")
        .join(att, on=["day", "version", "ad_idx"], how="left")
        .sort("day", "version", "ad_idx")
    )
    cell = frame["day"].to_numpy() * 1000 + frame["ad_idx"].to_numpy()
    imps = frame["impressions"].to_numpy()
    effect = frame["effect"].to_numpy()
    # View-through: Meta also credits people who saw an ad and bought within a day.
    view = np.floor(imps / 30_000.0 + hash_uniform(key, cell, 1)).astype(np.int64)
    view = np.where(effect == 1, 0, view)
    view_value = view * (3000 + hash_int(key, cell, 4000, 2))
    factor = pl.col("version").replace_strict({0: 0.985, 1: 0.997}, default=1.0,
                                              return_dtype=pl.Float64)  # fmt: skip
    frame = frame.with_columns(
        impressions=(pl.col("impressions") * factor).round().cast(pl.Int64),
        clicks=(pl.col("clicks") * factor).round().cast(pl.Int64),
        link_clicks=(pl.col("link_clicks") * factor).round().cast(pl.Int64),
        spend_cents=(pl.col("spend_cents") * factor).round().cast(pl.Int64),
        purchases=pl.col("purchases").fill_null(0) + pl.Series(view),
        purchase_value=pl.col("purchase_value").fill_null(0) + pl.Series(view_value),
        leads=pl.col("leads").fill_null(0),
        date_text=pl.from_epoch(pl.lit(start_ts) + pl.col("day") * DAY, time_unit="s")
        .dt.strftime("%Y-%m-%d"),
    ).with_columns(reach=pl.min_horizontal(pl.col("reach"), pl.col("impressions")).clip(1))
    landing_views = (pl.col("link_clicks") * 0.82).round().cast(pl.Int64)
    return frame.with_columns(landing_views=landing_views)


def _insights_lines(ctx: WebContext, frame: pl.DataFrame, breakdown: bool) -> pl.DataFrame:
    """One Insights JSON object per row of `frame`; with `breakdown`, the row's placement
    (`publisher_platform`, `platform_position`) ends it, as the API appends breakdowns."""

    def num(expr: pl.Expr, decimals: int) -> pl.Expr:
        return expr.round(decimals).cast(pl.String)

    spend = pl.col("spend_cents") / 100.0
    ratio = {
        "frequency": pl.col("impressions") / pl.col("reach"),
        "cpc": pl.when(pl.col("clicks") > 0).then(spend / pl.col("clicks")),
        "cpm": pl.when(pl.col("impressions") > 0).then(spend / pl.col("impressions") * 1000),
        "ctr": pl.when(pl.col("impressions") > 0).then(pl.col("clicks") / pl.col("impressions")
                                                        * 100),
    }  # fmt: skip

    def action(name: str, col: str) -> pl.Expr:
        return pl.when(pl.col(col) > 0).then(
            _jf('{"action_type":"' + name + '","value":"{}"}', pl.col(col)))

    def action_value(name: str, col: str) -> pl.Expr:
        return pl.when(pl.col(col) > 0).then(
            _jf('{"action_type":"' + name + '","value":"{}"}', _money(pl.col(col))))

    actions = pl.concat_str([
        action("link_click", "link_clicks"), action("landing_page_view", "landing_views"),
        action("lead", "leads"), action("purchase", "purchases"),
        action("offsite_conversion.fb_pixel_purchase", "purchases"),
    ], separator=",", ignore_nulls=True)  # fmt: skip
    values = pl.concat_str([
        action_value("purchase", "purchase_value"),
        action_value("offsite_conversion.fb_pixel_purchase", "purchase_value"),
    ], separator=",", ignore_nulls=True)  # fmt: skip
    optional = pl.concat_str([
        pl.when(ratio["cpc"].is_not_null()).then(_jf(',"cpc":"{}"', num(ratio["cpc"], 6))),
        _jf(',"cpm":"{}"', num(ratio["cpm"], 6)),
        _jf(',"ctr":"{}"', num(ratio["ctr"], 6)),
    ], ignore_nulls=True)  # fmt: skip
    line = pl.concat_str([
        _jf(
            '{"date_start":"{}","date_stop":"{}","account_id":"{}","account_currency":"{}",'
            '"campaign_id":"{}","campaign_name":"{}","adset_id":"{}","adset_name":"{}",'
            '"ad_id":"{}","ad_name":"{}","objective":"{}","impressions":"{}","reach":"{}",'
            '"frequency":"{}","clicks":"{}","inline_link_clicks":"{}","spend":"{}"',
            "date_text", "date_text", pl.lit(ref.AD_ACCOUNT_ID), pl.lit(ctx.currency),
            "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name",
            "objective", "impressions", "reach", num(ratio["frequency"], 6), "clicks",
            "link_clicks", _money(pl.col("spend_cents")),
        ),
        optional,
        _jf(',"actions":[{}],"action_values":[{}],"attribution_setting":"7d_click_1d_view"',
                  actions, values),
        _jf(',"publisher_platform":"{}","platform_position":"{}"', "publisher_platform",
            "platform_position") if breakdown else pl.lit(""),
        pl.lit("}"),
    ])  # fmt: skip
    return frame.select("day", "version", line.alias("line"))


def ad_creatives(ctx: WebContext, daily: pl.DataFrame, day: int, start_ts: int) -> pl.DataFrame:
    """The account's ads on `day` as the Marketing API's ads edge returns them with
    fields=id,name,adset_id,campaign_id,status,effective_status,created_time,creative{...}:
    one JSON object per ad (`line`), ACTIVE when the ad delivered that day, else PAUSED."""
    meta = ctx.ads.join(ctx.adsets.select("adset_idx", "adset_id", "campaign_id"),
                        on="adset_idx").join(creatives(ctx.seed, ctx.ads, ctx.adsets),
                                             on="ad_idx").sort("ad_idx")  # fmt: skip
    active = set(daily.filter(pl.col("day") == day)["ad_idx"].to_list())
    created = f"{dt.datetime.fromtimestamp(start_ts, dt.UTC):%Y-%m-%dT09:00:00+0000}"
    lines = []
    for row in meta.iter_rows(named=True):
        status = "ACTIVE" if row["ad_idx"] in active else "PAUSED"
        lines.append(json.dumps({
            "id": row["ad_id"], "name": row["ad_name"], "adset_id": row["adset_id"],
            "campaign_id": row["campaign_id"], "status": status, "effective_status": status,
            "created_time": created,
            "creative": {
                "id": row["creative_id"], "name": row["creative_name"], "title": row["title"],
                "body": row["body"], "call_to_action_type": row["call_to_action_type"],
                "object_type": row["object_type"], "link_url": row["link_url"],
            },
        }, ensure_ascii=False, separators=(",", ":")))  # fmt: skip
    return pl.DataFrame({"line": lines}, schema={"line": pl.String})
