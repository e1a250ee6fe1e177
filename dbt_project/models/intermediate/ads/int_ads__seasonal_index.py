"""The category x region x month seasonal index (pipelines.ads.seasonal.seasonal_index)."""


def model(dbt, session):
    from pipelines.ads.seasonal import seasonal_index

    counts = dbt.ref("int_ads__category_region_months").pl()
    return seasonal_index(counts).to_arrow()
