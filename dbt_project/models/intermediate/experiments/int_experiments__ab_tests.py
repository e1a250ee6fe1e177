"""The computation behind reports.rpt_ab_tests: Mailchimp A/B sends and Meta ads of one ad
set that differ in one creative field, per variant and metric (pipelines.experiments.ab_tests)."""


def model(dbt, session):
    import datetime as dt

    import polars as pl

    from pipelines.experiments.ab_tests import mailchimp_variants, meta_variants, read_out

    as_of_text = dbt.config.get("as_of_date")
    as_of = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    variants = pl.concat([
        mailchimp_variants(dbt.ref("stg_mailchimp__campaigns").pl(),
                           dbt.ref("fct_email_events").pl(), dbt.ref("fct_orders").pl()),
        meta_variants(dbt.ref("dim_ad_creatives").pl(), dbt.ref("fct_ad_placements").pl()),
    ], how="diagonal_relaxed")
    return read_out(variants, as_of, int(dbt.config.get("min_trials"))).to_arrow()
