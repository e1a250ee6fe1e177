"""Where and when: a product's lift by place (country, then region within it) and month of the
year, learned from the orders alone.

A product's share of the purchases made in a place in a month, over its share of all
purchases, is how much more (or less) it sells there and then: iced drinks in a hot month,
cocoa in a cold one, whichever hemisphere the place is in. Each level is shrunk toward the one
above (region to country, country to the shop's month, the month to the year) with a prior
worth `PRIOR_PURCHASES` purchases, so a place with few orders keeps the shop's pattern. Months
are smoothed with their neighbours (a season spans weeks, not a calendar month).
"""

from __future__ import annotations

import numpy as np
import polars as pl

PRIOR_PURCHASES = 50.0
MONTH_KERNEL = (0.25, 0.5, 0.25)  # previous, same, next month
LIFT_BOUNDS = (0.25, 4.0)  # no place and month makes a product 4x more or less likely
GLOBAL = ""


def place_keys(customers: pl.DataFrame) -> pl.DataFrame:
    """customer_key, country (empty when unknown) and region (`country/region`, or the
    country when the region is unknown)."""
    country = pl.col("country_code").fill_null("").str.to_uppercase()
    region = pl.col("region_code").fill_null("").str.to_uppercase()
    return customers.select(
        "customer_key", country.alias("country"),
        pl.when(region == "").then(country).otherwise(country + "/" + region).alias("region"))


def _month_counts(frame: pl.DataFrame, key: str | None, items: dict[str, int]) -> dict:
    """{place: 12 x items array} of purchases smoothed over neighbouring months."""
    groups = frame.group_by([key, "month"] if key else ["month"]).agg(
        pl.col("item").value_counts().alias("vc"))
    out: dict[str, np.ndarray] = {}
    for row in groups.iter_rows(named=True):
        place = row[key] if key else GLOBAL
        counts = out.setdefault(place, np.zeros((12, len(items))))
        for entry in row["vc"]:
            counts[row["month"] - 1, entry["item"]] += entry["count"]
    kernel = np.array(MONTH_KERNEL)
    for place, counts in out.items():
        out[place] = (kernel[0] * np.roll(counts, 1, axis=0) + kernel[1] * counts
                      + kernel[2] * np.roll(counts, -1, axis=0))
    return out


def _shrunk(counts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Shares per month shrunk toward `prior` (12 x items shares)."""
    totals = counts.sum(axis=1, keepdims=True)
    return (counts + PRIOR_PURCHASES * prior) / (totals + PRIOR_PURCHASES)


def lifts(purchases: pl.DataFrame, customers: pl.DataFrame, products: list[str]
          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Lifts ({country: 12 x items}, {region: 12 x items}) over `products` (column order),
    from `purchases` (customer_key, product_id, on). A place absent from the orders has no
    entry: it takes the level above."""
    items = {p: i for i, p in enumerate(products)}
    frame = (purchases.join(place_keys(customers), on="customer_key", how="left")
             .filter(pl.col("product_id").is_in(list(items)))
             .select(pl.col("product_id").replace_strict(items, return_dtype=pl.Int64)
                     .alias("item"), pl.col("on").dt.month().alias("month"),
                     pl.col("country").fill_null(""), pl.col("region").fill_null("")))
    if frame.is_empty():
        return {}, {}
    overall = np.bincount(frame.get_column("item").to_numpy(), minlength=len(items)) + 1.0
    year = np.broadcast_to(overall / overall.sum(), (12, len(items)))
    month = _shrunk(_month_counts(frame, None, items)[GLOBAL], year)
    country_share = {c: _shrunk(n, month)
                     for c, n in _month_counts(frame, "country", items).items()}
    region_share = {}
    for region, counts in _month_counts(frame, "region", items).items():
        parent = country_share.get(region.split("/")[0], month)
        region_share[region] = _shrunk(counts, parent)
    low, high = LIFT_BOUNDS
    country_share[GLOBAL] = month
    return ({c: np.clip(s / year, low, high) for c, s in country_share.items()},
            {r: np.clip(s / year, low, high) for r, s in region_share.items()})


def lift_rows(customers: pl.DataFrame, months: np.ndarray, by_country: dict, by_region: dict,
              n_items: int) -> np.ndarray:
    """Each customer's lift vector for their month (customers x items): their region's,
    else their country's, else the shop's month; ones when there are no lifts."""
    out = np.ones((customers.height, n_items))
    if not by_country:
        return out
    places = place_keys(customers)
    for i, (country, region) in enumerate(zip(places.get_column("country").to_list(),
                                              places.get_column("region").to_list(),
                                              strict=True)):
        table = by_region.get(region)
        if table is None:
            table = by_country.get(country, by_country[GLOBAL])
        out[i] = table[months[i] - 1]
    return out
