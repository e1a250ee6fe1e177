"""The offers of the run's brand file (pipelines.content.brand): their code, description and
terms, verbatim, for the reports that name an offer beside the copy that uses it. The brand
file is the user's (env MARKETING_BRAND_FILE or MARKETING_HOME/brand.yml) or the shipped one."""


def model(dbt, session):
    import polars as pl

    from pipelines.config import Settings
    from pipelines.content.brand import read_brand

    brand, _ = read_brand(Settings.from_env())
    schema = {"offer_code": pl.String, "offer_description": pl.String,
              "offer_terms": pl.String, "discount_percent": pl.Float64,
              "amount": pl.Float64, "valid_from": pl.Date, "valid_to": pl.Date}
    rows = [(o.code, o.description, o.terms, o.discount_percent, o.amount, o.valid_from,
             o.valid_to) for o in brand.offers]
    return pl.DataFrame(rows, schema=schema, orient="row").to_arrow()
