"""Formatters for the CSV exports: one function per vendor file, from world tables to the
exact columns the vendor writes. They only select, join, format and sort; every random draw
happened earlier, so a file is a pure function of the world and the export instant.

Numbers are formatted as text here (money from integer cents, times from epoch seconds) so
files are byte-identical across runs and platforms. Writing (and defects) is `defects.Emitter`.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from simulator import identity_noise
from simulator import reference as ref

logger = logging.getLogger(__name__)

SHOPIFY_CUSTOMER_COLUMNS: tuple[str, ...] = (
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
)  # fmt: skip
SHOPIFY_ORDER_COLUMNS: tuple[str, ...] = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country",
    "Notes", "Cancelled at", "Payment Method", "Refunded Amount", "Vendor", "Id", "Tags",
    "Risk Level", "Source", "Phone", "Customer ID",
)  # fmt: skip
# Filled on every row of an order; everything else only on its first row.
SHOPIFY_LINE_COLUMNS: frozenset[str] = frozenset(
    {"Name", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
     "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
     "Lineitem fulfillment status", "Vendor", "Lineitem discount"}
)  # fmt: skip
ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "customer_id", "email", "order_date", "amount", "currency", "product_id",
    "quantity",
)  # fmt: skip
MAILCHIMP_COLUMNS: tuple[str, ...] = (
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
    "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE",
    "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID",
    "NOTES", "TAGS",
)  # fmt: skip
MAILCHIMP_EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "subscribed": (),
    "unsubscribed": ("UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_REASON"),
    "cleaned": ("CLEAN_TIME",),
    "nonsubscribed": (),
}
MAILCHIMP_FILES: dict[str, str] = {
    status: f"{status}_members_export.csv" for status in ref.MAILCHIMP_STATUSES
}
CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id", "campaign_title", "subject_line", "variant", "send_time", "emails_sent",
    "list_id",
)  # fmt: skip
ACTIVITY_COLUMNS: tuple[str, ...] = ("campaign_id", "Email Address", "action", "timestamp", "url")
HUBSPOT_CONTACT_COLUMNS: tuple[str, ...] = (
    "Record ID", "First Name", "Last Name", "Email", "Additional email addresses",
    "Phone Number", "Mobile Phone Number", "Lifecycle Stage", "Lead Status", "Create Date",
    "Original Source", "Became a Customer Date", "Associated Deal",
)  # fmt: skip
HUBSPOT_DEAL_COLUMNS: tuple[str, ...] = (
    "Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Create Date",
    "Associated Contact IDs",
)  # fmt: skip
TYPEFORM_COLUMNS: tuple[str, ...] = (
    "#", ref.NPS_QUESTION, ref.REASON_QUESTION, "email", "Start Date (UTC)", "Submit Date (UTC)",
    "Network ID",
)  # fmt: skip

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
MAILCHIMP_TIME = "%Y-%m-%d %H:%M:%S"
HUBSPOT_TIME = "%Y-%m-%d %H:%M"
SHOPIFY_TIME = "%Y-%m-%d %H:%M:%S %z"
ACTION_NAMES: tuple[str, ...] = ("open", "click", "bounce", "unsubscribe")


def fmt_ts(col: str | pl.Expr, fmt: str) -> pl.Expr:
    """Epoch seconds in `col` as UTC text in strftime `fmt`; null stays null."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.from_epoch(expr, time_unit="s").dt.strftime(fmt)


