"""What each source's export files look like: which files belong to which raw table, and the
columns the pipeline relies on (required ones, and the type each must parse as).

Only the columns listed here are checked; every other column in a file is loaded as text, so
a vendor adding a column never breaks a load.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A column the pipeline reads. `kind` is how its text must parse: text, integer, decimal,
    timestamp (ISO 8601, with or without offset) or a strptime `fmt` for vendor formats.
    `rule` is a condition a filled value must also meet, as SQL over `{}` (the trimmed text),
    and the reason a row that breaks it is quarantined with."""

    name: str
    kind: str = "text"
    required: bool = False
    fmt: str | None = None
    rule: tuple[str, str] | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One kind of export file and the raw table it loads into.

    CSV files are stored as text, column by column. NDJSON and Parquet files are stored typed,
    with `structure` giving the DuckDB type of each top-level field (nested records stay
    structs and lists of structs); a field the structure does not know is kept as JSON.
    `replace_by` names a column that partitions the data (a GA4 event day): a file replaces
    the rows that earlier export folders delivered for the partitions it contains, so a day
    rewritten with late events, or restated, is never counted twice.
    """

    source: str
    entity: str
    patterns: tuple[str, ...]
    columns: tuple[Column, ...]
    file_format: str = "csv"
    # Groups of columns of which each row must fill at least one (e.g. customer id or email).
    required_any: tuple[tuple[str, ...], ...] = ()
    structure: tuple[tuple[str, str], ...] = ()
    replace_by: str | None = None

    @property
    def table(self) -> str:
        return f"raw.{self.source}__{self.entity}"

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), p) for p in self.patterns)

    def format_of(self, file_name: str) -> str:
        """csv, ndjson or parquet: Parquet is recognised by extension for any JSON source."""
        if self.file_format == "ndjson" and file_name.lower().endswith(".parquet"):
            return "parquet"
        return self.file_format


SHOPIFY_TIME = "%Y-%m-%d %H:%M:%S %z"
MAILCHIMP_TIME = "%Y-%m-%d %H:%M:%S"
HUBSPOT_TIME = "%Y-%m-%d %H:%M"
# Meta Business Suite's content exports: the Page's local time, no offset.
META_SUITE_TIME = "%m/%d/%Y %H:%M"
# The Graph API's times: `2024-10-31T14:05:11+0000`.
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"

# GA4's BigQuery export schema (the fields the product reads; others are kept as JSON).
_GA4_VALUE = (
    "STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE)"
)
GA4_STRUCTURE = (
    ("event_date", "VARCHAR"),
    ("event_timestamp", "BIGINT"),
    ("event_name", "VARCHAR"),
    ("event_params", f"STRUCT(key VARCHAR, value {_GA4_VALUE})[]"),
    ("event_previous_timestamp", "BIGINT"),
    ("event_value_in_usd", "DOUBLE"),
    ("event_bundle_sequence_id", "BIGINT"),
    ("user_id", "VARCHAR"),
    ("user_pseudo_id", "VARCHAR"),
    ("user_properties", f"STRUCT(key VARCHAR, value {_GA4_VALUE})[]"),
    ("user_first_touch_timestamp", "BIGINT"),
    ("device", "STRUCT(category VARCHAR, mobile_brand_name VARCHAR, operating_system VARCHAR, "
               "language VARCHAR, web_info STRUCT(browser VARCHAR, browser_version VARCHAR, "
               "hostname VARCHAR))"),
    ("geo", "STRUCT(continent VARCHAR, country VARCHAR, region VARCHAR, city VARCHAR)"),
    ("traffic_source", "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)"),
    ("collected_traffic_source", "STRUCT(manual_campaign_id VARCHAR, manual_campaign_name "
                                 "VARCHAR, manual_source VARCHAR, manual_medium VARCHAR, "
                                 "manual_term VARCHAR, manual_content VARCHAR, gclid VARCHAR)"),
    ("ecommerce", "STRUCT(total_item_quantity BIGINT, purchase_revenue_in_usd DOUBLE, "
                  "purchase_revenue DOUBLE, refund_value DOUBLE, shipping_value DOUBLE, "
                  "tax_value DOUBLE, unique_items BIGINT, transaction_id VARCHAR)"),
    ("items", "STRUCT(item_id VARCHAR, item_name VARCHAR, item_brand VARCHAR, item_category "
              "VARCHAR, price DOUBLE, quantity BIGINT, item_revenue DOUBLE, coupon VARCHAR)[]"),
    ("platform", "VARCHAR"),
    ("stream_id", "VARCHAR"),
    ("is_active_user", "BOOLEAN"),
    # Read by staging, so declared: a shop without GA4 files still gets the column (empty).
    ("privacy_info", "JSON"),
)

CAPI_STRUCTURE = (
    ("event_name", "VARCHAR"),
    ("event_time", "BIGINT"),
    ("event_id", "VARCHAR"),
    ("action_source", "VARCHAR"),
    ("event_source_url", "VARCHAR"),
    ("user_data", "STRUCT(em VARCHAR, ph VARCHAR, fn VARCHAR, ln VARCHAR, ct VARCHAR, "
                  "st VARCHAR, zp VARCHAR, country VARCHAR, external_id VARCHAR, fbp VARCHAR, "
                  "fbc VARCHAR, client_ip_address VARCHAR, client_user_agent VARCHAR)"),
    ("custom_data", "STRUCT(value DOUBLE, currency VARCHAR, content_ids VARCHAR[], "
                    "contents STRUCT(id VARCHAR, quantity BIGINT, item_price DOUBLE)[], "
                    "order_id VARCHAR)"),
    # Read by staging, so declared: a shop without Pixel events still gets the column (empty).
    ("data_processing_options", "JSON"),
)

# Insights metrics arrive as strings; raw keeps them as text and staging casts them.
_ACTIONS = "STRUCT(action_type VARCHAR, value VARCHAR)[]"
META_ADS_STRUCTURE = (
    *((name, "VARCHAR") for name in (
        "date_start", "date_stop", "account_id", "account_currency", "campaign_id",
        "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "objective",
        "impressions", "reach", "frequency", "clicks", "inline_link_clicks", "spend", "cpc",
        "cpm", "ctr", "attribution_setting")),
    ("actions", _ACTIONS),
    ("action_values", _ACTIONS),
)

# The same Insights broken down with breakdowns=publisher_platform,platform_position.
META_ADS_PLACEMENT_STRUCTURE = (
    *META_ADS_STRUCTURE,
    ("publisher_platform", "VARCHAR"),
    ("platform_position", "VARCHAR"),
)
# The Marketing API's ads edge with the ad's creative (fields=id,name,...,creative{...}).
META_ADS_CREATIVE_STRUCTURE = (
    *((name, "VARCHAR") for name in (
        "id", "name", "adset_id", "campaign_id", "status", "effective_status",
        "created_time", "updated_time")),
    ("creative", "STRUCT(id VARCHAR, name VARCHAR, title VARCHAR, body VARCHAR, "
                 "call_to_action_type VARCHAR, object_type VARCHAR, link_url VARCHAR, "
                 "image_url VARCHAR, thumbnail_url VARCHAR)"),
)  # fmt: skip

# Graph API objects as a connector dumps them (comments, reactions, messages, audience); a
# comment or message the shop's inbox linked to a customer carries `customer`.
_GRAPH_CUSTOMER = ("customer", "STRUCT(email VARCHAR, hubspot_record_id VARCHAR)")
SOCIAL_COMMENTS_STRUCTURE = (
    ("platform", "VARCHAR"),
    ("id", "VARCHAR"),
    ("post_id", "VARCHAR"),  # Facebook: `<page id>_<post id>`
    ("media", "STRUCT(id VARCHAR)"),  # Instagram: the media id
    ("message", "VARCHAR"),  # Facebook's text
    ("text", "VARCHAR"),  # Instagram's text
    ("created_time", "VARCHAR"),  # Facebook's time
    ("timestamp", "VARCHAR"),  # Instagram's time
    ("username", "VARCHAR"),
    ("from", "STRUCT(id VARCHAR, name VARCHAR, username VARCHAR)"),
    ("like_count", "BIGINT"),
    ("parent", "STRUCT(id VARCHAR)"),
    _GRAPH_CUSTOMER,
)
SOCIAL_REACTIONS_STRUCTURE = (
    ("post_id", "VARCHAR"),
    ("id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("type", "VARCHAR"),
    ("created_time", "VARCHAR"),  # stamped by the connector: the API gives none
)
SOCIAL_MESSAGES_STRUCTURE = (
    ("platform", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("id", "VARCHAR"),
    ("created_time", "VARCHAR"),
    ("from", "STRUCT(id VARCHAR, name VARCHAR, username VARCHAR, email VARCHAR)"),
    ("message", "VARCHAR"),
    _GRAPH_CUSTOMER,
)
# Facebook's page_fans_* metrics give a {segment: followers} object per day; Instagram's
# follower_demographics one breakdown per line.
SOCIAL_AUDIENCE_STRUCTURE = (
    ("platform", "VARCHAR"),
    ("name", "VARCHAR"),
    ("period", "VARCHAR"),
    ("breakdown", "VARCHAR"),
    ("id", "VARCHAR"),
    ("values", "STRUCT(value JSON, end_time VARCHAR)[]"),
    ("total_value", "STRUCT(breakdowns STRUCT(dimension_keys VARCHAR[], results "
                    "STRUCT(dimension_values VARCHAR[], value BIGINT)[])[])"),
)


def _ndjson(name: str) -> tuple[str, ...]:
    return tuple(f"{name}*{ext}" for ext in (".ndjson", ".json", ".ndjson.gz", ".json.gz"))


def _counts(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "integer") for name in names)


SOURCES: dict[str, tuple[EntitySpec, ...]] = {
    "shop": (
        EntitySpec(
            source="shop",
            entity="customers",
            patterns=("customers_export*.csv",),
            columns=(
                Column("Customer ID", "integer", required=True),
                Column("Email"),
                Column("First Name"),
                Column("Last Name"),
                Column("Accepts Email Marketing"),
                # The street line: matching a person's records when their email differs.
                Column("Default Address Address1"),
                Column("Default Address City"),
                Column("Default Address Province Code"),
                Column("Default Address Country Code"),
                Column("Default Address Zip"),
                Column("Default Address Phone"),
                Column("Phone"),
                Column("Total Spent", "decimal"),
                Column("Total Orders", "integer"),
            ),
        ),
        EntitySpec(
            source="shop",
            entity="orders",
            patterns=("orders_export*.csv",),
            # Order-level fields are filled on an order's first line only, so only the line
            # fields and the order name are required on every row.
            columns=(
                Column("Name", required=True),
                Column("Lineitem quantity", "integer", required=True),
                Column("Lineitem price", "decimal", required=True),
                Column("Lineitem sku"),
                Column("Lineitem name"),
                Column("Email"),
                Column("Financial Status"),
                Column("Paid at", "timestamp", fmt=SHOPIFY_TIME),
                Column("Created at", "timestamp", fmt=SHOPIFY_TIME),
                Column("Cancelled at", "timestamp", fmt=SHOPIFY_TIME),
                Column("Currency"),
                Column("Subtotal", "decimal"),
                Column("Shipping", "decimal"),
                Column("Taxes", "decimal"),
                Column("Total", "decimal"),
                Column("Discount Code"),
                Column("Discount Amount", "decimal"),
                Column("Refunded Amount", "decimal"),
                Column("Accepts Marketing"),
                Column("Billing City"),
                Column("Billing Zip"),
                Column("Billing Province"),
                Column("Billing Country"),
                Column("Billing Phone"),
                Column("Phone"),
                Column("Tags"),
                Column("Source"),
                Column("Id"),
                Column("Customer ID"),
            ),
        ),
    ),
    "orders": (
        EntitySpec(
            source="orders",
            entity="orders",
            patterns=("*.csv",),
            # One row per order line. A line gives its total (`amount`) or its unit price
            # (amount = unit_price x quantity), so an invoice-line export maps as it is. An
            # order with neither a customer id nor an email is a guest checkout: it loads, and
            # stays an order with no person behind it. A negative quantity or amount is a
            # return line (staging and int_orders__unioned read it), never a bad row.
            columns=(
                Column("order_id", required=True),
                Column("order_date", "timestamp", required=True),
                Column("amount", "decimal"),
                Column("unit_price", "decimal"),
                Column("quantity", "integer"),
                Column("customer_id"),
                Column("email"),
                Column("currency"),
                Column("product_id"),
                Column("product_name"),
                Column("category"),
                Column("country"),
                Column("status"),
            ),
            required_any=(("amount", "unit_price"),),
        ),
    ),
    # Exchange rates for orders in other currencies than the reporting one: units of the
    # reporting currency per unit of `currency`, in force from `date` until the next rate.
    "fx": (
        EntitySpec(
            source="fx",
            entity="rates",
            patterns=("*.csv",),
            columns=(
                Column("date", "timestamp", required=True, fmt="%Y-%m-%d"),
                Column("currency", required=True,
                       rule=("regexp_full_match({}, '[A-Za-z]{{3}}')",
                             "bad value: currency is not a three-letter ISO code")),
                Column("rate", "decimal", required=True,
                       rule=("try_cast({} as double) > 0", "bad value: rate is not above 0")),
            ),
        ),
    ),
    # A randomised test's results, one row per unit: which experiment and arm, who, and any
    # outcome and covariate columns (kept as text). A newer export of an experiment replaces
    # the rows earlier export folders held for it (outcomes mature after the test).
    "experiments": (
        EntitySpec(
            source="experiments",
            entity="results",
            patterns=("*.csv",),
            columns=(
                Column("experiment", required=True),
                Column("arm", required=True),
                Column("customer_id"),
                Column("email"),
                Column("unit_id"),
            ),
            required_any=(("customer_id", "email", "unit_id"),),
            replace_by="experiment",
        ),
    ),
    "mailchimp": (
        EntitySpec(
            source="mailchimp",
            entity="members",
            patterns=(
                "subscribed*.csv",
                "unsubscribed*.csv",
                "cleaned*.csv",
                "nonsubscribed*.csv",
            ),
            columns=(
                Column("Email Address", required=True),
                Column("First Name"),
                Column("Last Name"),
                Column("Phone Number"),
                Column("CC"),
                Column("TAGS"),
                Column("TIMEZONE"),
                Column("MEMBER_RATING", "integer"),
                Column("OPTIN_TIME", "timestamp", fmt=MAILCHIMP_TIME),
                Column("LAST_CHANGED", "timestamp", fmt=MAILCHIMP_TIME),
                Column("UNSUB_TIME", "timestamp", fmt=MAILCHIMP_TIME),
                Column("CLEAN_TIME", "timestamp", fmt=MAILCHIMP_TIME),
                Column("EUID"),
            ),
        ),
        EntitySpec(
            source="mailchimp",
            entity="campaigns",
            patterns=("campaigns*.csv",),
            columns=(
                Column("campaign_id", required=True),
                Column("campaign_title"),
                Column("subject_line"),
                Column("variant"),
                Column("send_time", "timestamp", required=True, fmt=MAILCHIMP_TIME),
                Column("emails_sent", "integer"),
                Column("list_id"),
            ),
        ),
        EntitySpec(
            source="mailchimp",
            entity="email_activity",
            patterns=("email_activity*.csv",),
            columns=(
                Column("campaign_id", required=True),
                Column("Email Address", required=True),
                Column("action", required=True),
                Column("timestamp", "timestamp", required=True, fmt=MAILCHIMP_TIME),
                Column("url"),
            ),
        ),
    ),
    "hubspot": (
        EntitySpec(
            source="hubspot",
            entity="contacts",
            patterns=("contacts*.csv",),
            columns=(
                Column("Record ID", "integer", required=True),
                Column("First Name"),
                Column("Last Name"),
                Column("Email"),
                # HubSpot's other known addresses of the contact, separated by semicolons.
                Column("Additional email addresses"),
                Column("Phone Number"),
                Column("Mobile Phone Number"),
                Column("Lifecycle Stage"),
                Column("Lead Status"),
                Column("Create Date", "timestamp", fmt=HUBSPOT_TIME),
                Column("Original Source"),
                Column("Became a Customer Date", "timestamp", fmt=HUBSPOT_TIME),
                Column("Associated Deal"),
            ),
        ),
        EntitySpec(
            source="hubspot",
            entity="deals",
            patterns=("deals*.csv",),
            columns=(
                Column("Record ID", "integer", required=True),
                Column("Deal Name"),
                Column("Deal Stage"),
                Column("Amount", "decimal"),
                Column("Close Date", "timestamp", fmt=HUBSPOT_TIME),
                Column("Create Date", "timestamp", fmt=HUBSPOT_TIME),
                Column("Associated Contact IDs"),
            ),
        ),
    ),
    "typeform": (
        EntitySpec(
            source="typeform",
            entity="responses",
            patterns=("*.csv",),
            columns=(
                Column("#", required=True),
                Column("How likely are you to recommend us to a friend?", "integer"),
                Column("What is the main reason for your score?"),
                Column("email"),
                Column("Start Date (UTC)", "timestamp", fmt=MAILCHIMP_TIME),
                Column("Submit Date (UTC)", "timestamp", fmt=MAILCHIMP_TIME),
                Column("Network ID"),
            ),
        ),
    ),
    "ga4": (
        EntitySpec(
            source="ga4",
            entity="events",
            patterns=("events_*.ndjson", "events_*.json", "events_*.ndjson.gz",
                      "events_*.json.gz", "events_*.parquet"),
            file_format="ndjson",
            columns=(
                Column("event_date", required=True),
                Column("event_timestamp", required=True),
                Column("event_name", required=True),
                Column("user_pseudo_id", required=True),
            ),
            structure=GA4_STRUCTURE,
            replace_by="event_date",
        ),
    ),
    "meta_capi": (
        EntitySpec(
            source="meta_capi",
            entity="events",
            patterns=("events_*.ndjson", "events_*.json", "events_*.ndjson.gz",
                      "events_*.json.gz", "events_*.parquet"),
            file_format="ndjson",
            columns=(
                Column("event_name", required=True),
                Column("event_time", required=True),
                Column("event_id", required=True),
            ),
            structure=CAPI_STRUCTURE,
        ),
    ),
    "meta_ads": (
        EntitySpec(
            source="meta_ads",
            entity="insights",
            patterns=("ads_insights_*.ndjson", "ads_insights_*.json",
                      "ads_insights_*.ndjson.gz", "ads_insights_*.json.gz"),
            file_format="ndjson",
            columns=(
                Column("date_start", required=True),
                Column("ad_id", required=True),
                Column("spend", "decimal", required=True),
                Column("impressions", "integer"),
                Column("clicks", "integer"),
            ),
            structure=META_ADS_STRUCTURE,
            # Insights for recent days are restated in later exports: the newest wins.
            replace_by="date_start",
        ),
        EntitySpec(
            source="meta_ads",
            entity="placement_insights",
            patterns=("placement_insights_*.ndjson", "placement_insights_*.json",
                      "placement_insights_*.ndjson.gz", "placement_insights_*.json.gz"),
            file_format="ndjson",
            columns=(
                Column("date_start", required=True),
                Column("ad_id", required=True),
                Column("publisher_platform", required=True),
                Column("platform_position", required=True),
                Column("spend", "decimal", required=True),
                Column("impressions", "integer"),
                Column("clicks", "integer"),
            ),
            structure=META_ADS_PLACEMENT_STRUCTURE,
            replace_by="date_start",
        ),
        EntitySpec(
            source="meta_ads",
            entity="ads",
            patterns=("ad_creatives_*.ndjson", "ad_creatives_*.json",
                      "ad_creatives_*.ndjson.gz", "ad_creatives_*.json.gz"),
            file_format="ndjson",
            columns=(Column("id", required=True),),
            structure=META_ADS_CREATIVE_STRUCTURE,
        ),
    ),
    # Meta Business Suite's content exports (lifetime totals of the posts of the last days,
    # restated daily: a newer file replaces an earlier one's rows of the same posts) and the
    # Graph API's comments, reactions, messages and follower demographics.
    "social": (
        EntitySpec(
            source="social",
            entity="facebook_posts",
            patterns=("facebook_posts*.csv",),
            columns=(
                Column("Post ID", required=True),
                Column("Page ID", required=True),
                Column("Page name"),
                Column("Title"),
                Column("Description"),
                Column("Duration (sec)", "integer"),
                Column("Publish time", "timestamp", required=True, fmt=META_SUITE_TIME),
                Column("Permalink"),
                Column("Post type"),
                *_counts("Views", "Reach", "Reactions, Comments and Shares", "Reactions",
                         "Comments", "Shares", "Total clicks", "Link clicks", "Other clicks",
                         "3-second video views"),
            ),
            replace_by="Post ID",
        ),
        EntitySpec(
            source="social",
            entity="instagram_posts",
            patterns=("instagram_posts*.csv",),
            columns=(
                Column("Post ID", required=True),
                Column("Account ID", required=True),
                Column("Account username"),
                Column("Account name"),
                Column("Description"),
                Column("Duration (sec)", "integer"),
                Column("Publish time", "timestamp", required=True, fmt=META_SUITE_TIME),
                Column("Permalink"),
                Column("Post type"),
                *_counts("Views", "Reach", "Likes", "Shares", "Follows", "Comments", "Saves"),
            ),
            replace_by="Post ID",
        ),
        EntitySpec(
            source="social",
            entity="comments",
            patterns=_ndjson("comments"),
            file_format="ndjson",
            columns=(
                Column("platform", required=True),
                Column("id", required=True),
                Column("created_time", "timestamp", fmt=GRAPH_TIME),
                Column("timestamp", "timestamp", fmt=GRAPH_TIME),
            ),
            structure=SOCIAL_COMMENTS_STRUCTURE,
        ),
        EntitySpec(
            source="social",
            entity="reactions",
            patterns=_ndjson("reactions"),
            file_format="ndjson",
            columns=(
                Column("post_id", required=True),
                Column("id", required=True),
                Column("created_time", "timestamp", fmt=GRAPH_TIME),
            ),
            structure=SOCIAL_REACTIONS_STRUCTURE,
        ),
        EntitySpec(
            source="social",
            entity="messages",
            patterns=_ndjson("messages"),
            file_format="ndjson",
            columns=(
                Column("platform", required=True),
                Column("id", required=True),
                Column("created_time", "timestamp", required=True, fmt=GRAPH_TIME),
            ),
            structure=SOCIAL_MESSAGES_STRUCTURE,
        ),
        EntitySpec(
            source="social",
            entity="audience",
            patterns=_ndjson("audience"),
            file_format="ndjson",
            columns=(Column("platform", required=True), Column("name", required=True)),
            structure=SOCIAL_AUDIENCE_STRUCTURE,
        ),
    ),
}


def spec_for(source: str, file_name: str) -> EntitySpec | None:
    """The entity a file of `source` belongs to, by its name; None when no entity claims it."""
    for spec in SOURCES[source]:
        if spec.matches(file_name):
            return spec
    return None


def source_names() -> list[str]:
    return sorted(SOURCES)
