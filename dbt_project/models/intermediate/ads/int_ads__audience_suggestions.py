"""New audiences to advertise to: persona x region cells of high value and low reach, and
categories whose season is coming in a region (pipelines.ads.audiences)."""


def model(dbt, session):
    import datetime as dt

    import polars as pl

    from pipelines.ads.audiences import (
        history_weeks,
        persona_region_suggestions,
        seasonal_suggestions,
    )

    # The run's date, as macros/as_of_date.sql reads it (empty: today).
    as_of_text = dbt.config.get("as_of_date")
    as_of = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    people = dbt.ref("int_ads__audience_people").pl()
    customers = (
        dbt.ref("stg_ml__personas").pl().select("customer_key", persona="persona_name")
        .join(dbt.ref("dim_customers").pl().select(
            "customer_key",
            region=pl.coalesce(pl.concat_str("country_code", pl.lit("-"), "region_code"),
                               "country_code")), on="customer_key", how="left"))
    sessions = dbt.ref("fct_sessions").pl().filter(pl.col("utm_content").is_not_null())
    ad_weeks = history_weeks(sessions["session_date"].min(), as_of)
    orders = dbt.ref("fct_orders").pl()
    order_weeks = history_weeks(orders["order_date"].min(), as_of)
    index = dbt.ref("int_ads__seasonal_index").pl()
    limit = int(dbt.config.get("suggestions_per_kind"))
    return pl.concat([
        persona_region_suggestions(people, customers, ad_weeks, limit),
        seasonal_suggestions(
            index, as_of, int(dbt.config.get("season_horizon_days")), order_weeks,
            float(dbt.config.get("season_min_index")),
            float(dbt.config.get("season_min_probability")),
            float(dbt.config.get("season_min_own_weight")), limit),
    ]).with_columns(suggested_on=pl.lit(as_of)).to_arrow()
