"""Writers for the vendor export formats the simulation drops into landing: one function per
file format. They only select, rename, format and sort; every random draw happens earlier, so
a writer's output is a pure function of its input frame.

Numbers are formatted as text here (money from integer cents, timestamps from epoch seconds)
so that files are byte-identical across runs and platforms.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from pipelines.simulate import reference as ref

logger = logging.getLogger(__name__)

SHOPIFY_CUSTOMER_COLUMNS: tuple[str, ...] = (
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
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

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
MAILCHIMP_TIME = "%Y-%m-%d %H:%M:%S"


def fmt_ts(col: str, fmt: str) -> pl.Expr:
    """Epoch seconds in `col` as UTC text in strftime `fmt`; null stays null."""
    return pl.from_epoch(pl.col(col), time_unit="s").dt.strftime(fmt)


def fmt_cents(col: str) -> pl.Expr:
    """Non-negative integer cents in `col` as a decimal with exactly two places."""
    cents = pl.col(col)
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def yes_no(col: str) -> pl.Expr:
    """A boolean column as Shopify's `yes`/`no`."""
    return pl.when(pl.col(col)).then(pl.lit("yes")).otherwise(pl.lit("no"))


def write_csv(frame: pl.DataFrame, path: Path) -> int:
    """Write `frame` as UTF-8 CSV with `\\n` line ends, quoting only where needed and nulls
    as empty fields, creating parent folders; returns the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, quote_style="necessary", line_terminator="\n", null_value="")
    logger.debug("wrote %s (%d rows)", path, frame.height)
    return frame.height


def write_shopify_customers(path: Path, customers: pl.DataFrame) -> int:
    """Write a Shopify customer export (`customers_export.csv`), sorted by Customer ID.

    `customers` needs shop_customer_id, first_name, last_name, email, accepts_email, company,
    address1, address2, city, province_code, country_code, zip, address_phone, phone,
    accepts_sms, past_spent_cents, past_orders, note, tax_exempt, shop_tags. Returns rows written.
    """
    frame = customers.sort(pl.col("shop_customer_id").cast(pl.Int64)).select(
        pl.col("shop_customer_id").alias("Customer ID"),
        pl.col("first_name").alias("First Name"),
        pl.col("last_name").alias("Last Name"),
        pl.col("email").alias("Email"),
        yes_no("accepts_email").alias("Accepts Email Marketing"),
        pl.col("company").alias("Default Address Company"),
        pl.col("address1").alias("Default Address Address1"),
        pl.col("address2").alias("Default Address Address2"),
        pl.col("city").alias("Default Address City"),
        pl.col("province_code").alias("Default Address Province Code"),
        pl.col("country_code").alias("Default Address Country Code"),
        pl.col("zip").alias("Default Address Zip"),
        pl.col("address_phone").alias("Default Address Phone"),
        pl.col("phone").alias("Phone"),
        yes_no("accepts_sms").alias("Accepts SMS Marketing"),
        fmt_cents("past_spent_cents").alias("Total Spent"),
        pl.col("past_orders").alias("Total Orders"),
        pl.col("note").alias("Note"),
        yes_no("tax_exempt").alias("Tax Exempt"),
        pl.col("shop_tags").alias("Tags"),
    )
    return write_csv(frame, path)


def write_orders_csv(path: Path, lines: pl.DataFrame, currency: str = "USD") -> int:
    """Write a generic orders CSV, one row per order line, sorted by order then line.

    `lines` needs order_id, line_no, customer_id, email, ts (epoch seconds), amount_cents,
    product_idx (0-based catalogue position) and quantity. Returns rows written.
    """
    skus = pl.Series([sku for sku, _, _ in ref.catalogue()], dtype=pl.String)
    frame = lines.sort("order_id", "line_no").select(
        pl.col("order_id").cast(pl.String),
        pl.col("customer_id"),
        pl.col("email"),
        fmt_ts("ts", ISO_UTC).alias("order_date"),
        fmt_cents("amount_cents").alias("amount"),
        pl.lit(currency).alias("currency"),
        pl.lit(skus).gather(pl.col("product_idx")).alias("product_id"),
        pl.col("quantity"),
    )
    return write_csv(frame, path)


def write_mailchimp_members(directory: Path, members: pl.DataFrame) -> dict[str, int]:
    """Write a Mailchimp audience export: one `<status>_members_export.csv` per status, each
    member in exactly one file, sorted by LEID (signup order).

    `members` needs mc_status, email_raw, mc_first_name, mc_last_name, address, phone,
    birthday, member_rating, optin_ts, optin_ip, confirm_ts, confirm_ip, latitude, longitude,
    gmtoff, dstoff, timezone, cc, region, last_changed_ts, leid, euid, notes, mc_tags, unsub_ts,
    unsub_campaign, unsub_reason, clean_ts. Returns rows written per status.
    """
    formatted = members.sort("leid").select(
        pl.col("mc_status"),
        pl.col("email_raw").alias("Email Address"),
        pl.col("mc_first_name").alias("First Name"),
        pl.col("mc_last_name").alias("Last Name"),
        pl.col("address").alias("Address"),
        pl.col("phone").alias("Phone Number"),
        pl.col("birthday").alias("Birthday"),
        pl.col("member_rating").alias("MEMBER_RATING"),
        fmt_ts("optin_ts", MAILCHIMP_TIME).alias("OPTIN_TIME"),
        pl.col("optin_ip").alias("OPTIN_IP"),
        fmt_ts("confirm_ts", MAILCHIMP_TIME).alias("CONFIRM_TIME"),
        pl.col("confirm_ip").alias("CONFIRM_IP"),
        pl.col("latitude").alias("LATITUDE"),
        pl.col("longitude").alias("LONGITUDE"),
        pl.col("gmtoff").alias("GMTOFF"),
        pl.col("dstoff").alias("DSTOFF"),
        pl.col("timezone").alias("TIMEZONE"),
        pl.col("cc").alias("CC"),
        pl.col("region").alias("REGION"),
        fmt_ts("last_changed_ts", MAILCHIMP_TIME).alias("LAST_CHANGED"),
        pl.col("leid").alias("LEID"),
        pl.col("euid").alias("EUID"),
        pl.col("notes").alias("NOTES"),
        pl.col("mc_tags").alias("TAGS"),
        fmt_ts("unsub_ts", MAILCHIMP_TIME).alias("UNSUB_TIME"),
        pl.col("unsub_campaign").alias("UNSUB_CAMPAIGN_TITLE"),
        pl.col("unsub_reason").alias("UNSUB_REASON"),
        fmt_ts("clean_ts", MAILCHIMP_TIME).alias("CLEAN_TIME"),
    )
    counts: dict[str, int] = {}
    for status, file_name in MAILCHIMP_FILES.items():
        columns = MAILCHIMP_COLUMNS + MAILCHIMP_EXTRA_COLUMNS[status]
        part = formatted.filter(pl.col("mc_status") == status).select(columns)
        counts[status] = write_csv(part, directory / file_name)
    return counts
