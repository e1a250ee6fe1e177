"""A customer's local time zone from their address, and event times as local hours.

Marketers plan sends in the customer's local time, and people's habits (when they read mail,
when they shop) only line up across customers in local time. The address gives the zone: the
state or province where a country spans several zones, else the country. A country with several
zones and no state on file gets its most populous zone, which is wrong by an hour or two for some
of them, never by a day.
"""

from __future__ import annotations

import polars as pl

# The zone that covers most of each US state's people.
US_STATES: dict[str, str] = {
    **dict.fromkeys(
        ["CT", "DE", "DC", "FL", "GA", "IN", "KY", "ME", "MD", "MA", "MI", "NH", "NJ", "NY",
         "NC", "OH", "PA", "RI", "SC", "VT", "VA", "WV"],
        "America/New_York",
    ),
    **dict.fromkeys(
        ["AL", "AR", "IL", "IA", "KS", "LA", "MN", "MS", "MO", "NE", "ND", "OK", "SD", "TN",
         "TX", "WI"],
        "America/Chicago",
    ),
    **dict.fromkeys(["CO", "ID", "MT", "NM", "UT", "WY"], "America/Denver"),
    "AZ": "America/Phoenix",
    **dict.fromkeys(["CA", "NV", "OR", "WA"], "America/Los_Angeles"),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
}  # fmt: skip

CA_PROVINCES: dict[str, str] = {
    "ON": "America/Toronto", "QC": "America/Toronto", "BC": "America/Vancouver",
    "AB": "America/Edmonton", "MB": "America/Winnipeg", "SK": "America/Regina",
    "NS": "America/Halifax", "NB": "America/Halifax", "PE": "America/Halifax",
    "NL": "America/St_Johns", "YT": "America/Whitehorse", "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}  # fmt: skip

# One zone per country (the capital's, or the most populous where a country has several).
COUNTRIES: dict[str, str] = {
    "US": "America/Chicago", "CA": "America/Toronto", "MX": "America/Mexico_City",
    "GB": "Europe/London", "IE": "Europe/Dublin", "PT": "Europe/Lisbon", "IS": "Atlantic/Reykjavik",
    "DE": "Europe/Berlin", "FR": "Europe/Paris", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg", "ES": "Europe/Madrid", "IT": "Europe/Rome", "AT": "Europe/Vienna",
    "CH": "Europe/Zurich", "DK": "Europe/Copenhagen", "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo", "FI": "Europe/Helsinki", "PL": "Europe/Warsaw", "CZ": "Europe/Prague",
    "SK": "Europe/Bratislava", "HU": "Europe/Budapest", "SI": "Europe/Ljubljana",
    "HR": "Europe/Zagreb", "RO": "Europe/Bucharest", "BG": "Europe/Sofia", "GR": "Europe/Athens",
    "CY": "Asia/Nicosia", "MT": "Europe/Malta", "EE": "Europe/Tallinn", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "LI": "Europe/Vaduz", "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland", "JP": "Asia/Tokyo",
}  # fmt: skip

EUROPE: frozenset[str] = frozenset(
    c for c, zone in COUNTRIES.items() if zone.startswith("Europe/") or c in ("CY", "IS")
)
NORTH_AMERICA: frozenset[str] = frozenset({"US", "CA", "MX"})

UNKNOWN_ZONE = "UTC"


def time_zone(country_code: str | None, region_code: str | None) -> str:
    """The IANA zone of an address; UTC when the country is unknown."""
    if country_code == "US" and region_code in US_STATES:
        return US_STATES[region_code]
    if country_code == "CA" and region_code in CA_PROVINCES:
        return CA_PROVINCES[region_code]
    return COUNTRIES.get(country_code or "", UNKNOWN_ZONE)


def world_region(country_code: str | None) -> str:
    """north_america, europe, other or unknown: where a customer lives, coarsely."""
    if not country_code:
        return "unknown"
    if country_code in NORTH_AMERICA:
        return "north_america"
    return "europe" if country_code in EUROPE else "other"


def with_time_zone(customers: pl.DataFrame) -> pl.DataFrame:
    """`customers` (customer_key, country_code, region_code) with a `time_zone` column."""
    pairs = customers.select("country_code", "region_code").unique()
    zones = pairs.with_columns(
        time_zone=pl.Series([time_zone(c, r) for c, r in pairs.iter_rows()], dtype=pl.String)
    )
    return customers.join(zones, on=["country_code", "region_code"], how="left", nulls_equal=True)


def local_hour(events: pl.DataFrame, at: str, zones: pl.DataFrame) -> pl.DataFrame:
    """`events` with `local_hour` (float, 0 <= h < 24): the time `at` in the customer's zone.

    `zones` maps customer_key to time_zone. Events of customers without a zone are dropped.
    """
    joined = events.join(zones.select("customer_key", "time_zone"), on="customer_key")
    parts = []
    for (zone,), part in joined.partition_by("time_zone", as_dict=True).items():
        local = pl.col(at).dt.convert_time_zone(zone)
        parts.append(
            part.with_columns(
                local_hour=(
                    local.dt.hour().cast(pl.Float64)
                    + local.dt.minute().cast(pl.Float64) / 60.0
                    + local.dt.second().cast(pl.Float64) / 3600.0
                )
            )
        )
    if not parts:
        return joined.with_columns(local_hour=pl.lit(None, dtype=pl.Float64)).drop("time_zone")
    return pl.concat(parts).drop("time_zone")
