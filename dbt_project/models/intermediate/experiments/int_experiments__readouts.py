"""The computation behind reports.rpt_experiments: per experiment and outcome, treated against
held out (pipelines.experiments.readouts on int_experiments__units), with the readouts of
tests run elsewhere (int_experiments__external_readouts)."""


def model(dbt, session):
    import datetime as dt

    import polars as pl

    from pipelines.experiments.readouts import read_out_units

    as_of_text = dbt.config.get("as_of_date")
    as_of = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    own = read_out_units(dbt.ref("int_experiments__units").pl(), as_of,
                         float(dbt.config.get("min_lift")))
    external = dbt.ref("int_experiments__external_readouts").pl()
    return pl.concat([own, external.select(own.columns).cast(own.schema)]).to_arrow()