def fmt_cents(col: str | pl.Expr) -> pl.Expr:
    """Non-negative integer cents in `col` as a decimal with exactly two places."""
    cents = pl.col(col) if isinstance(col, str) else col
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def yes_no(col: str | pl.Expr) -> pl.Expr:
    """A boolean column as Shopify's `yes`/`no`."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.when(expr).then(pl.lit("yes")).otherwise(pl.lit("no"))


def fmt_local(frame: pl.DataFrame, ts_cols: list[str], tz_col: str) -> pl.DataFrame:
    """Replace the epoch-second columns `ts_cols` with Shopify's local time text
    (`2024-03-05 14:22:10 +0100`) in each row's time zone `tz_col`."""
    if frame.is_empty():
        return frame.with_columns(pl.col(c).cast(pl.String) for c in ts_cols)
    indexed = frame.with_row_index("_row")
    parts = []
    for (tz,), part in indexed.partition_by(tz_col, as_dict=True, maintain_order=True).items():
        parts.append(
            part.with_columns(
                pl.from_epoch(pl.col(c), time_unit="s")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(str(tz))
                .dt.strftime(SHOPIFY_TIME)
                .alias(c)
                for c in ts_cols
            )
        )
    return pl.concat(parts).sort("_row").drop("_row")


def _as_of(col: str, as_of: int) -> pl.Expr:
    """`col` when it happened before the export instant `as_of`, else null."""
    return pl.when(pl.col(col) < as_of).then(pl.col(col))


def customer_totals(orders: pl.DataFrame, as_of: int,
                    keys: tuple[str, ...] = ("person_id",)) -> pl.DataFrame:
    """Per person (per `keys`: a noisy world's account, `("person_id", "account2")`) the
    orders placed before `as_of` and what they spent: every order counts, cancelled ones
    spend nothing and refunds made by then are taken off. Returns the keys, past_orders,
    past_spent_cents."""
    return (
        orders.filter(pl.col("ts") < as_of)
        .with_columns(
            net=pl.when((pl.col("cancel_ts") >= 0) & (pl.col("cancel_ts") < as_of))
            .then(0)
            .otherwise(
                pl.col("total")
                - pl.when((pl.col("refund_ts") >= 0) & (pl.col("refund_ts") < as_of))
                .then(pl.col("refund"))
                .otherwise(0)
            )
        )
        .group_by(*keys)
        .agg(
            pl.len().cast(pl.Int64).alias("past_orders"),
            pl.col("net").sum().alias("past_spent_cents"),
        )
    )


