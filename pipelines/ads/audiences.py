"""Which audiences respond to which campaign, and which to add: the tables behind
reports.rpt_ad_audiences and reports.rpt_ad_audience_suggestions (dbt Python models call
these functions; the logic is here so it is tested like the rest of the package)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipelines.ads.shrinkage import shrink_means, shrink_rates

DIMENSIONS = ("persona", "rfm_segment", "region")
# The contract's columns for every table that recommends something (the coordinator unions
# them into the dated recommendation log).
RECOMMENDATION_COLUMNS = ("recommendation", "kpi", "expected_change", "expected_low",
                          "expected_high")


def audience_cells(people: pl.DataFrame) -> pl.DataFrame:
    """From one row per campaign and person reached (int_ads__audience_people), one row per
    campaign, dimension (persona, rfm_segment, region) and audience of the people known by
    name (a customer_key): a visitor never identified cannot have a conversion credited, so
    their rate is zero by construction and would drag every campaign's rate down. Columns:
    people reached,
    converters, conversions, value, the raw and shrunk conversion rate (toward the campaign's
    own rate, with its 80% interval and the prior's strength in people), the shrunk value per
    converting customer, the expected value per person reached (shrunk rate x shrunk
    value per converter), and the share of the campaign's people who are identified: where
    it is low (prospecting), people become known mostly by buying, so the rates among them
    run high and compare audiences only with each other."""
    # Sorted first, so sums add in the same order and a rerun gives the same bits.
    people = people.sort("campaign_id", "person_key")
    known = people.filter(pl.col("customer_key").is_not_null())
    identified = people.group_by("campaign_id").agg(
        campaign_identified_share=pl.col("customer_key").is_not_null().mean())
    long = pl.concat([
        known.select("campaign_id", "campaign_name", pl.lit(d).alias("dimension"),
                      pl.col(d).alias("audience"), "conversions", "conversion_value")
        for d in DIMENSIONS
    ])
    cells = long.group_by("campaign_id", "campaign_name", "dimension", "audience").agg(
        people_reached=pl.len(),
        converters=(pl.col("conversions") > 0).sum(),
        conversions=pl.col("conversions").sum(),
        conversion_value=pl.col("conversion_value").sum(),
        value_squares=(pl.col("conversion_value") ** 2).filter(pl.col("conversions") > 0).sum(),
    ).sort("campaign_id", "dimension", "audience")
    group = ["campaign_id", "dimension"]
    # The prior's strength is fitted over every campaign's audiences of a dimension: a
    # campaign alone has a handful of personas, too few to tell chance from real differences.
    rates = shrink_rates(cells, group, "converters", "people_reached",
                         fit_by=["dimension"]).rename({
        "prior_rate": "campaign_rate", "prior_strength": "prior_people",
        "rate_shrunk": "conversion_rate_shrunk", "rate_low": "conversion_rate_low",
        "rate_high": "conversion_rate_high"})
    values = shrink_means(rates, group, "converters", "conversion_value", "value_squares")
    return values.select(
        "campaign_id", "campaign_name", "dimension", "audience", "people_reached",
        "converters", "conversions", "conversion_value",
        conversion_rate=pl.col("converters") / pl.col("people_reached"),
        conversion_rate_shrunk="conversion_rate_shrunk",
        conversion_rate_low="conversion_rate_low",
        conversion_rate_high="conversion_rate_high",
        campaign_rate="campaign_rate", prior_people="prior_people",
        value_per_customer=pl.when(pl.col("converters") > 0).then(
            pl.col("conversion_value") / pl.col("converters")),
        value_per_customer_shrunk=pl.col("mean_shrunk"),
        value_per_person_reached=pl.col("conversion_rate_shrunk") * pl.col("mean_shrunk"),
    ).join(identified, on="campaign_id", how="left").sort("campaign_id", "dimension", "audience")


def persona_region_suggestions(people: pl.DataFrame, customers: pl.DataFrame, weeks: float,
                               limit: int) -> pl.DataFrame:
    """Persona x region cells worth more ads: among the customers with a persona and a region
    (`customers`: customer_key, persona, region), those whose people reached by any campaign
    (`people`) bring more value per person reached than the shop's ads overall (shrunk toward
    it; more even at the low end of the rate's 80% interval), yet whose share reached is below
    the overall share. Expected change, per week: the
    extra conversions if the cell were reached as widely as the rest, at the pace of the
    `weeks` of history, with the 80% interval of its shrunk rate. At most `limit` rows, the
    largest expected gain in value first."""
    known = customers.filter(pl.col("persona").is_not_null() & pl.col("region").is_not_null()
                             ).sort("customer_key")
    people = people.sort("campaign_id", "person_key")
    reached = (people.filter(pl.col("customer_key").is_not_null())
               .group_by("customer_key").agg(conversions=pl.col("conversions").sum(),
                                             conversion_value=pl.col("conversion_value").sum()))
    per_customer = known.join(reached, on="customer_key", how="left").with_columns(
        is_reached=pl.col("conversions").is_not_null(),
        conversions=pl.col("conversions").fill_null(0),
        conversion_value=pl.col("conversion_value").fill_null(0.0))
    cells = per_customer.group_by("persona", "region").agg(
        customers=pl.len(),
        people_reached=pl.col("is_reached").sum(),
        converters=((pl.col("conversions") > 0) & pl.col("is_reached")).sum(),
        conversion_value=pl.col("conversion_value").filter(pl.col("is_reached")).sum(),
        value_squares=(pl.col("conversion_value") ** 2).filter(pl.col("conversions") > 0).sum(),
    ).with_columns(all=pl.lit("all")).sort("persona", "region")
    empty = _suggestion_frame()
    if cells.is_empty() or cells["people_reached"].sum() == 0 or weeks <= 0:
        return empty
    shrunk = shrink_means(shrink_rates(cells.filter(pl.col("people_reached") > 0), ["all"],
                                       "converters", "people_reached"),
                          ["all"], "converters", "conversion_value", "value_squares")
    overall_share = cells["people_reached"].sum() / cells["customers"].sum()
    overall_value = shrunk["conversion_value"].sum() / shrunk["people_reached"].sum()
    picked = shrunk.with_columns(
        reach_share=pl.col("people_reached") / pl.col("customers"),
        value_per_person=pl.col("rate_shrunk") * pl.col("mean_shrunk"),
    ).filter(
        # Above the overall even at the low end of its rate's 80% interval: a cell that is
        # better only by luck is not a new audience.
        (pl.col("rate_low") * pl.col("mean_shrunk") > overall_value)
        & (pl.col("reach_share") < overall_share)
    ).with_columns(
        extra_per_week=(overall_share - pl.col("reach_share")) * pl.col("customers") / weeks,
    ).with_columns(
        expected_change=pl.col("extra_per_week") * pl.col("rate_shrunk"),
        expected_low=pl.col("extra_per_week") * pl.col("rate_low"),
        expected_high=pl.col("extra_per_week") * pl.col("rate_high"),
        gain=pl.col("extra_per_week") * pl.col("value_per_person"),
    ).sort("gain", descending=True).head(limit)
    if picked.is_empty():
        return empty
    rows = [{
        "suggestion_kind": "persona_region",
        "audience": f"{r['persona']} in {r['region']}",
        "recommendation": (
            f"Target {r['persona']} in {r['region']} (upload them as a custom audience and "
            f"seed a lookalike): {r['people_reached']} of {r['customers']} reached so far "
            f"({r['reach_share']:.0%}, against {overall_share:.0%} overall), and each person "
            f"reached brought {r['value_per_person']:.2f} against {overall_value:.2f} overall."),
        "kpi": "conversions",
        "expected_change": r["expected_change"], "expected_low": r["expected_low"],
        "expected_high": r["expected_high"],
        "people": r["customers"], "people_reached": r["people_reached"],
        "evidence": r["value_per_person"],
    } for r in picked.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=empty.schema)


def coming_months(as_of: date, horizon_days: int) -> list[int]:
    """The calendar months the next `horizon_days` after `as_of` fall in, in order."""
    months: list[int] = []
    for offset in range(1, horizon_days + 1):
        month = (as_of + timedelta(days=offset)).month
        if month not in months:
            months.append(month)
    return months


def seasonal_suggestions(index: pl.DataFrame, as_of: date, horizon_days: int, weeks: float,
                         min_index: float, min_probability: float, min_own_weight: float,
                         limit: int) -> pl.DataFrame:
    """Categories to advertise where in the coming weeks: region x category cells whose
    seasonal index (pipelines.ads.seasonal) for a month of the next `horizon_days` is at least
    `min_index` with a chance of at least `min_probability` of being above 1, and whose own
    orders weigh at least `min_own_weight` of the index (expected / (expected + the prior's
    strength)): a region with too few orders of its own would only repeat the other regions'
    season, wrong where its season differs (Online Retail II: Australia would be sent hand
    warmers in November from the British winter). Expected change,
    per week: the extra orders holding the category that the season brings to the region
    (index - 1 times its usual weekly orders over `weeks` of history, 80% interval from the
    index's): demand there for ads to meet, not what an ad adds."""
    empty = _suggestion_frame()
    months = coming_months(as_of, horizon_days)
    if index.is_empty() or weeks <= 0:
        return empty
    usual = index.group_by("region", "category").agg(
        weekly=pl.col("observed").sum() / weeks)
    picked = index.filter(
        pl.col("month").is_in(months) & (pl.col("seasonal_index") >= min_index)
        & (pl.col("prob_above_one") >= min_probability)
        & (pl.col("expected") >= min_own_weight * (pl.col("expected")
                                                   + pl.col("prior_strength")))
    ).join(usual, on=["region", "category"]).with_columns(
        expected_change=(pl.col("seasonal_index") - 1) * pl.col("weekly"),
        expected_low=(pl.col("index_low") - 1) * pl.col("weekly"),
        expected_high=(pl.col("index_high") - 1) * pl.col("weekly"),
    ).sort("expected_change", descending=True).head(limit)
    if picked.is_empty():
        return empty
    rows = [{
        "suggestion_kind": "seasonal_category",
        "audience": f"{r['category']} in {r['region']} ({_month_name(r['month'])})",
        "recommendation": (
            f"Advertise {r['category']} in {r['region']} in {_month_name(r['month'])}: it sells "
            f"{r['seasonal_index']:.1f}x its usual share there then (80% interval "
            f"{r['index_low']:.1f}-{r['index_high']:.1f}), about {r['expected_change']:.1f} "
            "more orders a week to meet."),
        "kpi": "conversions",
        "expected_change": r["expected_change"], "expected_low": r["expected_low"],
        "expected_high": r["expected_high"],
        "people": None, "people_reached": None, "evidence": r["seasonal_index"],
    } for r in picked.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=empty.schema)


def _month_name(month: int) -> str:
    return date(2000, month, 1).strftime("%B")


def _suggestion_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "suggestion_kind": pl.String, "audience": pl.String, "recommendation": pl.String,
        "kpi": pl.String, "expected_change": pl.Float64, "expected_low": pl.Float64,
        "expected_high": pl.Float64, "people": pl.Int64, "people_reached": pl.Int64,
        "evidence": pl.Float64})


def history_weeks(first: date | None, as_of: date) -> float:
    """Weeks from `first` to `as_of` inclusive (0 without a first day)."""
    return 0.0 if first is None else max(0.0, ((as_of - first).days + 1) / 7)


