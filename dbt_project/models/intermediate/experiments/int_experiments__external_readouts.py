"""Readouts of the tests a shop ran elsewhere (the `experiments` source): every arm against
the control arm on every `outcome_<name>` column (pipelines.experiments.readouts says how
the columns are declared). reports.rpt_experiments publishes them beside the holdouts'."""


def model(dbt, session):
    import datetime as dt

    from pipelines.experiments.readouts import read_out_external

    as_of_text = dbt.config.get("as_of_date")
    as_of = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    results = dbt.ref("stg_experiments__results").pl()
    return read_out_external(results, as_of, float(dbt.config.get("min_lift"))).to_arrow()
