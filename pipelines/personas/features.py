"""Persona features: one row per customer who has ordered, from the marts, as of a date.

What a marketer would describe a customer by: how often, how much and how recently they buy,
whether they use discount codes, what they buy and at what price point, how many units, how they
find the shop and on which device, how much they read email and at what local hour they are
active, whether they engage with the shop on social media, where they live and what they said
in the survey.

The frame keeps the evidence behind each figure, not only the figure: counts of orders, of
discounted orders, of lead items per category, of sessions per channel, and the number of events
behind each average. A customer seen once says little about their habits, one seen fifty times a
lot; the persona model (`mixture.py`) weighs each customer's evidence by how much of it there is,
instead of treating one order's product mix as seriously as fifty orders'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import polars as pl

from pipelines.personas.localtime import local_hour, with_time_zone, world_region

CATEGORY_PREFIX = "lead_items__"
CHANNEL_PREFIX = "sessions__"

# Machine opens (Apple Mail Privacy Protection, link scanners) fetch a campaign within minutes
# of its send, at the sender's hour rather than the reader's: opens this soon after the send are
# no evidence of when the person reads mail. Clicks always are.
MACHINE_OPEN_MINUTES = 60
HOLIDAY_MONTHS = (11, 12)
# The survey and email engagement look back this far.
ENGAGEMENT_DAYS = 365
# A customer's age for the order rate is at least this, so one order yesterday is not a rate of
# 365 a year.
MIN_TENURE_DAYS = 30


@dataclass(frozen=True)
class Inputs:
    """The marts the features come from, as Polars frames (see `tasks.read_inputs`)."""

    customers: pl.DataFrame  # marts.dim_customers
    orders: pl.DataFrame  # marts.fct_orders
    lines: pl.DataFrame  # marts.fct_order_lines
    sessions: pl.DataFrame  # marts.fct_sessions
    email_events: pl.DataFrame  # marts.fct_email_events
    # marts.fct_social_engagements; none for a shop without the social source.
    social: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"customer_key": pl.String, "engagement_type": pl.String,
                "engaged_at": pl.Datetime("us", "UTC")}))


REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_key", "country_code", "region_code", "acquisition_channel",
                  "nps_score", "mailchimp_status", "main_device"),
    "orders": ("customer_key", "ordered_at", "amount", "refunded_amount", "discount_amount",
               "discount_code", "is_cancelled", "is_purchase"),
    "lines": ("order_id", "customer_key", "ordered_at", "line_number", "category", "quantity",
              "line_amount", "is_cancelled", "is_return"),
    "sessions": ("customer_key", "session_started_at", "channel", "device_category"),
    "email_events": ("customer_key", "action", "action_at", "sent_at"),
    "social": ("customer_key", "engagement_type", "engaged_at"),
}  # fmt: skip

# The figures a persona card and its "what sets it apart" list are made of (all numeric, one
# per customer, missing where the customer has no evidence).
PROFILE: dict[str, str] = {
    "orders_per_year": "orders a year",
    "avg_order_value": "average order value",
    "days_since_last_order": "days since the last order",
    "discount_share": "share of orders with a discount",
    "holiday_share": "share of orders in November and December",
    "price_position": "price point (0 cheapest, 1 dearest in the category)",
    "units_per_line": "units per product line",
    "mobile_share": "share of visits on a phone",
    "email_opens_365d": "email opens in the last year",
    "email_clicks_365d": "email clicks in the last year",
    "read_hour": "local hour they read email",
    "shop_hour": "local hour they shop",
    "nps_score": "NPS answer (0-10)",
    "is_social": "engages on social (reacted, commented or wrote to the shop)",
    "is_europe": "lives in Europe",
}


def _utc(column: str) -> pl.Expr:
    # DuckDB names the zone Etc/UTC; Polars compares only identical zones.
    return pl.col(column).dt.convert_time_zone("UTC")


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def slug(value: str) -> str:
    """A column-safe name for a category or channel value ("Mugs & Cups" -> mugs_cups)."""
    out = "".join(c if c.isalnum() else "_" for c in value.lower())
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_")


def _counts(events: pl.DataFrame, key: str, prefix: str, values: list[str]) -> pl.DataFrame:
    """Per customer, how many events have each of `values` in column `key`."""
    return events.group_by("customer_key").agg(
        [(pl.col(key) == v).sum().cast(pl.Int64).alias(f"{prefix}{slug(v)}") for v in values]
    )


def _hours(events: pl.DataFrame, name: str) -> pl.DataFrame:
    """Per customer, the circular mean local hour of their events (`<name>`, 0-24), how many
    events it rests on (`<name>_events`) and their circular spread in hours
    (`<name>_spread`: sqrt(-2 ln R) * 24 / 2pi, R the mean resultant length)."""
    angle = pl.col("local_hour") * (2 * math.pi / 24)
    stats = events.group_by("customer_key").agg(
        s=angle.sin().mean(), c=angle.cos().mean(), n=pl.len().cast(pl.Int64)
    )
    resultant = (pl.col("s") ** 2 + pl.col("c") ** 2).sqrt().clip(1e-9, 1.0)
    return stats.select(
        "customer_key",
        pl.arctan2("s", "c").mul(24 / (2 * math.pi)).mod(24.0).alias(name),
        pl.col("n").alias(f"{name}_events"),
        ((-2 * resultant.log()).sqrt() * (24 / (2 * math.pi))).alias(f"{name}_spread"),
    )


@dataclass(frozen=True)
class _Events:
    end: datetime
    orders: pl.DataFrame
    lines: pl.DataFrame
    sessions: pl.DataFrame
    email: pl.DataFrame
    social: pl.DataFrame
    customers: pl.DataFrame
    zones: pl.DataFrame


def _events(inputs: Inputs, as_of: date) -> _Events:
    """The marts' events up to the end of `as_of`, times in UTC, and customers' time zones."""
    _require(inputs)
    end = _end_of(as_of)
    # Guest checkouts are nobody's; credit notes stay, for revenue (see `build_features`).
    orders = inputs.orders.with_columns(_utc("ordered_at")).filter(
        pl.col("customer_key").is_not_null() & ~pl.col("is_cancelled")
        & (pl.col("ordered_at") <= end)
    )
    lines = inputs.lines.with_columns(_utc("ordered_at")).filter(
        pl.col("customer_key").is_not_null() & ~pl.col("is_cancelled") & ~pl.col("is_return")
        & (pl.col("ordered_at") <= end) & (pl.col("quantity") > 0)
    )
    sessions = inputs.sessions.with_columns(_utc("session_started_at")).filter(
        pl.col("customer_key").is_not_null() & (pl.col("session_started_at") <= end)
    )
    email = inputs.email_events.with_columns(_utc("action_at"), _utc("sent_at")).filter(
        pl.col("customer_key").is_not_null() & (pl.col("action_at") <= end)
    )
    # Reactions, comments and messages of the social accounts identity links to a customer.
    social = inputs.social.with_columns(_utc("engaged_at")).filter(
        pl.col("customer_key").is_not_null() & (pl.col("engaged_at") <= end)
    )
    customers = with_time_zone(inputs.customers.select(*REQUIRED["customers"]))
    return _Events(
        end,
        _in_fixed_order(orders),
        _in_fixed_order(lines),
        _in_fixed_order(sessions),
        _in_fixed_order(email),
        _in_fixed_order(social),
        customers,
        customers.select("customer_key", "time_zone"),
    )


def _in_fixed_order(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` sorted by all its columns. A table's rows come back from DuckDB in the order its
    last build happened to write them, and float sums and means depend on the order they add
    in: unsorted, the same rows gave a customer a price point of 0.4 on one build and
    0.3999999999999999 on the next, which moved them across the third that "budget" names.
    Sorted by every column, rows that tie are equal, so the sums repeat to the last bit."""
    return frame.sort(frame.columns, nulls_last=True)


