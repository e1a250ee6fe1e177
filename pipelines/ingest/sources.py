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
    timestamp (ISO 8601, with or without offset) or a strptime `fmt` for vendor formats."""

    name: str
    kind: str = "text"
    required: bool = False
    fmt: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One kind of export file and the raw table it loads into."""

    source: str
    entity: str
    patterns: tuple[str, ...]
    columns: tuple[Column, ...]
    file_format: str = "csv"
    # Groups of columns of which each row must fill at least one (e.g. customer id or email).
    required_any: tuple[tuple[str, ...], ...] = ()

    @property
    def table(self) -> str:
        return f"raw.{self.source}__{self.entity}"

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), p) for p in self.patterns)


SHOPIFY_TIME = "%Y-%m-%d %H:%M:%S %z"
MAILCHIMP_TIME = "%Y-%m-%d %H:%M:%S"

SOURCES: dict[str, tuple[EntitySpec, ...]] = {
    "shop": (
        EntitySpec(
            source="shop",
            entity="customers",
            patterns=("customers_export*.csv", "customers*.csv"),
            columns=(
                Column("Customer ID", "integer", required=True),
                Column("Email"),
                Column("First Name"),
                Column("Last Name"),
                Column("Accepts Email Marketing"),
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
            patterns=("orders*.csv",),
            columns=(
                Column("order_id", required=True),
                Column("order_date", "timestamp", required=True),
                Column("amount", "decimal", required=True),
                Column("customer_id"),
                Column("email"),
                Column("currency"),
                Column("product_id"),
                Column("quantity", "integer"),
            ),
            required_any=(("customer_id", "email"),),
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
                Column("MEMBER_RATING", "integer"),
                Column("OPTIN_TIME", "timestamp", fmt=MAILCHIMP_TIME),
                Column("LAST_CHANGED", "timestamp", fmt=MAILCHIMP_TIME),
                Column("UNSUB_TIME", "timestamp", fmt=MAILCHIMP_TIME),
                Column("CLEAN_TIME", "timestamp", fmt=MAILCHIMP_TIME),
            ),
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