def shopify_customers(people: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """The Shopify customer export (`customers_export.csv`) for the accounts in `people`,
    with their `customer_totals` at the export instant (joined on the keys they share:
    person_id, and account2 in a noisy world), sorted by Customer ID. `people` needs the
    derived shop columns and `mc_subscribed` (newsletter status at the export)."""
    keys = [k for k in ("person_id", "account2") if k in totals.columns]
    frame = (
        people.join(totals, on=keys, how="left")
        .with_columns(pl.col("past_orders", "past_spent_cents").fill_null(0))
        .sort(pl.col("shop_customer_id").cast(pl.Int64))
    )
    cities = pl.Series([c.name for c in ref.CITIES])
    provinces = pl.Series([c.province or None for c in ref.CITIES], dtype=pl.String)
    accepts = pl.col("mc_subscribed") ^ pl.col("accepts_flip")
    return frame.select(
        pl.col("shop_customer_id").alias("Customer ID"),
        pl.col("first_name").alias("First Name"),
        pl.col("last_name").alias("Last Name"),
        pl.col("shop_email").alias("Email"),
        yes_no(accepts).alias("Accepts Email Marketing"),
        pl.col("company").alias("Default Address Company"),
        pl.col("address1").alias("Default Address Address1"),
        pl.col("address2").alias("Default Address Address2"),
        pl.lit(cities).gather(pl.col("city_idx")).alias("Default Address City"),
        pl.lit(provinces).gather(pl.col("city_idx")).alias("Default Address Province Code"),
        pl.col("country_code").alias("Default Address Country Code"),
        pl.col("zip_raw").alias("Default Address Zip"),
        pl.col("address_phone").alias("Default Address Phone"),
        pl.col("phone").alias("Phone"),
        yes_no("accepts_sms").alias("Accepts SMS Marketing"),
        fmt_cents("past_spent_cents").alias("Total Spent"),
        pl.col("past_orders").alias("Total Orders"),
        pl.col("note").alias("Note"),
        yes_no("tax_exempt").alias("Tax Exempt"),
        pl.when(pl.col("role") == 4)
        .then(pl.lit("staff, test"))
        .otherwise(pl.col("shop_tags"))
        .alias("Tags"),
    )


def shopify_orders(
    orders: pl.DataFrame,
    lines: pl.DataFrame,
    people: pl.DataFrame,
    as_of: int,
    currency: str,
    added_column: str | None = None,
    after: str | None = None,
) -> pl.DataFrame:
    """The Shopify orders export (`orders_export.csv`) for `orders`, one row per line item,
    statuses as of `as_of`, sorted by order then line. Order-level fields are filled on the
    first row of each order only. `added_column` (inserted after `after`) is the column a
    vendor update adds."""
    catalogue = ref.catalogue()
    names = pl.Series(ref.product_names())
    skus = pl.Series([sku for sku, _, _ in catalogue])
    vendors = pl.Series([ref.VENDORS[i // ref.PRODUCTS_PER_CATEGORY]
                         for i in range(len(catalogue))])  # fmt: skip
    compare = pl.Series([round(p * 1.25 / 100.0) * 100 + 99 if ref.on_sale(i) else None
                         for i, (_, _, p) in enumerate(catalogue)], dtype=pl.Int64)  # fmt: skip
    cities = pl.Series([c.name for c in ref.CITIES])
    provinces = pl.Series([c.province or None for c in ref.CITIES], dtype=pl.String)
    person_cols = people.select(
        "person_id", "shop_email", "second_email", "first_name", "last_name", "address1",
        "zip_raw", "phone", "address_phone", "city_idx", "country_code", "timezone",
        "shop_customer_id", "role",
        *(identity_noise.PERSON_ORDER_COLUMNS if identity_noise.is_noisy(orders) else ()),
    )  # fmt: skip
    o = orders.join(person_cols, on="person_id", how="left", maintain_order="left")
    o = o.with_columns(email=order_email())
    if identity_noise.is_noisy(orders):
        o = identity_noise.order_identity(o)
    o = o.with_columns(
        cancelled=(pl.col("cancel_ts") >= 0) & (pl.col("cancel_ts") < as_of),
        refunded=(pl.col("refund_ts") >= 0) & (pl.col("refund_ts") < as_of),
        paid=(pl.col("paid_ts") >= 0) & (pl.col("paid_ts") < as_of),
        fulfilled=(pl.col("fulfilled_ts") >= 0) & (pl.col("fulfilled_ts") < as_of),
    ).with_columns(
        financial=pl.when(pl.col("cancelled") & pl.col("paid"))
        .then(pl.lit("refunded"))
        .when(pl.col("cancelled"))
        .then(pl.lit("voided"))
        .when(pl.col("refunded") & (pl.col("refund") >= pl.col("total")))
        .then(pl.lit("refunded"))
        .when(pl.col("refunded"))
        .then(pl.lit("partially_refunded"))
        .when(pl.col("paid"))
        .then(pl.lit("paid"))
        .otherwise(pl.lit("pending")),
        refunded_cents=pl.when(pl.col("cancelled") & pl.col("paid"))
        .then(pl.col("total"))
        .when(pl.col("refunded"))
        .then(pl.col("refund"))
        .otherwise(0),
        paid_at=_as_of("paid_ts", as_of),
        fulfilled_at=pl.when(pl.col("fulfilled")).then(pl.col("fulfilled_ts")),
        cancelled_at=pl.when(pl.col("cancelled")).then(pl.col("cancel_ts")),
    )
    o = fmt_local(o, ["ts", "paid_at", "fulfilled_at", "cancelled_at"], "timezone")
    codes = pl.Series([c for c, _ in _codes()])
    methods = pl.Series(ref.SHIPPING_METHODS)
    payments = pl.Series([name for name, _ in ref.PAYMENT_METHODS])
    email_typed = _typed_email(pl.col("email"), pl.col("email_kind"))
    head = o.select(
        "order_idx",
        pl.format("#{}", pl.col("order_idx") + 1001).alias("Name"),
        email_typed.alias("Email"),
        pl.col("financial").alias("Financial Status"),
        pl.col("paid_at").alias("Paid at"),
        pl.when(pl.col("fulfilled")).then(pl.lit("fulfilled")).otherwise(pl.lit("unfulfilled"))
        .alias("Fulfillment Status"),
        pl.col("fulfilled_at").alias("Fulfilled at"),
        yes_no("accepts").alias("Accepts Marketing"),
        pl.lit(currency).alias("Currency"),
        fmt_cents("subtotal").alias("Subtotal"),
        fmt_cents("shipping").alias("Shipping"),
        fmt_cents("tax").alias("Taxes"),
        fmt_cents("total").alias("Total"),
        pl.when(pl.col("code") >= 0).then(pl.lit(codes).gather(pl.col("code").clip(0)))
        .alias("Discount Code"),
        fmt_cents("discount").alias("Discount Amount"),
        pl.lit(methods).gather(pl.col("method")).alias("Shipping Method"),
        pl.col("ts").alias("Created at"),
        pl.format("{} {}", "first_name", "last_name").alias("Billing Name"),
        pl.col("address1").alias("Billing Street"),
        pl.lit(cities).gather(pl.col("city_idx")).alias("Billing City"),
        pl.col("zip_raw").alias("Billing Zip"),
        pl.lit(provinces).gather(pl.col("city_idx")).alias("Billing Province"),
        pl.col("country_code").alias("Billing Country"),
        pl.coalesce("address_phone", "phone").alias("Billing Phone"),
        pl.format("{} {}", "first_name", "last_name").alias("Shipping Name"),
        pl.lit(cities).gather(pl.col("city_idx")).alias("Shipping City"),
        pl.col("zip_raw").alias("Shipping Zip"),
        pl.lit(provinces).gather(pl.col("city_idx")).alias("Shipping Province"),
        pl.col("country_code").alias("Shipping Country"),
        pl.when(pl.col("late")).then(pl.lit("Customer asked about delivery")).alias("Notes"),
        pl.col("cancelled_at").alias("Cancelled at"),
        pl.lit(payments).gather(pl.col("payment")).alias("Payment Method"),
        fmt_cents("refunded_cents").alias("Refunded Amount"),
        pl.col("shopify_id").alias("Id"),
        pl.when(pl.col("test") & (pl.col("order_idx") % 2 == 0))
        .then(pl.lit("test"))
        .when(pl.col("role") == 4)
        .then(pl.lit("staff"))
        .alias("Tags"),
        pl.when(pl.col("total") > 40_000).then(pl.lit("Medium")).otherwise(pl.lit("Low"))
        .alias("Risk Level"),
        pl.when(pl.col("test")).then(pl.lit("shopify_draft_order")).otherwise(pl.lit("web"))
        .alias("Source"),
        pl.col("phone").alias("Phone"),
        pl.col("shop_customer_id").alias("Customer ID"),
    )  # fmt: skip
    ln = lines.join(orders.select("order_idx", "fulfilled_ts"), on="order_idx", how="semi")
    ln = ln.join(o.select("order_idx", "fulfilled"), on="order_idx", how="left").sort(
        "order_idx", "line_no"
    )
    body = ln.select(
        "order_idx",
        "line_no",
        pl.col("quantity").alias("Lineitem quantity"),
        pl.lit(names).gather(pl.col("product_idx")).alias("Lineitem name"),
        fmt_cents("unit_cents").alias("Lineitem price"),
        fmt_cents(pl.lit(compare).gather(pl.col("product_idx"))).alias("Lineitem compare at price"),
        pl.lit(skus).gather(pl.col("product_idx")).alias("Lineitem sku"),
        pl.lit("true").alias("Lineitem requires shipping"),
        pl.lit("true").alias("Lineitem taxable"),
        pl.when(pl.col("fulfilled")).then(pl.lit("fulfilled")).otherwise(pl.lit("pending"))
        .alias("Lineitem fulfillment status"),
        pl.lit(vendors).gather(pl.col("product_idx")).alias("Vendor"),
        fmt_cents(pl.col("unit_cents") * pl.col("quantity") - pl.col("amount_cents"))
        .alias("Lineitem discount"),
    )  # fmt: skip
    joined = body.join(head, on="order_idx", how="left", maintain_order="left")
    first = pl.col("line_no") == 0
    columns = list(SHOPIFY_ORDER_COLUMNS)
    if added_column:
        columns.insert(columns.index(after) + 1 if after in columns else len(columns),
                       added_column)  # fmt: skip
    return joined.select(
        pl.col(c) if c in SHOPIFY_LINE_COLUMNS else pl.when(first).then(pl.col(c)).alias(c)
        for c in columns
    )


def _codes() -> tuple[tuple[str, int], ...]:
    from simulator.engine import CODES

    return CODES


def order_email() -> pl.Expr:
    """The address an order was placed with: the shop account's, or the person's other one
    for orders typed with it (`other_email`)."""
    return pl.when(pl.col("other_email")).then(pl.col("second_email")).otherwise(
        pl.col("shop_email"))


def _typed_email(email: pl.Expr, kind: pl.Expr) -> pl.Expr:
    """The email as typed at checkout: canonical, or (kind 1-5) with other case or spaces."""
    local = email.str.split("@").list.first()
    domain = email.str.split("@").list.last()
    titled = local.str.to_titlecase() + "@" + domain
    return (
        pl.when(kind == 1)
        .then(" " + email)
        .when(kind == 2)
        .then(titled)
        .when(kind == 3)
        .then(email.str.to_uppercase())
        .when(kind == 4)
        .then(email + " ")
        .when(kind == 5)
        .then(titled + " ")
        .otherwise(email)
    )


def generic_orders(
    orders: pl.DataFrame, lines: pl.DataFrame, people: pl.DataFrame, as_of: int, currency: str
) -> pl.DataFrame:
    """The generic orders CSV (`orders.csv`): one row per line of every order not cancelled
    by `as_of`, amounts after discounts, sorted by order then line."""
    skus = pl.Series([sku for sku, _, _ in ref.catalogue()], dtype=pl.String)
    kept = orders.filter(~((pl.col("cancel_ts") >= 0) & (pl.col("cancel_ts") < as_of)))
    noisy = identity_noise.is_noisy(orders)
    frame = (
        lines.join(kept.select("order_idx", "person_id", "ts", "other_email",
                               *(identity_noise.ORDER_COLUMNS if noisy else ())),
                   on="order_idx", how="inner")
        .join(people.select("person_id", "shop_customer_id", "shop_email", "second_email",
                            *(("acct2_email", "acct2_id") if noisy else ())),
              on="person_id", how="left")
        .sort("order_idx", "line_no")
        .with_columns(email=order_email())
    )  # fmt: skip
    if noisy:
        frame = frame.with_columns(
            email=identity_noise.order_email(pl.col("email")),
            shop_customer_id=pl.when("account2").then("acct2_id").otherwise("shop_customer_id"),
        )
    return frame.select(
        (pl.col("order_idx") + 1001).cast(pl.String).alias("order_id"),
        pl.col("shop_customer_id").alias("customer_id"),
        pl.col("email"),
        fmt_ts("ts", ISO_UTC).alias("order_date"),
        fmt_cents("amount_cents").alias("amount"),
        pl.lit(currency).alias("currency"),
        pl.lit(skus).gather(pl.col("product_idx")).alias("product_id"),
        pl.col("quantity"),
    )


def member_status(mc_events: pl.DataFrame, as_of: int) -> pl.DataFrame:
    """Each member's Mailchimp status at `as_of`: person_id, status (index into
    MAILCHIMP_STATUSES), last_changed_ts, unsub_ts, unsub_camp, clean_ts."""
    past = mc_events.filter(pl.col("ts") < as_of)
    return past.group_by("person_id").agg(
        pl.col("status").last(),
        pl.col("ts").last().alias("last_changed_ts"),
        pl.col("ts").filter(pl.col("status") == 1).last().alias("unsub_ts"),
        pl.col("camp_idx").filter(pl.col("status") == 1).last().alias("unsub_camp"),
        pl.col("ts").filter(pl.col("status") == 2).last().alias("clean_ts"),
    )


def mailchimp_members(
    people: pl.DataFrame, status: pl.DataFrame, campaigns: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """The Mailchimp audience export: one frame per status file, each member in exactly one,
    sorted by LEID (signup order). `status` is `member_status` at the export instant."""
    titles = campaigns.select(pl.col("camp_idx").alias("unsub_camp"),
                              pl.col("title").alias("unsub_title"))  # fmt: skip
    members = (
        status.join(people, on="person_id", how="left")
        .join(titles, on="unsub_camp", how="left")
        .sort("leid")
    )
    formatted = members.select(
        pl.col("status"),
        pl.col("email_raw").alias("Email Address"),
        pl.col("mc_first_name").alias("First Name"),
        pl.col("mc_last_name").alias("Last Name"),
        pl.col("address").alias("Address"),
        pl.col("mc_phone").alias("Phone Number"),
        pl.col("birthday").alias("Birthday"),
        pl.col("member_rating").alias("MEMBER_RATING"),
        fmt_ts("optin_ts", MAILCHIMP_TIME).alias("OPTIN_TIME"),
        pl.col("optin_ip").alias("OPTIN_IP"),
        fmt_ts(pl.when(pl.col("confirm_ip").is_not_null())
               .then(pl.col("optin_ts") + pl.col("confirm_delay")), MAILCHIMP_TIME)
        .alias("CONFIRM_TIME"),
        pl.col("confirm_ip").alias("CONFIRM_IP"),
        pl.col("latitude").alias("LATITUDE"),
        pl.col("longitude").alias("LONGITUDE"),
        pl.col("mc_gmtoff").alias("GMTOFF"),
        pl.col("dstoff").alias("DSTOFF"),
        pl.col("mc_timezone").alias("TIMEZONE"),
        pl.col("cc").alias("CC"),
        pl.col("mc_region").alias("REGION"),
        fmt_ts("last_changed_ts", MAILCHIMP_TIME).alias("LAST_CHANGED"),
        pl.col("leid").alias("LEID"),
        pl.col("euid").alias("EUID"),
        pl.col("notes").alias("NOTES"),
        pl.col("mc_tags").alias("TAGS"),
        fmt_ts("unsub_ts", MAILCHIMP_TIME).alias("UNSUB_TIME"),
        pl.col("unsub_title").alias("UNSUB_CAMPAIGN_TITLE"),
        pl.col("unsub_reason").alias("UNSUB_REASON"),
        fmt_ts("clean_ts", MAILCHIMP_TIME).alias("CLEAN_TIME"),
    )  # fmt: skip
    out = {}
    for k, (name, _) in enumerate(MAILCHIMP_FILES.items()):
        columns = MAILCHIMP_COLUMNS + MAILCHIMP_EXTRA_COLUMNS[name]
        out[name] = formatted.filter(pl.col("status") == k).select(columns)
    return out


def campaign_url() -> pl.Expr:
    """Where a campaign's clicks land (from `path` and `title`), with its UTM tags."""
    return pl.format(
        "https://{}{}?utm_source=mailchimp&utm_medium=email&utm_campaign={}",
        pl.lit(ref.SHOP_HOST),
        pl.col("path"),
        pl.col("title").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "-")
        .str.strip_chars("-"),
    )  # fmt: skip


def mailchimp_campaigns(campaigns: pl.DataFrame, list_id: str) -> pl.DataFrame:
    """`campaigns.csv`: one row per send (A/B variants are separate sends), in send order."""
    return campaigns.sort("send_ts", "camp_idx").select(
        pl.col("campaign_id"),
        pl.col("title").alias("campaign_title"),
        pl.col("subject_line"),
        pl.when(pl.col("variant") != "").then(pl.col("variant")).alias("variant"),
        fmt_ts("send_ts", MAILCHIMP_TIME).alias("send_time"),
        pl.col("emails_sent"),
        pl.lit(list_id).alias("list_id"),
    )


def mailchimp_activity(
    activity: pl.DataFrame, people: pl.DataFrame, campaigns: pl.DataFrame
) -> pl.DataFrame:
    """`email_activity.csv`: one row per open, click, bounce or unsubscribe, in time order;
    the email as the member typed it, the landing URL on clicks."""
    camp = campaigns.select("camp_idx", "campaign_id", campaign_url().alias("url"))
    return (
        activity.join(camp, on="camp_idx", how="left", maintain_order="left")
        .join(people.select("person_id", "email_raw"), on="person_id", how="left",
              maintain_order="left")
        .select(
            "campaign_id",
            pl.col("email_raw").alias("Email Address"),
            pl.lit(pl.Series(ACTION_NAMES)).gather(pl.col("action")).alias("action"),
            fmt_ts("ts", MAILCHIMP_TIME).alias("timestamp"),
            pl.when(pl.col("action") == 1).then(pl.col("url")).alias("url"),
        )
    )


def crm_state(crm_events: pl.DataFrame, as_of: int) -> pl.DataFrame:
    """Each HubSpot contact's lifecycle stage and lead status at `as_of`: person_id, stage,
    status (null when none was ever set), customer_ts (when they became a customer)."""
    past = crm_events.filter(pl.col("ts") < as_of)
    return past.group_by("person_id").agg(
        pl.col("stage").last(),
        pl.col("status").filter(pl.col("status") >= 0).last(),
        pl.col("ts").filter(pl.col("stage") == 5).first().alias("customer_ts"),
    )


def hubspot_contacts(
    people: pl.DataFrame, state: pl.DataFrame, deals: pl.DataFrame, as_of: int
) -> pl.DataFrame:
    """`contacts.csv` for the contacts in `people` (HubSpot UI export labels, internal
    enumeration values), sorted by Record ID."""
    deal_ids = (
        deals.filter(pl.col("create_ts") < as_of)
        .group_by("person_id")
        .agg(pl.col("deal_record_id").sort().str.join(";").alias("deal_ids"))
    )
    frame = (
        people.join(state, on="person_id", how="left")
        .join(deal_ids, on="person_id", how="left")
        .sort(pl.col("hubspot_record_id").cast(pl.Int64))
    )
    stages = pl.Series(ref.LIFECYCLE_STAGES)
    statuses = pl.Series(ref.LEAD_STATUSES)
    sources = pl.Series(ref.HUBSPOT_SOURCES)
    return frame.select(
        pl.col("hubspot_record_id").alias("Record ID"),
        pl.col("hs_first_name").alias("First Name"),
        pl.col("hs_last_name").alias("Last Name"),
        pl.col("hs_email").alias("Email"),
        pl.col("hs_additional_emails").alias("Additional email addresses"),
        pl.col("hs_phone").alias("Phone Number"),
        pl.col("hs_mobile").alias("Mobile Phone Number"),
        pl.lit(stages).gather(pl.col("stage").fill_null(0)).alias("Lifecycle Stage"),
        pl.when(pl.col("status").is_not_null())
        .then(pl.lit(statuses).gather(pl.col("status").fill_null(0)))
        .alias("Lead Status"),
        fmt_ts("hs_create_ts", HUBSPOT_TIME).alias("Create Date"),
        pl.lit(sources).gather(pl.col("channel")).alias("Original Source"),
        fmt_ts("customer_ts", HUBSPOT_TIME).alias("Became a Customer Date"),
        pl.col("deal_ids").alias("Associated Deal"),
    )


DEAL_STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("create_ts", "appointmentscheduled"),
    ("qualified_ts", "qualifiedtobuy"),
    ("presentation_ts", "presentationscheduled"),
    ("decision_ts", "decisionmakerboughtin"),
    ("contract_ts", "contractsent"),
)


def hubspot_deals(deals: pl.DataFrame, people: pl.DataFrame, as_of: int) -> pl.DataFrame:
    """`deals.csv`: each deal's stage at `as_of`; open deals show the expected close date."""
    frame = deals.join(
        people.select("person_id", "hubspot_record_id", "last_name", "company"),
        on="person_id",
        how="left",
    ).sort(pl.col("deal_record_id").cast(pl.Int64))
    stage = pl.lit(None, dtype=pl.String)
    for col, name in DEAL_STAGE_COLUMNS:
        stage = pl.when((pl.col(col) >= 0) & (pl.col(col) < as_of)).then(pl.lit(name)).otherwise(
            stage
        )
    closed = pl.col("close_ts") < as_of
    stage = pl.when(closed & pl.col("won")).then(pl.lit("closedwon")).when(closed).then(
        pl.lit("closedlost")
    ).otherwise(stage)
    close = pl.when(closed).then(pl.col("close_ts")).otherwise(pl.col("create_ts") + 30 * 86_400)
    return frame.select(
        pl.col("deal_record_id").alias("Record ID"),
        pl.format("{} - Office coffee program",
                  pl.coalesce(pl.col("company"), pl.col("last_name"))).alias("Deal Name"),
        stage.alias("Deal Stage"),
        fmt_cents("amount_cents").alias("Amount"),
        fmt_ts(close, HUBSPOT_TIME).alias("Close Date"),
        fmt_ts("create_ts", HUBSPOT_TIME).alias("Create Date"),
        pl.col("hubspot_record_id").alias("Associated Contact IDs"),
    )  # fmt: skip


def typeform_responses(surveys: pl.DataFrame, people: pl.DataFrame, key: int) -> pl.DataFrame:
    """`responses.csv` of the NPS survey, in submit order: a response token, the score, the
    comment (by topic and score band; some left blank), the hidden email field."""
    from simulator.defects import hash_int

    band = pl.when(pl.col("score") >= 9).then(pl.lit("promoter")).when(
        pl.col("score") >= 7).then(pl.lit("passive")).otherwise(pl.lit("detractor"))  # fmt: skip
    keys = list(ref.NPS_COMMENTS)
    flat = [c for k in keys for c in ref.NPS_COMMENTS[k]]
    offsets, counts = [], []
    for k in keys:
        offsets.append(sum(counts))
        counts.append(len(ref.NPS_COMMENTS[k]))
    lookup = pl.DataFrame({"topic_name": [k[0] for k in keys], "band": [k[1] for k in keys],
                           "offset": offsets, "count": counts})  # fmt: skip
    topics = pl.Series(ref.NPS_TOPICS)
    frame = (
        surveys.with_columns(band.alias("band"),
                             pl.lit(topics).gather(pl.col("topic")).alias("topic_name"))
        .join(lookup, on=["topic_name", "band"], how="left", maintain_order="left")
        .join(people.select("person_id", pl.col("shop_email").alias("email")), on="person_id",
              how="left", maintain_order="left")
    )  # fmt: skip
    uid = frame["order_idx"].to_numpy()
    token = _hex(hash_int(key, uid, 1 << 60, 11), 15) + _hex(hash_int(key, uid, 1 << 60, 12), 15)
    network = _hex(hash_int(key, uid, 1 << 40, 13), 10)
    return frame.with_columns(token=token, network=network).select(
        pl.col("token").alias("#"),
        pl.col("score").alias(ref.NPS_QUESTION),
        pl.when(pl.col("has_comment"))
        .then(pl.lit(pl.Series(flat)).gather(pl.col("offset") + pl.col("pick") % pl.col("count")))
        .alias(ref.REASON_QUESTION),
        pl.col("email"),
        fmt_ts("start_ts", MAILCHIMP_TIME).alias("Start Date (UTC)"),
        fmt_ts("submit_ts", MAILCHIMP_TIME).alias("Submit Date (UTC)"),
        pl.col("network").alias("Network ID"),
    )


def _hex(values: np.ndarray, width: int) -> pl.Series:
    from simulator.population import hex_digits

    return hex_digits(values, width)