def _human_read() -> pl.Expr:
    """Email events a person made: clicks, and opens not too soon after the send."""
    return (pl.col("action") == "click") | (
        (pl.col("action") == "open")
        & (
            pl.col("sent_at").is_null()
            | ((pl.col("action_at") - pl.col("sent_at")).dt.total_minutes() >= MACHINE_OPEN_MINUTES)
        )
    )


def email_reads(inputs: Inputs, as_of: date) -> pl.DataFrame:
    """Every email open or click a person made (machine opens left out) up to the end of
    `as_of`: customer_key and `local_hour` in the customer's time zone."""
    events = _events(inputs, as_of)
    reads = events.email.filter(_human_read())
    return local_hour(reads, "action_at", events.zones).select("customer_key", "local_hour")


def build_features(inputs: Inputs, as_of: date) -> pl.DataFrame:
    """One row per customer with at least one (not cancelled) order by the end of `as_of`,
    sorted by customer_key.

    Columns: counts (`orders`, `discounted_orders`, `holiday_orders`, `lead_items`,
    `lead_items__<category>`, `sessions`, `mobile_sessions`, `sessions__<channel>`),
    averages with the number of events behind them (`price_position` over `lead_items`,
    `units_per_line` and `log_units_per_line` over `lines`, `read_hour` and `shop_hour` with
    `_events` and `_spread`), `net_revenue` (order totals less refunds), plain figures
    (`log_orders_per_year`, `log_avg_order_value`, `log_days_since_last_order`,
    `log_email_opens_365d`, `log_email_clicks_365d`, `nps_score`), `social_engagements`
    (reactions, comments and messages of the customer's linked social accounts), the
    categories `world_region`, `acquisition_channel` and `social_engager` (yes when they ever
    engaged on social, else no), and the PROFILE figures. Missing evidence stays
    null (no email events: no read hour).

    Only events up to the end of `as_of` count, so a rerun for a past date gives the same rows.
    Raises ValueError when a mart lacks a column the features need.
    """
    events = _events(inputs, as_of)
    end = events.end
    orders, lines, sessions, email = events.orders, events.lines, events.sessions, events.email
    customers, zones = events.customers, events.zones

    # Revenue counts credit notes (what was given back); only purchases are orders.
    bought = pl.col("is_purchase")
    order_stats = orders.group_by("customer_key").agg(
        orders=bought.sum().cast(pl.Int64),
        first_order_at=pl.col("ordered_at").filter(bought).min(),
        last_order_at=pl.col("ordered_at").filter(bought).max(),
        revenue=(pl.col("amount") - pl.col("refunded_amount")).cast(pl.Float64).sum(),
        discounted_orders=(bought & ((pl.col("discount_amount") > 0)
                                     | pl.col("discount_code").is_not_null()))
        .sum()
        .cast(pl.Int64),
        holiday_orders=(bought & pl.col("ordered_at").dt.month().is_in(HOLIDAY_MONTHS))
        .sum().cast(pl.Int64),
    ).filter(pl.col("orders") > 0)
    tenure_days = ((pl.lit(end) - pl.col("first_order_at")).dt.total_seconds() / 86400).clip(
        MIN_TENURE_DAYS
    )
    span_days = (pl.col("last_order_at") - pl.col("first_order_at")).dt.total_seconds() / 86400
    base = order_stats.select(
        "customer_key",
        "orders",
        "discounted_orders",
        "holiday_orders",
        net_revenue=pl.col("revenue"),
        order_gaps=pl.col("orders") - 1,
        # Cadence while active: the mean gap between orders, which a customer who has since
        # lapsed keeps (the yearly rate falls as soon as they stop).
        days_between_orders=pl.when(pl.col("orders") > 1).then(
            (span_days / (pl.col("orders") - 1)).clip(1.0)
        ),
        orders_per_year=pl.col("orders") * 365.0 / tenure_days,
        avg_order_value=pl.col("revenue").clip(0) / pl.col("orders"),
        days_since_last_order=(
            (pl.lit(end) - pl.col("last_order_at")).dt.total_seconds() / 86400
        ).clip(0),
    )

    # The basket's lead item is what the customer came for; later lines are add-ons, often
    # suggested by the shop, so the product mix and the price point are read from lead items.
    # Price point: where the unit price sits between the category's cheapest and dearest.
    unit_price = pl.col("line_amount").cast(pl.Float64) / pl.col("quantity")
    bounds = lines.group_by("category").agg(low=unit_price.min(), high=unit_price.max())
    lead = lines.filter(pl.col("line_number") == pl.col("line_number").min().over("order_id"))
    lead_stats = (
        lead.join(bounds, on="category", how="left")
        .with_columns(
            position=pl.when(pl.col("high") > pl.col("low"))
            .then((unit_price - pl.col("low")) / (pl.col("high") - pl.col("low")))
            .otherwise(0.5)
        )
        .group_by("customer_key")
        .agg(price_position=pl.col("position").mean(), lead_items=pl.len().cast(pl.Int64))
    )
    # Units per line run from one to thousands where a shop sells to trade as well as to
    # people: the model reads the mean of their logs, so a wholesaler is one kind of customer
    # rather than a tail that every extra persona carves up.
    units = lines.group_by("customer_key").agg(
        units_per_line=pl.col("quantity").cast(pl.Float64).mean(),
        log_units_per_line=pl.col("quantity").cast(pl.Float64).log().mean(),
        lines=pl.len().cast(pl.Int64),
    )
    categories = sorted(lead.get_column("category").drop_nulls().unique().to_list())
    category_counts = _counts(lead, "category", CATEGORY_PREFIX, categories)

    channels = sorted(sessions.get_column("channel").drop_nulls().unique().to_list())
    channel_counts = _counts(sessions, "channel", CHANNEL_PREFIX, channels)
    device = sessions.group_by("customer_key").agg(
        sessions=pl.len().cast(pl.Int64),
        mobile_sessions=(pl.col("device_category") == "mobile").sum().cast(pl.Int64),
    )

    recent = email.filter((end - pl.col("action_at")).dt.total_days() < ENGAGEMENT_DAYS)
    engagement = recent.group_by("customer_key").agg(
        email_opens_365d=(pl.col("action") == "open").sum().cast(pl.Int64),
        email_clicks_365d=(pl.col("action") == "click").sum().cast(pl.Int64),
    )
    human = _human_read()
    reads = local_hour(email.filter(human), "action_at", zones)
    read_hour = _hours(reads, "read_hour")
    reading = email.group_by("customer_key").agg(
        email_reads=human.sum().cast(pl.Int64),
        email_clicks=(pl.col("action") == "click").sum().cast(pl.Int64),
    )
    shop_events = pl.concat(
        [
            orders.select("customer_key", at="ordered_at"),
            sessions.select("customer_key", at="session_started_at"),
        ]
    )
    shop_events = local_hour(shop_events, "at", zones)
    shop_hour = _hours(shop_events, "shop_hour")
    social = events.social.group_by("customer_key").agg(
        social_engagements=pl.len().cast(pl.Int64)
    )

    frame = (
        base.join(lead_stats, on="customer_key", how="left")
        .join(units, on="customer_key", how="left")
        .join(category_counts, on="customer_key", how="left")
        .join(device, on="customer_key", how="left")
        .join(channel_counts, on="customer_key", how="left")
        .join(engagement, on="customer_key", how="left")
        .join(read_hour, on="customer_key", how="left")
        .join(reading, on="customer_key", how="left")
        .join(shop_hour, on="customer_key", how="left")
        .join(social, on="customer_key", how="left")
        .join(customers, on="customer_key", how="left")
    )
    counts = [c for c in frame.columns if c.startswith((CATEGORY_PREFIX, CHANNEL_PREFIX))]
    countries = frame.get_column("country_code").drop_nulls().unique().to_list()
    regions = {c: world_region(c) for c in countries}
    zero = [
        "lead_items",
        "lines",
        "sessions",
        "mobile_sessions",
        "email_opens_365d",
        "email_clicks_365d",
        "email_reads",
        "email_clicks",
        "read_hour_events",
        "shop_hour_events",
        "social_engagements",
        *counts,
    ]
    frame = (
        frame.with_columns([pl.col(c).fill_null(0) for c in zero])
        .with_columns(
            world_region=pl.col("country_code").replace_strict(regions, default="unknown"),
            acquisition_channel=pl.col("acquisition_channel").fill_null("unknown"),
            email_status=pl.col("mailchimp_status").fill_null("not_on_list"),
            main_device=pl.col("main_device").fill_null("unknown"),
            social_engager=pl.when(pl.col("social_engagements") > 0)
            .then(pl.lit("yes"))
            .otherwise(pl.lit("no")),
            nps_score=pl.col("nps_score").cast(pl.Float64),
            log_orders_per_year=pl.col("orders_per_year").log1p(),
            log_days_between_orders=pl.col("days_between_orders").log(),
            log_avg_order_value=pl.col("avg_order_value").log1p(),
            log_days_since_last_order=pl.col("days_since_last_order").log1p(),
            log_email_opens_365d=pl.col("email_opens_365d").cast(pl.Float64).log1p(),
            log_email_clicks_365d=pl.col("email_clicks_365d").cast(pl.Float64).log1p(),
            discount_share=pl.col("discounted_orders") / pl.col("orders"),
            holiday_share=pl.col("holiday_orders") / pl.col("orders"),
            mobile_share=pl.when(pl.col("sessions") > 0).then(
                pl.col("mobile_sessions") / pl.col("sessions")
            ),
        )
        .with_columns(
            is_europe=(pl.col("world_region") == "europe").cast(pl.Float64),
            is_social=(pl.col("social_engager") == "yes").cast(pl.Float64),
            email_opens_365d=pl.col("email_opens_365d").cast(pl.Float64),
            email_clicks_365d=pl.col("email_clicks_365d").cast(pl.Float64),
        )
    )
    return frame.drop("country_code", "region_code", "time_zone", "mailchimp_status").sort(
        "customer_key"
    )


def _require(inputs: Inputs) -> None:
    for name, columns in REQUIRED.items():
        frame = getattr(inputs, name)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"persona features: the {name} frame lacks columns {missing}; "
                "is the warehouse built (transform task) for this date?"
            )


def count_columns(frame: pl.DataFrame, prefix: str) -> list[str]:
    """The per-value count columns of a feature frame (CATEGORY_PREFIX or CHANNEL_PREFIX)."""
    return sorted(c for c in frame.columns if c.startswith(prefix))
